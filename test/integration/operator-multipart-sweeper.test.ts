// The multipart sweeper against real S3 APIs. On moto's S3 (AWS semantics: ListMultipartUploads by prefix) orphaned
// uploads under a server prefix go, young ones and other prefixes stay, a completed upload is untouched. On MinIO,
// which lists uploads of one exact key only, a prefix sweep finds nothing — pinned here, so a MinIO pin that changes
// it is noticed (MinIO expires stale uploads itself: docs/testbed.md).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { sweepIncompleteUploads, sweepResumeStates } from '../../operator/src/cloud/s3/multipart-sweeper.ts';
import { type Minio, type Moto, startMinio, startMoto } from '../infra/index.ts';

let moto: Moto;
let minio: Minio;
let s3: S3Client;
const BUCKET = 'sweep';

async function startUpload(client: S3Client, key: string): Promise<string> {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  assert.ok(UploadId);
  await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: 'partial' }));
  return UploadId;
}

async function openUploads(prefix: string): Promise<string[]> {
  const out = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Uploads ?? []).map((u) => String(u.Key)).sort();
}

before(async () => {
  [moto, minio] = await Promise.all([startMoto(), startMinio()]);
  s3 = new S3Client({
    endpoint: moto.endpoint,
    region: moto.region,
    forcePathStyle: true,
    credentials: moto.credentials,
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await minio.createBucket(BUCKET);
});
after(async () => {
  s3?.destroy();
  await Promise.all([moto?.stop(), minio?.stop()]);
});

// The store stamps Initiated with its own clock: look a minute ahead instead of waiting.
const later = () => new Date(Date.now() + 60_000);

describe('multipart sweeper on an S3 API that lists uploads by prefix (moto)', () => {
  it('aborts stale uploads under the prefix only, and a second sweep finds nothing', async () => {
    await startUpload(s3, 'servers/a/alice/orphan.bin');
    await startUpload(s3, 'servers/a/bob/deep/orphan2.bin');
    await startUpload(s3, 'servers/ab/sibling.bin');
    assert.deepEqual(await sweepIncompleteUploads(s3, BUCKET, 'servers/a', 1_000, { now: later() }), {
      aborted: 2,
      kept: 0,
    });
    assert.deepEqual(await openUploads('servers/a/'), []);
    assert.deepEqual(await openUploads('servers/ab/'), ['servers/ab/sibling.bin'], 'a sibling prefix is not ours');
    assert.deepEqual(await sweepIncompleteUploads(s3, BUCKET, 'servers/a', 1_000, { now: later() }), {
      aborted: 0,
      kept: 0,
    });
  });

  // moto stamps every upload Initiated 2010-11-10, so every upload is "old" here; the age rule itself is unit-tested
  // (multipart-sweeper.test.ts, staleUploads).
  it('a completed upload is untouched by a sweep', async () => {
    const key = 'servers/c/alice/done.bin';
    const uploadId = await startUpload(s3, key);
    const part = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: 2, Body: 'x' }),
    );
    // Complete with part 2 alone: every part but the last must be at least 5 MiB.
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: [{ PartNumber: 2, ETag: part.ETag }] },
      }),
    );
    assert.deepEqual(await sweepIncompleteUploads(s3, BUCKET, 'servers/c', 1_000, { now: later() }), {
      aborted: 0,
      kept: 0,
    });
    const obj = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    assert.equal(await obj.Body?.transformToString(), 'x');
  });
});

describe('MinIO (lists uploads of one exact key only)', () => {
  it('a prefix sweep finds no upload, an exact-key listing does', async () => {
    const client = minio.s3();
    await startUpload(client, 'servers/m/alice/orphan.bin');
    assert.deepEqual(await sweepIncompleteUploads(client, BUCKET, 'servers/m', 1_000, { now: later() }), {
      aborted: 0,
      kept: 0,
    });
    const exact = await client.send(
      new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'servers/m/alice/orphan.bin' }),
    );
    assert.equal(exact.Uploads?.length, 1);
  });
});

describe('resumable-upload state objects (the pods keep interrupted uploads for resume)', () => {
  const state = (key: string, uploadId: string) => JSON.stringify({ v: 1, user: 'alice', key, uploadId });
  const exactUploads = async (client: S3Client, key: string) =>
    (await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: key }))).Uploads?.length ?? 0;

  it('on MinIO: past the age, the upload a state names is aborted and the state deleted; a state naming a key outside the prefix is deleted without touching that upload', async () => {
    const client = minio.s3();
    const key = 'servers/r/alice/big.bin';
    const uploadId = await startUpload(client, key);
    const foreignKey = 'servers/other/bob/secret.bin';
    const foreignId = await startUpload(client, foreignKey);
    const dir = 'servers/r/.sftpgate/uploads/alice/';
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${dir}a.json`, Body: state(key, uploadId) }));
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `${dir}crafted.json`, Body: state(foreignKey, foreignId) }),
    );
    // Young states stay.
    assert.deepEqual(await sweepResumeStates(client, BUCKET, 'servers/r', 3_600_000), { aborted: 0, statesDeleted: 0 });
    assert.equal(await exactUploads(client, key), 1);
    assert.deepEqual(await sweepResumeStates(client, BUCKET, 'servers/r', 1_000, { now: later() }), {
      aborted: 1,
      statesDeleted: 2,
    });
    assert.equal(await exactUploads(client, key), 0, 'the interrupted upload is aborted');
    assert.equal(await exactUploads(client, foreignKey), 1, 'a crafted state cannot reach outside its prefix');
    const left = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'servers/r/.sftpgate/' }));
    assert.equal(left.KeyCount ?? 0, 0);
    // Idempotent: a second sweep finds nothing.
    assert.deepEqual(await sweepResumeStates(client, BUCKET, 'servers/r', 1_000, { now: later() }), {
      aborted: 0,
      statesDeleted: 0,
    });
  });
});
