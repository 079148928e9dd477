// S3-specific behaviour of S3Storage on real MinIO: storage class and server-side encryption on every kind of write
// (single PUT, multipart, directory marker, copy, rename, setTimes self-copy, multipart copy), and archived objects.
// MinIO refuses GLACIER/DEEP_ARCHIVE, so the archive class is shown to S3Storage by the fault proxy rewriting
// HeadObject's x-amz-storage-class header: the object itself is real.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListMultipartUploadsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ByteBudget } from '../../sftp-pod/src/storage/budget.ts';
import { isStorageError, StorageErrorCode } from '../../sftp-pod/src/storage/errors.ts';
import { S3Storage, type S3StorageOptions } from '../../sftp-pod/src/storage/s3-storage.ts';
import type { WriteSink } from '../../sftp-pod/src/storage/types.ts';
import { type FaultProxy, startFaultProxy } from '../infra/fault-proxy.ts';
import { type Minio, startMinio } from '../infra/index.ts';
import { type LeanS3Client, leanS3 } from './s3-lean.ts';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const bucket = 'options';
const KMS_KEY = 'sftpgate-test';

let minio: Minio;
let direct: S3Client;
let proxy: FaultProxy;
/** The pod's client (common/src/s3): directly on MinIO, and through the fault proxy. */
let leanDirect: LeanS3Client;
let viaProxy: LeanS3Client;

before(async () => {
  // MinIO's built-in static KMS key enables SSE-S3 (AES256) and SSE-KMS with this key id. The launcher passes our
  // environment to MinIO; the variable only lives in this test file's own process.
  process.env['MINIO_KMS_SECRET_KEY'] = `${KMS_KEY}:${randomBytes(32).toString('base64')}`;
  minio = await startMinio();
  await minio.createBucket(bucket);
  direct = minio.s3();
  proxy = await startFaultProxy(minio.endpoint);
  leanDirect = leanS3(minio);
  viaProxy = leanS3({ ...minio, endpoint: proxy.url }, undefined, { maxAttempts: 1 });
});

after(async () => {
  await proxy?.close();
  await minio?.stop();
});

function storage(extra: Partial<S3StorageOptions> = {}): S3Storage {
  return new S3Storage({
    client: leanDirect,
    bucket,
    partSize: PART,
    uploadConcurrency: 2,
    downloadConcurrency: 2,
    podBudget: new ByteBudget(64 * MiB),
    maxRenameObjects: 10,
    ...extra,
  });
}

const W = { overwrite: false, user: 'bob', sessionId: 's9' };
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function writeAll(sink: WriteSink, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length; off += 256 * 1024) await sink.write(off, data.subarray(off, off + 256 * 1024));
}

async function upload(s: S3Storage, key: string, data: Uint8Array): Promise<void> {
  const sink = await s.openWrite(key, W);
  await writeAll(sink, data);
  await sink.commit();
}

const head = (key: string): Promise<HeadObjectCommandOutput> =>
  direct.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));

