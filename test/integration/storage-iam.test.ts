// S3Storage under per-login STS credentials on real MinIO: each permission's S3 actions (docs/iam.md) are enough for
// the storage operations it gates — notably an upload-only user has ListBucket but no GetObject, so existence checks
// must use listings — and S3 itself refuses keys outside the session policy's prefix (the second isolation layer).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { ByteBudget } from '../../sftp-pod/src/storage/budget.ts';
import { isStorageError, StorageErrorCode } from '../../sftp-pod/src/storage/errors.ts';
import { S3Storage } from '../../sftp-pod/src/storage/s3-storage.ts';
import type { WriteSink } from '../../sftp-pod/src/storage/types.ts';
import { type Minio, startMinio } from '../infra/index.ts';
import { leanS3 } from './s3-lean.ts';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const bucket = 'tenants';
let minio: Minio;
let root: S3Client;

before(async () => {
  minio = await startMinio();
  await minio.createBucket(bucket);
  root = minio.s3();
  for (const key of ['srv/alice/existing', 'srv/alice/dir/child', 'srv/bob/secret', 'srv/alice2/secret']) {
    await root.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
  }
});
after(() => minio?.stop());

/** A storage on credentials limited to `srv/alice/` with the given object actions (and ListBucket on the prefix). */
async function storageWith(actions: string[]): Promise<S3Storage> {
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: actions, Resource: [`arn:aws:s3:::${bucket}/srv/alice/*`] },
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [`arn:aws:s3:::${bucket}`],
        Condition: { StringLike: { 's3:prefix': ['srv/alice/*'] } },
      },
    ],
  };
  const out = await minio.sts().send(
    new AssumeRoleCommand({
      RoleArn: 'arn:aws:iam::000000000000:role/sftpgate-test',
      RoleSessionName: 'alice',
      Policy: JSON.stringify(policy),
      DurationSeconds: 900,
    }),
  );
  const c = out.Credentials;
  assert.ok(c?.AccessKeyId && c.SecretAccessKey && c.SessionToken);
  return new S3Storage({
    client: leanS3(minio, {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
    }),
    bucket,
    partSize: PART,
    uploadConcurrency: 2,
    downloadConcurrency: 2,
    podBudget: new ByteBudget(32 * MiB),
    maxRenameObjects: 10,
  });
}

const W = { overwrite: false, user: 'alice', sessionId: 's' };
const denied = (err: unknown) => isStorageError(err, StorageErrorCode.PermissionDenied);

async function upload(s: S3Storage, key: string, data: Uint8Array, overwrite = false): Promise<void> {
  const sink: WriteSink = await s.openWrite(key, { ...W, overwrite });
  for (let off = 0; off < data.length; off += 256 * 1024) await sink.write(off, data.subarray(off, off + 256 * 1024));
  await sink.commit();
}

const exists = async (key: string) =>
  root.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => true,
    () => false,
  );

describe('upload-only credentials (PutObject, AbortMultipartUpload, ListMultipartUploadParts + ListBucket)', () => {
  let s: S3Storage;
  before(async () => {
    s = await storageWith(['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts']);
  });

  test('small and multipart uploads work without GetObject', async () => {
    await upload(s, 'srv/alice/in/small', Buffer.from('hello'));
    await upload(s, 'srv/alice/in/big', randomBytes(PART + 123));
    assert.ok(await exists('srv/alice/in/small'));
    assert.ok(await exists('srv/alice/in/big'));
  });

  test('overwrite is still refused without the permission (existence seen through the listing)', async () => {
    await assert.rejects(s.openWrite('srv/alice/existing', W), denied);
    await assert.rejects(s.openWrite('srv/alice/dir', { ...W, overwrite: true }), (err: unknown) =>
      isStorageError(err, StorageErrorCode.IsDirectory),
    );
  });

  test('stat answers from the listing; reading is refused by S3', async () => {
    const f = await s.stat('srv/alice/existing');
    assert.equal(f.kind, 'file');
    assert.equal(f.size, 1);
    assert.equal((await s.stat('srv/alice/dir')).kind, 'directory');
    await assert.rejects(s.stat('srv/alice/none'), (err: unknown) => isStorageError(err, StorageErrorCode.NotFound));
    await assert.rejects(s.openRead('srv/alice/existing'), denied);
  });

  test('S3 refuses other tenants, including the sibling prefix alice2', async () => {
    await assert.rejects(upload(s, 'srv/bob/planted', Buffer.from('x')), denied);
    await assert.rejects(upload(s, 'srv/alice2/planted', Buffer.from('x')), denied);
    await assert.rejects(s.stat('srv/bob/secret'), denied);
    assert.equal(await exists('srv/bob/planted'), false);
    assert.equal(await exists('srv/alice2/planted'), false);
  });
});

describe('delete and mkdir credentials', () => {
  test('remove with DeleteObject + ListBucket only', async () => {
    await root.send(new PutObjectCommand({ Bucket: bucket, Key: 'srv/alice/trash', Body: 'x' }));
    const s = await storageWith(['s3:DeleteObject']);
    await s.remove('srv/alice/trash');
    assert.equal(await exists('srv/alice/trash'), false);
    await assert.rejects(s.remove('srv/bob/secret'), denied);
    assert.ok(await exists('srv/bob/secret'));
  });

  test('mkdir and rmdir with PutObject / DeleteObject + ListBucket only', async () => {
    const s = await storageWith(['s3:PutObject', 's3:DeleteObject']);
    await s.mkdir('srv/alice/newdir');
    assert.ok(await exists('srv/alice/newdir/'));
    await assert.rejects(s.mkdir('srv/alice/existing'), (err: unknown) =>
      isStorageError(err, StorageErrorCode.AlreadyExists),
    );
    await s.rmdir('srv/alice/newdir');
    assert.equal(await exists('srv/alice/newdir/'), false);
    await assert.rejects(s.mkdir('srv/bob/x'), denied);
  });
});
