// The pod's own S3 client (common/src/s3) against real S3 implementations: MinIO over HTTPS and HTTP (SigV4,
// hostile keys, every operation the pod uses, what S3 stores as the AWS SDK reads it back), moto with STS session
// tokens, and faults: 5xx and dropped connections through the fault proxy (retried), a connection dropped in the
// middle of a GET body (surfaced to the reader, never retried behind its back), S3's 200-with-error answers. The
// ranged GET of the download path has its own file (s3-client-wire-get.test.ts); its retries are checked here.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { S3ResponseError } from '../../common/src/s3/errors.ts';
import { readText } from '../../common/src/s3/transport.ts';
import type { WireBody } from '../../common/src/s3/wire-get.ts';
import { type FaultProxy, startFaultProxy } from '../infra/fault-proxy.ts';
import { type Minio, startMinio } from '../infra/index.ts';
import { startMoto } from '../infra/moto.ts';
import { type LeanS3Client, leanS3 } from './s3-lean.ts';

const BUCKET = 'lean';
const MiB = 1024 * 1024;

/** Keys a user may choose; each must round-trip exactly (MinIO refuses `//` and `..` segments itself). */
const HOSTILE_KEYS = [
  'plain.txt',
  'with space/and+plus.bin',
  'percent%25%/x',
  'question?hash#amp&eq=semi;',
  'unicode/ü日本😀',
  'quotes\'"<xml>&amp;',
  'tilde~star*parens()!',
];

async function bodyOf(c: LeanS3Client, key: string): Promise<Buffer> {
  const out = await c.getObject({ Bucket: BUCKET, Key: key });
  const chunks: Buffer[] = [];
  for await (const chunk of out.Body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A ranged GET's whole body as text. */
function wholeBody(body: WireBody): Promise<string> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) =>
    body.pump(
      (src, start, end) => chunks.push(Buffer.from(src.subarray(start, end))),
      (err) => (err ? reject(err) : resolve(Buffer.concat(chunks).toString('latin1'))),
    ),
  );
}