describe('storage class and encryption on every write', () => {
  const variants: {
    name: string;
    opts: Partial<S3StorageOptions>;
    check: (h: HeadObjectCommandOutput) => void;
  }[] = [
    {
      name: 'REDUCED_REDUNDANCY + AES256',
      opts: { storageClass: 'REDUCED_REDUNDANCY', sse: { type: 'AES256' } },
      check: (h) => {
        assert.equal(h.StorageClass, 'REDUCED_REDUNDANCY');
        assert.equal(h.ServerSideEncryption, 'AES256');
      },
    },
    {
      name: 'aws:kms with a key id',
      opts: { sse: { type: 'aws:kms', kmsKeyId: KMS_KEY } },
      check: (h) => {
        assert.equal(h.ServerSideEncryption, 'aws:kms');
        assert.match(h.SSEKMSKeyId ?? '', new RegExp(`${KMS_KEY}$`));
      },
    },
  ];
  for (const v of variants) {
    test(v.name, async () => {
      const p = v.name.replace(/\W+/g, '-');
      // Small enough for multipart copy to kick in: 13 MiB object, copy parts of 5 MiB above a 6 MiB threshold.
      const ops: string[] = [];
      const s = storage({
        ...v.opts,
        multipartCopyThresholdBytes: 6 * MiB,
        copyPartBytes: 5 * MiB,
        metrics: { s3Request: (op, result) => ops.push(`${op}:${result}`) },
      });
      const small = randomBytes(1000);
      const big = randomBytes(2 * PART + 3 * MiB);
      await upload(s, `${p}/small`, small);
      await upload(s, `${p}/big`, big);
      await s.mkdir(`${p}/dir`);
      await s.copy(`${p}/small`, `${p}/small-copy`, { overwrite: false });
      await s.rename(`${p}/small-copy`, `${p}/small-moved`, { overwrite: false });
      await s.setTimes(`${p}/small`, 1_000_000_000_000, 1_000_000_000_000);
      await s.copy(`${p}/big`, `${p}/big-copy`, { overwrite: false }); // UploadPartCopy
      for (const key of ['small', 'big', 'dir/', 'small-moved', 'big-copy']) {
        const h = await head(`${p}/${key}`);
        try {
          v.check(h);
        } catch (err) {
          throw new Error(`${key}: ${String(err)}`, { cause: err });
        }
      }
      assert.equal(ops.filter((o) => o === 'UploadPartCopy:ok').length, 3, 'the 13 MiB copy went in three ranges');
      assert.ok(!ops.some((o) => o.endsWith(':error')), ops.join(' '));
      const copied = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: `${p}/big-copy` }));
      assert.equal(sha256((await copied.Body?.transformToByteArray()) ?? new Uint8Array()), sha256(big));
      assert.equal((await head(`${p}/big-copy`)).Metadata?.['sftpgate-user'], 'bob', 'metadata survives the copy');
      assert.equal((await s.stat(`${p}/small`)).mtimeMs, 1_000_000_000_000);
    });
  }

  test('an encryption key the store does not know fails the upload cleanly', async () => {
    const s = storage({ sse: { type: 'aws:kms', kmsKeyId: 'no-such-key' } });
    await assert.rejects(upload(s, 'kms/small', Buffer.from('x')));
    await assert.rejects(upload(s, 'kms/big', randomBytes(PART + 1)));
    await assert.rejects(head('kms/small'));
    await assert.rejects(head('kms/big'));
    const mpu = await direct.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'kms/' }));
    assert.equal(mpu.Uploads?.length ?? 0, 0);
  });

  test('an unknown storage class is refused at construction', () => {
    assert.throws(() => storage({ storageClass: 'COLD_AS_ICE' }), /unknown S3 storage class/);
    assert.throws(() => storage({ partSize: MiB }), /part size/);
  });
});

describe('archived objects', () => {
  before(async () => {
    await upload(storage(), 'arch/f', Buffer.from('frozen'));
  });

  for (const cls of ['GLACIER', 'DEEP_ARCHIVE']) {
    test(`openRead of a ${cls} object fails naming the class`, async () => {
      proxy.clear();
      proxy.inject({ op: 'HeadObject', fault: { kind: 'response-headers', headers: { 'x-amz-storage-class': cls } } });
      const s = storage({ client: viaProxy });
      await assert.rejects(
        s.openRead('arch/f'),
        (err: unknown) =>
          isStorageError(err, StorageErrorCode.Archived) && err.message.includes(`${cls} storage class`),
      );
      assert.equal((await s.stat('arch/f')).storageClass, cls, 'stat reports the class');
    });
  }

  test('a restored GLACIER object is readable', async () => {
    proxy.clear();
    proxy.inject({
      op: 'HeadObject',
      fault: {
        kind: 'response-headers',
        headers: {
          'x-amz-storage-class': 'GLACIER',
          'x-amz-restore': 'ongoing-request="false", expiry-date="Fri, 21 Dec 2040 00:00:00 GMT"',
        },
      },
    });
    const src = await storage({ client: viaProxy }).openRead('arch/f');
    assert.equal(Buffer.from(await src.read(0, 100)).toString(), 'frozen');
    await src.close();
  });

  test('S3 refusing the GET with InvalidObjectState is reported as archived', async () => {
    proxy.clear();
    proxy.inject({ op: 'GetObject', fault: { kind: 'status', status: 403, code: 'InvalidObjectState' } });
    const src = await storage({ client: viaProxy }).openRead('arch/f');
    await assert.rejects(src.read(0, 100), (err: unknown) => isStorageError(err, StorageErrorCode.Archived));
    await src.close();
    proxy.clear();
  });
});
