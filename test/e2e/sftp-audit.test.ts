// The audit trail end to end (docs/audit.md): the standalone pod with MinIO, every audited operation performed with
// OpenSSH sftp, and exactly one event each with the right fields, written to the audit stream only (here a file:
// --audit-log=<path>), never to the debug log. A refused operation is one event with its SFTP status.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '../../sftp-pod/src/audit/event.ts';
import { makeTempDir, removeTempDir, waitUntil } from '../infra/index.ts';
import { type Harness, PREFIX, sha256, startHarness } from './sftp-harness.ts';

let h: Harness;
let auditDir: string;
let auditFile: string;

before(async () => {
  auditDir = makeTempDir('sftp-audit');
  auditFile = join(auditDir, 'audit.jsonl');
  h = await startHarness({
    bin: true,
    args: [`--audit-log=${auditFile}`, '--server-name=acme', '--log-level=debug', '--setstat-mode=Error'],
  });
});
after(async () => {
  await h?.stop();
  removeTempDir(auditDir);
});

function events(): AuditEvent[] {
  if (!existsSync(auditFile)) return [];
  return readFileSync(auditFile, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditEvent);
}

/** Waits until `n` events of the given session exist (the logout is written when the connection closes). */
async function sessionEvents(user: string, from: number): Promise<AuditEvent[]> {
  let mine: AuditEvent[] = [];
  await waitUntil(
    `logout event of ${user}`,
    async () => {
      mine = events()
        .slice(from)
        .filter((e) => e.user === user);
      return mine.some((e) => e.action === 'logout');
    },
    { timeoutMs: 15_000 },
  );
  return mine;
}

describe('audit trail', () => {
  test('one event per operation with user, server, session, source address and S3 key', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const local = join(h.dir, 'audit-up.bin');
    writeFileSync(local, data);
    const from = events().length;
    const r = await h.sftp(
      'alice',
      [
        'mkdir /adir',
        `put ${local} /adir/f.bin`,
        `get /adir/f.bin ${join(h.dir, 'audit-down.bin')}`,
        'chmod 644 /adir/f.bin',
        'rename /adir/f.bin /adir/g.bin',
        'rm /adir/g.bin',
        'rmdir /adir',
      ].join('\n'),
    );
    assert.equal(r.code, 0, r.stderr);
    const mine = await sessionEvents('alice', from);
    assert.deepEqual(
      mine.map((e) => [e.action, e.status, e.path ?? null]),
      [
        ['login', 'ok', null],
        ['mkdir', 'ok', '/adir'],
        ['upload', 'ok', '/adir/f.bin'],
        ['download', 'ok', '/adir/f.bin'],
        ['setstat', 'ok', '/adir/f.bin'],
        ['rename', 'ok', '/adir/f.bin'],
        ['delete', 'ok', '/adir/g.bin'],
        ['rmdir', 'ok', '/adir'],
        ['logout', 'ok', null],
      ],
    );
    const session = mine[0]?.sessionId;
    assert.match(session ?? '', /^[0-9a-f]{16}$/);
    for (const e of mine) {
      assert.equal(e.audit, true);
      assert.equal(e.v, 1);
      assert.equal(e.user, 'alice');
      assert.equal(e.server, 'acme');
      assert.equal(e.sessionId, session);
      assert.equal(e.remoteAddress, '127.0.0.1');
      assert.ok(!Number.isNaN(Date.parse(e.time)));
      if (e.path !== undefined) assert.equal(e.key, `${PREFIX}/alice${e.path}`);
      // Never a secret: no field beyond the schema's, and no credential-looking value.
      assert.doesNotMatch(JSON.stringify(e), /secret|password|minioadmin|AKIA/i);
    }
    const byAction = new Map(mine.map((e) => [e.action, e]));
    assert.equal(byAction.get('upload')?.bytes, data.length);
    assert.equal(byAction.get('upload')?.statusCode, 0);
    assert.equal(byAction.get('download')?.bytes, data.length);
    assert.equal(byAction.get('rename')?.targetPath, '/adir/g.bin');
    assert.equal(byAction.get('rename')?.targetKey, `${PREFIX}/alice/adir/g.bin`);
    assert.ok((byAction.get('logout')?.durationSeconds ?? -1) >= 0);
    assert.equal(sha256(readFileSync(join(h.dir, 'audit-down.bin'))), sha256(data));
  });

  test('a refused operation is one event with its SFTP status and message', async () => {
    const from = events().length;
    // reader may list and download only.
    const r = await h.sftp('reader', ['-mkdir /nope', '-rm /missing.txt'].join('\n'));
    assert.equal(r.code, 0, r.stderr);
    const mine = await sessionEvents('reader', from);
    const ops = mine.filter((e) => e.action !== 'login' && e.action !== 'logout');
    assert.deepEqual(
      ops.map((e) => [e.action, e.status, e.statusCode, e.path]),
      [
        ['mkdir', 'permission_denied', 3, '/nope'],
        ['delete', 'permission_denied', 3, '/missing.txt'],
      ],
    );
    assert.match(ops[0]?.message ?? '', /permission denied: mkdir/);
  });

  test('audit events never reach the debug log, and the log never carries them', async () => {
    const log = readFileSync(join(h.dir, 'sftp-pod.log'), 'utf8');
    assert.match(log, /"level":"debug"/, 'the pod logged at debug level');
    assert.doesNotMatch(log, /"audit":true/);
    for (const e of events()) assert.equal(e.audit, true);
  });
});
