import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
import { isAlive, releasePorts, reservePorts, retryOnPortClash } from './ports.ts';

const LOCK_DIR = join(process.env['SFTPGATE_TESTBED_TMPDIR'] ?? tmpdir(), 'sftpgate-ports');

describe('ports', () => {
  it('reserves distinct, bindable loopback ports, marked with our pid until released', async () => {
    const ports = await reservePorts(8);
    assert.equal(new Set(ports).size, 8);
    for (const port of ports) {
      assert.equal(readFileSync(join(LOCK_DIR, String(port)), 'utf8').trim(), String(process.pid));
      await new Promise<void>((resolve, reject) => {
        const s = createServer();
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => s.close(() => resolve()));
      });
    }
    releasePorts(ports);
    for (const port of ports) assert.equal(existsSync(join(LOCK_DIR, String(port))), false);
    releasePorts(ports); // idempotent
  });

  it('isAlive tells live processes from dead ones', () => {
    assert.equal(isAlive(process.pid), true);
    assert.equal(isAlive(2 ** 22 + 12345), false); // above pid_max's default ceiling
  });
});

test('retryOnPortClash retries only port clashes, at most three times', async () => {
  let calls = 0;
  const clashTwice = await retryOnPortClash(async () => {
    calls++;
    if (calls < 3) throw new Error('listen tcp: address already in use');
    return 'up';
  });
  assert.equal(clashTwice, 'up');
  assert.equal(calls, 3);

  calls = 0;
  await assert.rejects(
    retryOnPortClash(async () => {
      calls++;
      throw new Error('bind: address already in use');
    }),
    /address already in use/,
  );
  assert.equal(calls, 3);

  calls = 0;
  await assert.rejects(
    retryOnPortClash(async () => {
      calls++;
      throw new Error('binary missing');
    }),
    /binary missing/,
  );
  assert.equal(calls, 1);
});
