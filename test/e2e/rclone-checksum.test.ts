// rclone's checksum verification against the pod (docs/audit.md "Hashes"): rclone's SFTP backend asks `md5sum <path>`
// over SSH exec after every upload and for `rclone check`; the pod answers from the MD5 it computed while streaming
// (--upload-md5). Positive: copy --checksum and check pass over empty, small, multipart and spaced names; the SHA-256
// the pod answers equals the source's. Negative: an object that no longer matches the source is reported by rclone
// check (hash differences), and a server that never computed a hash refuses rather than inventing one.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PacketType, Status } from '../../sftp-pod/src/sftp/constants.ts';
import { TestSftpClient } from '../../sftp-pod/src/sftp/testing/client.ts';
import { openRawSession } from '../../sftp-pod/src/sftp/testing/raw-session.ts';
import { type CommandResult, runCommand, sshClientArgs, toolPath } from '../infra/index.ts';
import { BUCKET, type Harness, PREFIX, sha256, startHarness } from './sftp-harness.ts';

let h: Harness;
let src: string;
const files: Record<string, Buffer> = {
  'empty.bin': Buffer.alloc(0),
  'small.txt': Buffer.from('small file\n'),
  'with space.bin': randomBytes(70_000),
  // Above the 8 MiB part size: multipart, its hashes come from the object's tags.
  'multi.bin': randomBytes(9 * 1024 * 1024 + 11),
};

before(async () => {
  h = await startHarness({ args: ['--upload-md5=true'] });
  src = join(h.dir, 'rclone-src');
  mkdirSync(src, { recursive: true });
  for (const [name, data] of Object.entries(files)) writeFileSync(join(src, name), data);
});
after(async () => {
  await h?.stop();
});

function remote(): string {
  const key = h.keys['alice']?.file ?? '';
  return `:sftp,host=127.0.0.1,port=${h.port},user=alice,key_file=${key},shell_type=unix,md5sum_command=md5sum,sha1sum_command=none:`;
}