for (const tls of [true, false]) {
  describe(`lean S3 client on MinIO over ${tls ? 'HTTPS' : 'HTTP'}`, () => {
    let minio: Minio;
    let c: LeanS3Client;
    before(async () => {
      minio = await startMinio({ tls });
      await minio.createBucket(BUCKET);
      c = leanS3(minio);
    });
    after(() => minio?.stop());

    test('hostile keys round-trip: PutObject, HeadObject, GetObject, ListObjectsV2, DeleteObjects', async () => {
      for (const key of HOSTILE_KEYS) {
        const data = randomBytes(100);
        await c.putObject({ Bucket: BUCKET, Key: key, Body: data, Metadata: { mtime: '1.5' }, ContentType: 'x/y' });
        const sdk = await minio.s3().send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
        assert.equal(sdk.Metadata?.['mtime'], '1.5', key);
        const head = await c.headObject({ Bucket: BUCKET, Key: key });
        assert.equal(head.ContentLength, 100);
        assert.equal(head.ContentType, 'x/y');
        assert.equal(head.ETag, sdk.ETag);
        assert.ok((await bodyOf(c, key)).equals(data), key);
        const listed = await c.listObjectsV2({ Bucket: BUCKET, Prefix: key, MaxKeys: 1 });
        assert.equal(listed.Contents?.[0]?.Key, key);
        assert.equal(listed.Contents?.[0]?.Size, 100);
      }
      const del = await c.deleteObjects({
        Bucket: BUCKET,
        Delete: { Objects: HOSTILE_KEYS.map((Key) => ({ Key })), Quiet: true },
      });
      assert.deepEqual(del.Errors, []);
      assert.deepEqual((await c.listObjectsV2({ Bucket: BUCKET })).Contents, []);
    });

    test('multipart from a list of buffers, with part checksums; ranged GET streams the right bytes', async () => {
      const key = 'mp/ü file';
      const part1 = [randomBytes(3 * MiB), randomBytes(2 * MiB + 1)];
      const part2 = randomBytes(1000);
      const { UploadId = '' } = await c.createMultipartUpload({
        Bucket: BUCKET,
        Key: key,
        ContentType: 'application/octet-stream',
        Metadata: { a: 'b' },
      });
      const p1 = await c.uploadPart({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: part1 });
      const p2 = await c.uploadPart({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: part2 });
      assert.ok(p1.ChecksumCRC32, 'S3 verified and returned the CRC32 we sent');
      const parts = await c.listParts({ Bucket: BUCKET, Key: key, UploadId });
      assert.deepEqual(
        parts.Parts?.map((p) => [p.PartNumber, p.Size]),
        [
          [1, 5 * MiB + 1],
          [2, 1000],
        ],
      );
      const done = await c.completeMultipartUpload({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        IfNoneMatch: '*',
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag, ChecksumCRC32: p1.ChecksumCRC32 },
            { PartNumber: 2, ETag: p2.ETag, ChecksumCRC32: p2.ChecksumCRC32 },
          ],
        },
      });
      assert.match(done.ETag ?? '', /-2"$/);
      const whole = Buffer.concat([...part1, part2]);
      const sdk = await minio.s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      assert.ok(Buffer.from((await sdk.Body?.transformToByteArray()) ?? []).equals(whole));
      const ranged = await c.getObject({
        Bucket: BUCKET,
        Key: key,
        Range: 'bytes=5242879-5242882',
        IfMatch: done.ETag,
      });
      assert.equal(ranged.ContentRange, `bytes 5242879-5242882/${whole.length}`);
      assert.ok(Buffer.from(await readText(ranged.Body), 'latin1').length > 0);
      await assert.rejects(
        c.getObject({ Bucket: BUCKET, Key: key, IfMatch: '"other"' }),
        (e: unknown) => e instanceof S3ResponseError && e.$metadata.httpStatusCode === 412,
      );
    });

    test('conditional writes, tags, copies and errors as S3 answers them', async () => {
      await c.putObject({ Bucket: BUCKET, Key: 'cond', Body: Buffer.from('one'), IfNoneMatch: '*' });
      await assert.rejects(
        c.putObject({ Bucket: BUCKET, Key: 'cond', Body: Buffer.from('two'), IfNoneMatch: '*' }),
        (e: unknown) => e instanceof S3ResponseError && e.name === 'PreconditionFailed',
      );
      await c.putObjectTagging({
        Bucket: BUCKET,
        Key: 'cond',
        Tagging: {
          TagSet: [
            { Key: 'sftpgate-mtime', Value: '1.000' },
            { Key: 'k +-=._:/@', Value: 'v' },
          ],
        },
      });
      const sdkTags = await minio.s3().send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'cond' }));
      assert.equal(sdkTags.TagSet?.length, 2);
      assert.deepEqual((await c.getObjectTagging({ Bucket: BUCKET, Key: 'cond' })).TagSet, sdkTags.TagSet);
      assert.equal((await c.headObject({ Bucket: BUCKET, Key: 'cond' })).TagCount, 2);
      const copied = await c.copyObject({
        Bucket: BUCKET,
        Key: 'cond copy',
        CopySource: `${BUCKET}/cond`,
        MetadataDirective: 'REPLACE',
        Metadata: { x: 'y' },
      });
      assert.ok(copied.CopyObjectResult?.ETag);
      assert.equal((await bodyOf(c, 'cond copy')).toString(), 'one');
      await c.deleteObject({ Bucket: BUCKET, Key: 'cond copy' });
      const missing = await c.getObject({ Bucket: BUCKET, Key: 'cond copy' }).catch((e: unknown) => e);
      assert.ok(missing instanceof S3ResponseError);
      assert.equal(missing.name, 'NoSuchKey');
      assert.equal(missing.$metadata.httpStatusCode, 404);
      const head = await c.headObject({ Bucket: BUCKET, Key: 'cond copy' }).catch((e: unknown) => e);
      assert.equal((head as S3ResponseError).name, 'NotFound');
      const wrong = leanS3(minio, { accessKeyId: minio.accessKeyId, secretAccessKey: 'not-the-secret' });
      const denied = await wrong.headObject({ Bucket: BUCKET, Key: 'cond' }).catch((e: unknown) => e);
      assert.equal((denied as S3ResponseError).$metadata.httpStatusCode, 403);
    });
  });
}

