// The multipart sweeper against a real MinIO (which ignores the AbortIncompleteMultipartUpload lifecycle action):
// orphaned uploads under a server prefix go, young ones and other prefixes stay, a completed upload is untouched.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { sweepIncompleteUploads } from '../../operator/src/cloud/s3/multipart-sweeper.ts';
import { type Minio, startMinio } from '../infra/index.ts';

let minio: Minio;
const BUCKET = 'sweep';

async function startUpload(key: string): Promise<string> {
  const s3 = minio.s3();
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  assert.ok(UploadId);
  await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: 'partial' }));
  return UploadId;
}

async function openUploads(prefix: string): Promise<string[]> {
  const out = await minio.s3().send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Uploads ?? []).map((u) => String(u.Key)).sort();
}

before(async () => {
  minio = await startMinio();
  await minio.createBucket(BUCKET);
});
after(() => minio?.stop());

describe('multipart sweeper on MinIO', () => {
  it('aborts stale uploads under the prefix only, and a second sweep finds nothing', async () => {
    await startUpload('servers/a/alice/orphan.bin');
    await startUpload('servers/a/bob/deep/orphan2.bin');
    await startUpload('servers/ab/sibling.bin');
    // MinIO stamps Initiated with its own clock: look a minute ahead instead of waiting.
    const later = new Date(Date.now() + 60_000);
    const first = await sweepIncompleteUploads(minio.s3(), BUCKET, 'servers/a', 1_000, { now: later });
    assert.deepEqual(first, { aborted: 2, kept: 0 });
    assert.deepEqual(await openUploads('servers/a/'), []);
    assert.deepEqual(await openUploads('servers/ab/'), ['servers/ab/sibling.bin'], 'a sibling prefix is not ours');
    assert.deepEqual(await sweepIncompleteUploads(minio.s3(), BUCKET, 'servers/a', 1_000, { now: later }), {
      aborted: 0,
      kept: 0,
    });
  });

  it('keeps uploads younger than the age (an upload in flight), and completed objects are untouched', async () => {
    const uploadId = await startUpload('servers/c/alice/in-flight.bin');
    const res = await sweepIncompleteUploads(minio.s3(), BUCKET, 'servers/c', 3_600_000);
    assert.deepEqual(res, { aborted: 0, kept: 1 });
    const s3 = minio.s3();
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: 'servers/c/alice/in-flight.bin',
        UploadId: uploadId,
        PartNumber: 2,
        Body: 'x',
      }),
    );
    const first = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'servers/c/' }));
    assert.equal(first.Uploads?.length, 1);
    // Complete with part 2 alone: MinIO wants every part but the last to be at least 5 MiB.
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'servers/c/alice/in-flight.bin',
        UploadId: uploadId,
        MultipartUpload: { Parts: [{ PartNumber: 2, ETag: part.ETag }] },
      }),
    );
    const later = new Date(Date.now() + 60_000);
    assert.deepEqual(await sweepIncompleteUploads(s3, BUCKET, 'servers/c', 1_000, { now: later }), {
      aborted: 0,
      kept: 0,
    });
    const obj = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'servers/c/alice/in-flight.bin' }));
    assert.equal(await obj.Body?.transformToString(), 'x');
  });
});
