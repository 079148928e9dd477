import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { lineAuditLog, openAuditLog, parseAuditTarget } from './audit-log.ts';
import { connectionEvent } from './event.ts';

const who = { user: 'alice', server: 'srv', sessionId: 'ab', remoteAddress: '192.0.2.1' };

describe('audit log targets', () => {
  test('--audit-log values: stdout, off, an absolute path; anything else refused', () => {
    assert.equal(parseAuditTarget('stdout'), 'stdout');
    assert.equal(parseAuditTarget('off'), 'off');
    assert.deepEqual(parseAuditTarget('/var/log/audit.jsonl'), { file: '/var/log/audit.jsonl' });
    for (const bad of ['relative.log', 'stderr', '', 'fd:3']) assert.equal(parseAuditTarget(bad), undefined, bad);
  });

  test('one JSON line per event, marked audit:true; a failing writer never throws into the request', () => {
    const lines: string[] = [];
    lineAuditLog((l) => lines.push(l)).emit(connectionEvent('login', who));
    assert.equal(lines.length, 1);
    assert.equal(JSON.parse(lines[0] ?? '').audit, true);
    assert.doesNotThrow(() =>
      lineAuditLog(() => {
        throw new Error('disk full');
      }).emit(connectionEvent('login', who)),
    );
  });

  test('a file target appends, mode 0600, and closes idempotently', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-log-'));
    try {
      const file = join(dir, 'audit.jsonl');
      for (const action of ['login', 'logout'] as const) {
        const log = openAuditLog({ file }, (err) => assert.fail(String(err)));
        log.emit(connectionEvent(action, who));
        await log.close();
        await log.close();
      }
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      assert.deepEqual(
        lines.map((l) => JSON.parse(l).action),
        ['login', 'logout'],
      );
      assert.equal(statSync(file).mode & 0o777, 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('off writes nothing', async () => {
    const log = openAuditLog('off', () => {});
    log.emit(connectionEvent('login', who));
    await log.close();
  });
});
