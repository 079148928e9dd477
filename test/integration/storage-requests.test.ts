// What an upload costs in S3 requests, counted by the pod's own sftpgate_s3_requests_total, with real OpenSSH and
// ssh2 clients against the in-process pod on MinIO:
//  - a small file (one part or less) costs at most 2 requests: one listing at OPEN, one PutObject at CLOSE;
//  - `put -p` of a multipart file keeps the client's mtime with one PutObjectTagging after Complete, never a copy of
//    the object onto itself; STAT and READDIR show the preserved time; SETSTAT of a stored file neither copies it
//    nor loses its hashes;
//  - attacks on no-overwrite: two sessions creating the same new path without the overwrite permission, or with
//    O_EXCL, both pass OPEN (nothing exists yet) and race to CLOSE: exactly one file is stored, the other CLOSE fails
//    clearly, and the stored bytes are the winner's whole file.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type ssh2 from 'ssh2';
import { PERMISSIONS } from '../../common/src/users/permission.ts';
import { BUCKET, type Harness, PREFIX, sha256, startHarness } from '../e2e/sftp-harness.ts';
import { call, sftpOf as connectSftp, type Ssh2Client } from './ssh2-sftp.ts';

type SFTPWrapper = ssh2.SFTPWrapper;
const MiB = 1024 * 1024;
let h: Harness;
const clients: Ssh2Client[] = [];

before(async () => {
  h = await startHarness({
    args: ['--part-size=5MiB'],
    users: (keys) => [
      {
        username: 'noover',
        publicKeys: [keys['stranger']?.publicLine ?? ''],
        permissions: PERMISSIONS.filter((p) => p !== 'overwrite'),
      },
    ],
  });
});
after(async () => {
  for (const c of clients) c.end();
  await h?.stop();
});