function rclone(args: string[]): Promise<CommandResult> {
  return runCommand(
    toolPath('rclone'),
    ['--config', '/dev/null', '--retries', '1', '--low-level-retries', '1', ...args],
    {
      allowFailure: true,
      timeoutMs: 120_000,
    },
  );
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('rclone checksum verification against the pod', () => {
  test('copy --checksum verifies every upload by MD5, and check and md5sum agree with the source', async () => {
    const copy = await rclone(['copy', '--checksum', '-v', src, `${remote()}rc`]);
    assert.equal(copy.code, 0, copy.stderr);
    assert.doesNotMatch(copy.stderr, /corrupted|hash differ|hashes could not be checked/i);
    const check = await rclone(['check', src, `${remote()}rc`]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /0 differences found/);
    assert.match(check.stderr, new RegExp(`${Object.keys(files).length} matching files`));
    assert.doesNotMatch(check.stderr, /no hashes in common|hash unsupported/i);
    const sums = await rclone(['md5sum', `${remote()}rc`]);
    assert.equal(sums.code, 0, sums.stderr);
    for (const [name, data] of Object.entries(files)) {
      assert.match(sums.stdout, new RegExp(`^${md5(data)}  ${name}$`, 'm'), name);
    }
  });

  test("SHA-256: the pod's sha256sum answer equals the source's (rclone 1.60 has no SHA-256 command for SFTP)", async () => {
    const sshArgs = sshClientArgs({ port: h.port, user: 'alice', keyFile: h.keys['alice']?.file ?? '' });
    const local = await rclone(['hashsum', 'sha256', src]);
    assert.equal(local.code, 0, local.stderr);
    for (const [name, data] of Object.entries(files)) {
      assert.match(local.stdout, new RegExp(`^${sha256(data)}  ${name}$`, 'm'));
      const r = await runCommand('ssh', [...sshArgs, `sha256sum 'rc/${name}'`], {
        allowFailure: true,
        timeoutMs: 30_000,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${sha256(data)}  rc/${name}\n`);
    }
  });

  test('negative: an object that differs from the source is reported by rclone check', async () => {
    // Same size, other bytes, stored through the pod (another client overwrote it): its stored MD5 is the new one.
    const other = Buffer.from(files['small.txt'] as Buffer);
    other[0] = (other[0] ?? 0) ^ 0xff;
    writeFileSync(join(h.dir, 'other.txt'), other);
    const put = await h.sftp('alice', `put ${join(h.dir, 'other.txt')} /rc/small.txt`);
    assert.equal(put.code, 0, put.stderr);
    const check = await rclone(['check', src, `${remote()}rc`]);
    assert.notEqual(check.code, 0, 'rclone check fails');
    assert.match(check.stderr, /1 differences found/);
    assert.match(check.stderr, /small\.txt: md5 differ/);
    // Sizes are equal: only the checksum could tell.
    const sizeOnly = await rclone(['check', '--size-only', src, `${remote()}rc`]);
    assert.equal(sizeOnly.code, 0, sizeOnly.stderr);
    // And the byte-for-byte comparison agrees with the checksum.
    const download = await rclone(['check', '--download', src, `${remote()}rc`]);
    assert.notEqual(download.code, 0);
    assert.match(download.stderr, /1 differences found/);
  });

  test('negative: no stored hash is refused, never guessed — rclone check fails with the reason', async () => {
    // A file stored by another tool (here: straight to S3) carries no digest: md5sum is refused with a reason, so
    // rclone cannot claim a match and reports the check as failed.
    await h.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `${PREFIX}/alice/foreign/f.txt`,
        Body: files['small.txt'] as Buffer,
      }),
    );
    mkdirSync(join(h.dir, 'foreign-src'), { recursive: true });
    writeFileSync(join(h.dir, 'foreign-src', 'f.txt'), files['small.txt'] as Buffer);
    const check = await rclone(['check', join(h.dir, 'foreign-src'), `${remote()}foreign`]);
    assert.notEqual(check.code, 0, 'rclone does not report a verified match');
    assert.match(check.stderr, /no checksum was stored with this file/);
    assert.match(check.stderr, /1 errors while checking/);
  });
});

describe('check-file extension against the pod (raw SFTP session)', () => {
  test('whole-file SHA-256 and MD5 from the stored digests (metadata and tags); ranges and SHA-1 refused', async () => {
    const dir = join(h.dir, 'cf');
    mkdirSync(dir, { recursive: true });
    const small = files['with space.bin'] as Buffer;
    const multi = files['multi.bin'] as Buffer;
    writeFileSync(join(dir, 'small.bin'), small);
    writeFileSync(join(dir, 'multi.bin'), multi);
    const put = await h.sftp(
      'alice',
      `mkdir /cf\nput ${join(dir, 'small.bin')} /cf/small.bin\nput ${join(dir, 'multi.bin')} /cf/multi.bin`,
    );
    assert.equal(put.code, 0, put.stderr);
    const raw = await openRawSession({ port: h.port, username: 'alice', keyFile: h.keys['alice']?.file ?? '' });
    try {
      const ext = await raw.sftp.init();
      assert.equal(ext.get('check-file'), 'sha256,md5');
      const ask = (path: string, algorithms: string, offset = 0, length = 0) =>
        raw.sftp.request(PacketType.EXTENDED, (w) =>
          w.string('check-file-name').string(path).string(algorithms).u64(offset).u64(length).u32(0),
        );
      for (const [path, data] of [
        ['/cf/small.bin', small],
        ['/cf/multi.bin', multi],
      ] as const) {
        for (const algorithm of ['sha256', 'md5'] as const) {
          const r = await ask(path, algorithm);
          assert.equal(r.type, PacketType.EXTENDED_REPLY, `${path} ${algorithm}`);
          assert.deepEqual([r.body.string(), r.body.string()], ['check-file', algorithm]);
          const hash = Buffer.from(Array.from({ length: r.body.remaining }, () => r.body.u8()));
          assert.equal(hash.toString('hex'), createHash(algorithm).update(data).digest('hex'), `${path} ${algorithm}`);
        }
      }
      const range = TestSftpClient.status(await ask('/cf/small.bin', 'sha256', 0, 100));
      assert.deepEqual([range.code, /whole-file/.test(range.message)], [Status.OP_UNSUPPORTED, true]);
      const sha1 = TestSftpClient.status(await ask('/cf/small.bin', 'sha1'));
      assert.deepEqual([sha1.code, /sha256, md5/.test(sha1.message)], [Status.OP_UNSUPPORTED, true]);
      const outside = TestSftpClient.status(await ask('/../../alice2/x', 'sha256'));
      // The jail clamps .. at the home: alice2's file is out of reach, so this is alice's own missing /alice2/x.
      assert.equal(outside.code, Status.NO_SUCH_FILE);
    } finally {
      raw.close();
    }
  });
});
