// The audit trail end to end (docs/audit.md): the standalone pod with MinIO, every audited operation performed with
// OpenSSH sftp, and exactly one event each with the right fields, written to the audit stream only (here a file:
// --audit-log=<path>), never to the debug log. A refused operation is one event with its SFTP status.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { AuditEvent } from '../../sftp-pod/src/audit/event.ts';
import { NOTIFIABLE_EVENTS } from '../../sftp-pod/src/notify/config.ts';
import { OpenFlags, Status } from '../../sftp-pod/src/sftp/constants.ts';
import { openRawSession } from '../../sftp-pod/src/sftp/testing/raw-session.ts';
import { makeTempDir, removeTempDir, runCommand, sftpClientArgs, toolPath, waitUntil } from '../infra/index.ts';
import { BUCKET, type Harness, PREFIX, sha256, startHarness } from './sftp-harness.ts';

let h: Harness;
let auditDir: string;
let auditFile: string;

before(async () => {
  auditDir = makeTempDir('sftp-audit');
  auditFile = join(auditDir, 'audit.jsonl');
  h = await startHarness({
    bin: true,
    args: [
      `--audit-log=${auditFile}`,
      '--server-name=acme',
      '--log-level=debug',
      '--setstat-mode=Error',
      '--upload-md5=true',
    ],
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
    assert.equal(byAction.get('upload')?.sha256, sha256(data));
    assert.equal(byAction.get('upload')?.md5, createHash('md5').update(data).digest('hex'));
  });

  test('every upload stores its SHA-256 (and MD5 with --upload-md5) with the object, PutObject and multipart alike', async () => {
    const files = [
      { name: 'small.bin', data: randomBytes(1000) },
      { name: 'empty.bin', data: Buffer.alloc(0) },
      // Above the 8 MiB part size: multipart, hashes stored by PutObjectTagging after Complete.
      { name: 'multi.bin', data: randomBytes(20 * 1024 * 1024 + 5) },
    ];
    for (const f of files) writeFileSync(join(h.dir, f.name), f.data);
    const from = events().length;
    const r = await h.sftp('alice', files.map((f) => `put ${join(h.dir, f.name)} /${f.name}`).join('\n'));
    assert.equal(r.code, 0, r.stderr);
    const uploads = (await sessionEvents('alice', from)).filter((e) => e.action === 'upload');
    for (const f of files) {
      const key = `${PREFIX}/alice/${f.name}`;
      const want = { sha256: sha256(f.data), md5: createHash('md5').update(f.data).digest('hex') };
      // A single PutObject carries them as metadata; a multipart upload gets tags after Complete.
      let stored: Record<string, string | undefined>;
      if (f.name === 'multi.bin') {
        const tags = await h.s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }));
        const tag = (k: string) => tags.TagSet?.find((t) => t.Key === k)?.Value;
        // The same PutObjectTagging also carries the final times (sftpgate-mtime/atime, docs/storage.md).
        stored = { 'sftpgate-sha256': tag('sftpgate-sha256'), 'sftpgate-md5': tag('sftpgate-md5') };
      } else {
        const head = await h.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
        stored = {
          'sftpgate-sha256': head.Metadata?.['sftpgate-sha256'],
          'sftpgate-md5': head.Metadata?.['sftpgate-md5'],
        };
      }
      assert.deepEqual(stored, { 'sftpgate-sha256': want.sha256, 'sftpgate-md5': want.md5 }, f.name);
      assert.equal(await h.sha256Of(key), want.sha256, `${f.name}: the stored bytes`);
      const e = uploads.find((u) => u.path === `/${f.name}`);
      assert.deepEqual([e?.sha256, e?.md5, e?.bytes], [want.sha256, want.md5, f.data.length], f.name);
    }
    // The cost: one PutObjectTagging per multipart upload, none for a single PutObject.
    const metrics = await (await fetch(`${h.metricsUrl}/metrics`)).text();
    const tagging = /sftpgate_s3_requests_total\{operation="PutObjectTagging",result="ok"\} (\d+)/.exec(metrics);
    assert.equal(tagging?.[1], '1', 'PutObjectTagging requests');
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

  test('checksums over exec: rclone verifies MD5 with md5sum, OpenSSH gets sha256sum; everything else refused', async () => {
    const rclone = toolPath('rclone');
    const data = randomBytes(9 * 1024 * 1024 + 3); // multipart: the hashes come from the object's tags
    const srcDir = join(h.dir, 'rclone-src');
    mkdirSync(srcDir, { recursive: true });
    writeFileSync(join(srcDir, 'r file.bin'), data);
    writeFileSync(join(srcDir, 'small.txt'), 'small\n');
    const remote = `:sftp,host=127.0.0.1,port=${h.port},user=alice,key_file=${h.keys['alice']?.file ?? ''},shell_type=unix,md5sum_command=md5sum,sha1sum_command=none:`;
    const rc = async (args: string[]) => {
      const r = await runCommand(rclone, ['--config', '/dev/null', '--retries', '1', ...args], {
        allowFailure: true,
        timeoutMs: 120_000,
      });
      assert.equal(r.code, 0, `rclone ${args[0]}: ${r.stderr}`);
      return r.stdout;
    };
    const from = events().length;
    // copy verifies each upload's MD5 through md5sum; check compares every file's MD5 on both sides.
    await rc(['copy', srcDir, `${remote}rc`]);
    const check = await runCommand(rclone, ['--config', '/dev/null', 'check', srcDir, `${remote}rc`], {
      allowFailure: true,
      timeoutMs: 120_000,
    });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /0 differences found/);
    assert.doesNotMatch(check.stderr, /hash.*(unsupported|not supported)|no hashes in common/i);
    const sums = await rc(['md5sum', `${remote}rc`]);
    assert.match(sums, new RegExp(`^${createHash('md5').update(data).digest('hex')}  r file\\.bin$`, 'm'));
    const execs = events()
      .slice(from)
      .filter((e) => e.action === 'exec');
    assert.ok(execs.length >= 4, `rclone asked md5sum (${execs.length} exec events)`);
    for (const e of execs) assert.deepEqual([e.command, e.status, e.user], ['md5sum', 'ok', 'alice']);

    // OpenSSH: `ssh host sha256sum file`, coreutils format; and refusals with exit status 1.
    // sftp's `-P port` is ssh's `-p port`.
    const sshArgs = sftpClientArgs({ port: h.port, user: 'alice', keyFile: h.keys['alice']?.file ?? '' }).map((a) =>
      a === '-P' ? '-p' : a,
    );
    const ssh = (cmd: string) => runCommand('ssh', [...sshArgs, cmd], { allowFailure: true, timeoutMs: 30_000 });
    const ok = await ssh("sha256sum 'rc/r file.bin'");
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `${sha256(data)}  rc/r file.bin\n`);
    for (const [cmd, why] of [
      ['sha1sum rc/small.txt', /sha1sum is not supported/],
      ['sha256sum rc/small.txt; id', /shell syntax/],
      ['sha256sum rc/missing', /No such file/],
    ] as const) {
      const r = await ssh(cmd);
      assert.equal(r.code, 1, cmd);
      assert.equal(r.stdout, '', cmd);
      assert.match(r.stderr, why, cmd);
    }
    // Any other command: the exec request itself is refused (no channel), and nothing runs.
    const id = await ssh('id');
    assert.notEqual(id.code, 0);
    assert.equal(id.stdout, '');
    assert.ok(
      events().some((e) => e.action === 'exec' && e.command === 'id' && e.status === 'op_unsupported'),
      'the refused exec is audited',
    );
    // A file stored by another tool has no stored hash: refused, not recomputed.
    await h.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/alice/foreign.bin`, Body: 'x' }));
    const foreign = await ssh('sha256sum foreign.bin');
    assert.equal(foreign.code, 1);
    assert.match(foreign.stderr, /no checksum was stored/);
  });

  test('each kind of failure is one event with its SFTP status: no such file, permission denied, unsupported', async () => {
    writeFileSync(join(h.dir, 'denied.txt'), 'x');
    const from = events().length;
    const r = await h.sftp(
      'alice',
      ['-rm /missing-file', `-get /missing-file ${join(h.dir, 'never')}`, '-ln -s /a /b', '-rmdir /missing-dir'].join(
        '\n',
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    const reader = await h.sftp('reader', `-put ${join(h.dir, 'denied.txt')} /denied.txt`);
    assert.equal(reader.code, 0, reader.stderr);
    // OpenSSH's `get` STATs first (not audited) and never OPENs a missing file: a raw OPEN does.
    const raw = await openRawSession({ port: h.port, username: 'alice', keyFile: h.keys['alice']?.file ?? '' });
    await raw.sftp.init();
    const open = await raw.sftp.open('/missing-file', OpenFlags.READ);
    assert.ok(!Buffer.isBuffer(open) && open.code === Status.NO_SUCH_FILE);
    raw.close();
    // Wait for the raw session's own events (an earlier test's connection may log out after `from`).
    await waitUntil(
      'the refused download is audited',
      async () =>
        events()
          .slice(from)
          .some((e) => e.user === 'alice' && e.action === 'download'),
      { timeoutMs: 15_000 },
    );
    const ops = [
      ...events()
        .slice(from)
        .filter((e) => e.user === 'alice'),
      ...(await sessionEvents('reader', from)),
    ].filter((e) => e.action !== 'login' && e.action !== 'logout');
    assert.deepEqual(
      ops.map((e) => [e.user, e.action, e.status, e.statusCode, e.path ?? null]),
      [
        ['alice', 'delete', 'no_such_file', 2, '/missing-file'],
        // Unsupported requests are answered before their arguments are decoded: no path.
        ['alice', 'link', 'op_unsupported', 8, null],
        ['alice', 'rmdir', 'no_such_file', 2, '/missing-dir'],
        ['alice', 'download', 'no_such_file', 2, '/missing-file'],
        ['reader', 'upload', 'permission_denied', 3, '/denied.txt'],
      ],
    );
    for (const e of ops) assert.ok((e.message ?? '').length > 0, `${e.action} carries the client's message`);
  });

  test('every event written matches the JSON Schema documented in docs/audit.md', () => {
    const doc = readFileSync(new URL('../../docs/audit.md', import.meta.url), 'utf8');
    const schemaText = /```json\n(\{\n {2}"\$schema"[\s\S]*?)\n```/.exec(doc)?.[1];
    assert.ok(schemaText, 'docs/audit.md has the schema');
    const validate = new Ajv2020({ strict: false, validateFormats: false }).compile(JSON.parse(schemaText));
    const all = events();
    assert.ok(all.length >= 30, `${all.length} events`);
    const actions = new Set(all.map((e) => e.action));
    // Every action a session can cause (copy-data is not used by OpenSSH's sftp; notify needs a webhook).
    for (const a of [...NOTIFIABLE_EVENTS.filter((x) => x !== 'copy'), 'exec']) {
      assert.ok(actions.has(a as AuditEvent['action']), `an ${a} event was seen`);
    }
    for (const e of all) assert.ok(validate(e), `${JSON.stringify(e)}: ${JSON.stringify(validate.errors)}`);
  });

  test('audit events never reach the debug log, and the log never carries them', async () => {
    const log = readFileSync(join(h.dir, 'sftp-pod.log'), 'utf8');
    assert.match(log, /"level":"debug"/, 'the pod logged at debug level');
    assert.doesNotMatch(log, /"audit":true/);
    for (const e of events()) assert.equal(e.audit, true);
  });
});