describe('lean S3 client with STS session credentials (moto)', () => {
  test('signs with the session token; a refreshed provider is asked again', async () => {
    const moto = await startMoto();
    try {
      const admin = leanS3(moto);
      const create = await fetch(`${moto.endpoint}/${BUCKET}`, { method: 'PUT' });
      assert.ok(create.ok, `create bucket: ${create.status}`);
      const out = await moto
        .sts()
        .send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${moto.accountId}:role/x`, RoleSessionName: 's' }));
      const c = out.Credentials;
      assert.ok(c?.AccessKeyId && c.SecretAccessKey && c.SessionToken);
      let asked = 0;
      const session = leanS3(moto, async () => {
        asked++;
        // Expiring within the refresh window: every request asks again.
        return {
          accessKeyId: c.AccessKeyId as string,
          secretAccessKey: c.SecretAccessKey as string,
          sessionToken: c.SessionToken as string,
          expiration: new Date(Date.now() + 60_000),
        };
      });
      await session.putObject({ Bucket: BUCKET, Key: 'a b', Body: Buffer.from('sts') });
      assert.equal((await bodyOf(admin, 'a b')).toString(), 'sts');
      assert.ok(asked >= 1);
      const before = asked;
      await session.headObject({ Bucket: BUCKET, Key: 'a b' });
      assert.equal(asked, before + 1, 'credentials near expiry are asked for again');
    } finally {
      await moto.stop();
    }
  });
});

describe('lean S3 client under faults', () => {
  let minio: Minio;
  let proxy: FaultProxy;
  let c: LeanS3Client;
  before(async () => {
    minio = await startMinio();
    await minio.createBucket(BUCKET);
    proxy = await startFaultProxy(minio.endpoint);
    c = leanS3({ ...minio, endpoint: proxy.url });
    await leanS3(minio).putObject({ Bucket: BUCKET, Key: 'f', Body: Buffer.from('faulty') });
  });
  after(async () => {
    await proxy?.close();
    await minio?.stop();
  });

  const cases = [
    { name: '503 SlowDown', fault: { kind: 'status', status: 503, code: 'SlowDown' } },
    { name: '500 InternalError', fault: { kind: 'status', status: 500 } },
    { name: 'a connection dropped before the answer', fault: { kind: 'drop' } },
  ] as const;
  for (const f of cases) {
    test(`${f.name} twice is retried (3 attempts) and the call succeeds; a third time fails`, async () => {
      proxy.clear();
      const puts = proxy.count('PutObject');
      proxy.inject({ op: 'PutObject', fault: f.fault, times: 2 });
      await c.putObject({ Bucket: BUCKET, Key: `retry/${f.name}`, Body: randomBytes(1000) });
      assert.equal(proxy.count('PutObject') - puts, 3);
      proxy.clear();
      const gets = proxy.count('GetObject');
      proxy.inject({ op: 'GetObject', fault: f.fault, times: 3 });
      await assert.rejects(c.getObject({ Bucket: BUCKET, Key: 'f' }));
      assert.equal(proxy.count('GetObject') - gets, 3);
      // The download path's ranged GET (own HTTP reading, wire-get.ts) retries the same way.
      proxy.clear();
      const ranged = proxy.count('GetObject');
      proxy.inject({ op: 'GetObject', fault: f.fault, times: 2 });
      const out = await c.getObjectRange({ Bucket: BUCKET, Key: 'f', Range: 'bytes=1-3' });
      assert.equal(await wholeBody(out.Body), 'aul');
      proxy.inject({ op: 'GetObject', fault: f.fault, times: 3 });
      await assert.rejects(c.getObjectRange({ Bucket: BUCKET, Key: 'f', Range: 'bytes=1-3' }));
      assert.equal(proxy.count('GetObject') - ranged, 6);
      proxy.clear();
    });
  }

  test("CompleteMultipartUpload's 200-with-error is an error (retried, then S3ResponseError)", async () => {
    proxy.clear();
    const completes = proxy.count('CompleteMultipartUpload');
    const { UploadId = '' } = await c.createMultipartUpload({ Bucket: BUCKET, Key: 'ok200' });
    const p = await c.uploadPart({ Bucket: BUCKET, Key: 'ok200', UploadId, PartNumber: 1, Body: Buffer.from('x') });
    proxy.inject({ op: 'CompleteMultipartUpload', fault: { kind: 'ok-with-error', code: 'InternalError' }, times: 3 });
    const err = await c
      .completeMultipartUpload({
        Bucket: BUCKET,
        Key: 'ok200',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p.ETag }] },
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof S3ResponseError, String(err));
    assert.equal(err.name, 'InternalError');
    assert.equal(err.$fault, 'server');
    assert.equal(proxy.count('CompleteMultipartUpload') - completes, 3);
  });

  test('4xx is not retried; an abort stops the call at once', async () => {
    proxy.clear();
    const gets = proxy.count('GetObject');
    await assert.rejects(c.getObject({ Bucket: BUCKET, Key: 'absent' }), { name: 'NoSuchKey' });
    assert.equal(proxy.count('GetObject') - gets, 1);
    proxy.inject({ op: 'HeadObject', fault: { kind: 'stall' } });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    await assert.rejects(c.headObject({ Bucket: BUCKET, Key: 'f' }, { abortSignal: ac.signal }), {
      name: 'AbortError',
    });
    proxy.inject({ op: 'GetObject', fault: { kind: 'stall' } });
    await assert.rejects(
      c.getObjectRange({ Bucket: BUCKET, Key: 'f', Range: 'bytes=0-1' }, { abortSignal: AbortSignal.timeout(200) }),
      { name: 'AbortError' },
    );
    proxy.clear();
  });

  test('a connection dropped in the middle of a GET body fails the reader and is not retried', async () => {
    let requests = 0;
    // The one fake: an "S3" that promises 1 MiB and closes the connection after 64 KiB.
    const server: Server = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-length': String(MiB), etag: '"e"' });
      res.write(Buffer.alloc(64 * 1024, 1), () => res.socket?.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const flaky = leanS3(
        { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1' },
        {
          accessKeyId: 'a',
          secretAccessKey: 'b',
        },
      );
      const out = await flaky.getObject({ Bucket: BUCKET, Key: 'big' });
      assert.equal(out.ContentLength, MiB);
      let got = 0;
      await assert.rejects(async () => {
        for await (const chunk of out.Body) got += (chunk as Buffer).length;
      });
      assert.ok(got > 0 && got < MiB, `partial body handed out (${got} bytes)`);
      assert.equal(requests, 1, 'never retried once the body was handed out');
    } finally {
      server.close();
    }
  });
});
