import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isAlive, releasePorts, reservePorts } from './ports.ts';

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