/** The pod's S3 request counters by operation (ok and error together). */
async function s3Requests(): Promise<Record<string, number>> {
  const text = await (await fetch(`${h.metricsUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^sftpgate_s3_requests_total\{([^}]*)\} (\S+)$/gm)) {
    const op = /operation="([^"]+)"/.exec(m[1] ?? '')?.[1] ?? '?';
    out[op] = (out[op] ?? 0) + Number(m[2]);
  }
  return out;
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

const total = (d: Record<string, number>) => Object.values(d).reduce((a, b) => a + b, 0);

const sftpOf = (user: string, keyName = user) => connectSftp(h, clients, user, keyName);

/** OPEN, WRITE all, and return a CLOSE to run later (so two uploads can race to it). */
async function openAndWrite(
  s: SFTPWrapper,
  path: string,
  flags: ssh2.OpenMode,
  data: Buffer,
): Promise<() => Promise<void>> {
  const handle = await call<Buffer>((cb) => s.open(path, flags, cb));
  const writes: Promise<void>[] = [];
  for (let off = 0; off < data.length; off += 32 * 1024) {
    const n = Math.min(32 * 1024, data.length - off);
    writes.push(call<void>((cb) => s.write(handle, data, off, n, off, (err) => cb(err, undefined))));
  }
  await Promise.all(writes);
  return () => call<void>((cb) => s.close(handle, (err) => cb(err, undefined)));
}

async function objectBytes(key: string): Promise<Buffer> {
  const out = await h.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
}

describe('S3 requests per upload', () => {
  test('a small file costs at most 2 S3 requests (OpenSSH put, new and overwritten)', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `small-${i}.bin`);
    for (const n of names) writeFileSync(join(h.dir, n), randomBytes(4096));
    // As the bench does: `cd` to the home, then `put NAME`. The `cd` STATs a mount point, which always exists and
    // costs no request. (`put NAME /NAME` makes OpenSSH STAT the target first to see whether it is a directory:
    // HeadObject, and for a new name one listing — requests the client asks for.)
    const batch = `lcd ${h.dir}\ncd /\n${names.map((n) => `put ${n}`).join('\n')}\n`;
    for (const round of ['new', 'overwrite']) {
      const before = await s3Requests();
      const r = await h.sftp('alice', batch);
      assert.equal(r.code, 0, r.stderr);
      const d = delta(await s3Requests(), before);
      assert.deepEqual(d, { ListObjectsV2: 10, PutObject: 10 }, `${round}: ${JSON.stringify(d)}`);
      assert.ok(total(d) / names.length <= 2);
    }
    assert.equal(await h.sha256Of(`${PREFIX}/alice/small-3.bin`), sha256(readFileSync(join(h.dir, 'small-3.bin'))));
  });

  test('a directory behind more than a page of look-alike names still blocks a file of its name', async () => {
    // 101 names sort between `f` and `f/` (`f-000`…). Without the overwrite permission OPEN must also know whether a
    // file has the name: the one name listing's page (100) ends before `f/`, so the probe asks again with the
    // directory prefix. With it (alice), OPEN asks only whether a directory has the name: one listing of `f/`. Either
    // way the file may not be created there.
    for (const [user, listings] of [
      ['noover', 2],
      ['alice', 1],
    ] as const) {
      const base = `${PREFIX}/${user}/crowd`;
      const keys = [...Array.from({ length: 101 }, (_, i) => `${base}/f-${String(i).padStart(3, '0')}`), `${base}/f/x`];
      for (let i = 0; i < keys.length; i += 20) {
        await Promise.all(
          keys.slice(i, i + 20).map((Key) => h.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'x' }))),
        );
      }
      const s = await sftpOf(user, user === 'noover' ? 'stranger' : user);
      const before = await s3Requests();
      await assert.rejects(call<Buffer>((cb) => s.open('/crowd/f', 'w', cb)));
      const d = delta(await s3Requests(), before);
      assert.equal(d['ListObjectsV2'], listings, `${user}: ${JSON.stringify(d)}`);
      assert.equal(d['PutObject'] ?? 0, 0);
    }
  });

  test('put -p of a multipart file: one PutObjectTagging, no self-copy; STAT and READDIR show the time', async () => {
    const local = join(h.dir, 'preserve.bin');
    const data = randomBytes(12 * MiB); // three 5 MiB parts
    writeFileSync(local, data);
    const mtime = 1_000_000_000; // 2001-09-09
    utimesSync(local, mtime, mtime);
    const before = await s3Requests();
    const r = await h.sftp('alice', `put -p ${local} /preserve.bin\n`);
    assert.equal(r.code, 0, r.stderr);
    const d = delta(await s3Requests(), before);
    assert.equal(d['CopyObject'] ?? 0, 0, JSON.stringify(d));
    assert.equal(d['UploadPartCopy'] ?? 0, 0, JSON.stringify(d));
    assert.equal(d['PutObjectTagging'], 1, JSON.stringify(d));
    assert.equal(d['UploadPart'], 3, JSON.stringify(d));
    const key = `${PREFIX}/alice/preserve.bin`;
    assert.equal(await h.sha256Of(key), sha256(data));
    const tags = await h.s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }));
    const tag = (k: string) => tags.TagSet?.find((t) => t.Key === k)?.Value;
    assert.equal(tag('sftpgate-mtime'), '1000000000.000');
    assert.equal(tag('sftpgate-sha256'), sha256(data), 'the hashes travel in the same request');

    const s = await sftpOf('alice');
    const st = await call<ssh2.Stats>((cb) => s.stat('/preserve.bin', cb));
    assert.equal(st.mtime, mtime, 'STAT');
    const list = await call<ssh2.FileEntryWithStats[]>((cb) => s.readdir('/', cb));
    assert.equal(list.find((e) => e.filename === 'preserve.bin')?.attrs.mtime, mtime, 'READDIR');
    const ls = await h.sftp('alice', 'ls -l /preserve.bin\n');
    assert.match(ls.stdout, /2001/, 'OpenSSH ls -l shows the preserved year');
  });

  test('FSETSTAT times after the first part was sent (not at OPEN): one PutObjectTagging, no copy', async () => {
    const s = await sftpOf('alice');
    const data = randomBytes(12 * MiB);
    const before = await s3Requests();
    const handle = await call<Buffer>((cb) => s.open('/late-times.bin', 'w', cb));
    const writes: Promise<void>[] = [];
    for (let off = 0; off < data.length; off += 32 * 1024) {
      writes.push(call<void>((cb) => s.write(handle, data, off, 32 * 1024, off, (err) => cb(err, undefined))));
    }
    await Promise.all(writes);
    await call<void>((cb) => s.futimes(handle, 1_050_000_000, 1_050_000_000, (err) => cb(err, undefined)));
    await call<void>((cb) => s.close(handle, (err) => cb(err, undefined)));
    const d = delta(await s3Requests(), before);
    assert.equal(d['CopyObject'] ?? 0, 0, JSON.stringify(d));
    assert.equal(d['PutObjectTagging'], 1, JSON.stringify(d));
    const key = `${PREFIX}/alice/late-times.bin`;
    const meta = (await h.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).Metadata ?? {};
    assert.notEqual(meta['mtime'], '1050000000.000', 'the metadata holds the upload start: the tags carry the time');
    assert.equal((await call<ssh2.Stats>((cb) => s.stat('/late-times.bin', cb))).mtime, 1_050_000_000);
  });

  test('SETSTAT times of a stored file: tags only (no copy, same ETag), hashes kept', async () => {
    const key = `${PREFIX}/alice/preserve.bin`;
    const etag = (await h.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag;
    const s = await sftpOf('alice');
    const before = await s3Requests();
    await call<void>((cb) => s.utimes('/preserve.bin', 1_100_000_000, 1_200_000_000, (err) => cb(err, undefined)));
    const d = delta(await s3Requests(), before);
    assert.equal(d['CopyObject'] ?? 0, 0, JSON.stringify(d));
    assert.equal(d['PutObjectTagging'], 1, JSON.stringify(d));
    assert.equal((await h.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag, etag, 'not rewritten');
    const st = await call<ssh2.Stats>((cb) => s.stat('/preserve.bin', cb));
    assert.equal(st.mtime, 1_200_000_000);
    assert.equal(st.atime, 1_100_000_000);
    const tags = await h.s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }));
    assert.ok(
      tags.TagSet?.some((t) => t.Key === 'sftpgate-sha256'),
      'the hash tag is kept',
    );
    // A small file keeps its times in its metadata: SETSTAT adds tags, STAT prefers them.
    await call<void>((cb) => s.utimes('/small-1.bin', 1_300_000_000, 1_300_000_000, (err) => cb(err, undefined)));
    assert.equal((await call<ssh2.Stats>((cb) => s.stat('/small-1.bin', cb))).mtime, 1_300_000_000);
  });
});

describe('no-overwrite races (attack: two creators of one new path)', () => {
  for (const [name, user, keyName, flags] of [
    ['a user without the overwrite permission', 'noover', 'stranger', 'w'],
    ['O_EXCL opens by a user who may overwrite', 'alice', 'alice', 'wx'],
  ] as const) {
    for (const size of [4096, 7 * MiB]) {
      test(`${name}, ${size} bytes: exactly one is stored whole, the other CLOSE fails`, async () => {
        const path = `/race-${flags}-${size}.bin`;
        const [a, b] = await Promise.all([sftpOf(user, keyName), sftpOf(user, keyName)]);
        const [da, db] = [randomBytes(size), randomBytes(size)];
        const closeA = await openAndWrite(a, path, flags, da);
        const closeB = await openAndWrite(b, path, flags, db);
        const results = await Promise.allSettled([closeA(), closeB()]);
        const ok = results.filter((x) => x.status === 'fulfilled');
        const failed = results.filter((x) => x.status === 'rejected') as PromiseRejectedResult[];
        assert.equal(ok.length, 1, JSON.stringify(results));
        assert.equal(failed.length, 1);
        assert.match(String(failed[0]?.reason), /created by someone else during this upload .*nothing was stored/);
        const stored = await objectBytes(`${PREFIX}/${user === 'noover' ? 'noover' : 'alice'}${path}`);
        const winner = results[0]?.status === 'fulfilled' ? da : db;
        assert.ok(stored.equals(winner), 'the stored file is the winner, whole');
        // And the next creator is refused at OPEN, before any byte is sent.
        const c = await sftpOf(user, keyName);
        await assert.rejects(call<Buffer>((cb) => c.open(path, flags, cb)));
      });
    }
  }
});
