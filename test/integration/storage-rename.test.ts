// Rename never deletes a source newer than the version it copied. The races are made deterministic with the fault
// proxy delaying one request while the test writes a newer object at the source. MinIO (the test bed's version)
// ignores If-Match on DeleteObject, so there S3Storage's own check just before the delete is what protects the source;
// moto honours If-Match like S3, which shows the delete itself is conditional (the window the check cannot close).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ByteBudget } from '../../sftp-pod/src/storage/budget.ts';
import { isStorageError, StorageErrorCode } from '../../sftp-pod/src/storage/errors.ts';
import { S3Storage } from '../../sftp-pod/src/storage/s3-storage.ts';
import { type FaultProxy, startFaultProxy } from '../infra/fault-proxy.ts';
import { type Minio, startMinio } from '../infra/index.ts';
import { type Moto, startMoto } from '../infra/moto.ts';
import { leanS3 } from './s3-lean.ts';

const MiB = 1024 * 1024;

interface Backend {
  readonly direct: S3Client;
  readonly proxy: FaultProxy;
  readonly storage: S3Storage;
  readonly bucket: string;
}

async function backend(
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  region: string,
  bucket: string,
): Promise<Backend> {
  const direct = new S3Client({ endpoint, region, forcePathStyle: true, credentials });
  const proxy = await startFaultProxy(endpoint);
  const viaProxy = leanS3({ endpoint: proxy.url, region }, credentials, { maxAttempts: 1 });
  const storage = new S3Storage({
    client: viaProxy,
    bucket,
    partSize: 5 * MiB,
    uploadConcurrency: 2,
    downloadConcurrency: 2,
    podBudget: new ByteBudget(64 * MiB),
    maxRenameObjects: 10,
  });
  return { direct, proxy, storage, bucket };
}

async function put(b: Backend, key: string, body: string): Promise<void> {
  await b.direct.send(new PutObjectCommand({ Bucket: b.bucket, Key: key, Body: body }));
}

async function get(b: Backend, key: string): Promise<string | undefined> {
  try {
    const out = await b.direct.send(new GetObjectCommand({ Bucket: b.bucket, Key: key }));
    return await out.Body?.transformToString();
  } catch {
    return undefined;
  }
}

/** Lets the first `n` requests of `op` through, then delays the next one by `ms` (and runs `during` meanwhile). */
function delayNth(
  b: Backend,
  op: 'HeadObject' | 'CopyObject' | 'DeleteObject' | 'ListObjectsV2',
  n: number,
  ms: number,
) {
  if (n > 0) b.proxy.inject({ op, fault: { kind: 'delay', ms: 0 }, times: n });
  b.proxy.inject({ op, fault: { kind: 'delay', ms }, times: 1 });
}

const replacedDuringRename = (err: unknown) => {
  assert.ok(isStorageError(err, StorageErrorCode.Failure), String(err));
  assert.match(err.message, /replaced during the rename and kept; the target holds the version that was renamed/);
  return true;
};

describe('rename on MinIO', () => {
  let minio: Minio;
  let b: Backend;
  before(async () => {
    minio = await startMinio();
    await minio.createBucket('rename');
    b = await backend(
      minio.endpoint,
      { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
      minio.region,
      'rename',
    );
  });
  after(async () => {
    await b?.proxy.close();
    await minio?.stop();
  });

  test('an ordinary rename sends If-Match with the copied ETag on its delete', async () => {
    await put(b, 'plain/a', 'A');
    await b.storage.rename('plain/a', 'plain/b', { overwrite: false });
    assert.equal(await get(b, 'plain/a'), undefined);
    assert.equal(await get(b, 'plain/b'), 'A');
    const del = b.proxy.log.filter((r) => r.op === 'DeleteObject').at(-1);
    assert.match(String(del?.headers['if-match']), /^"[0-9a-f]+"$/);
  });

  test('a source replaced before the copy: nothing is copied, the newer source stays', async () => {
    b.proxy.clear();
    await put(b, 'before/a', 'old');
    delayNth(b, 'CopyObject', 0, 1500);
    const renaming = b.storage.rename('before/a', 'before/b', { overwrite: false });
    await new Promise((r) => setTimeout(r, 500));
    await put(b, 'before/a', 'NEW');
    await assert.rejects(renaming, /the source changed during the copy; nothing was copied/);
    assert.equal(await get(b, 'before/a'), 'NEW');
    assert.equal(await get(b, 'before/b'), undefined);
  });

  test('a source replaced between the copy and the delete is kept', async () => {
    b.proxy.clear();
    await put(b, 'between/a', 'old');
    // HeadObjects: stat(source), stat(target) (404), the copy's, then the check before the delete (delayed).
    delayNth(b, 'HeadObject', 3, 1500);
    const renaming = b.storage.rename('between/a', 'between/b', { overwrite: false });
    await new Promise((r) => setTimeout(r, 700));
    await put(b, 'between/a', 'NEW');
    await assert.rejects(renaming, replacedDuringRename);
    assert.equal(await get(b, 'between/a'), 'NEW', 'the newer upload is not lost');
    assert.equal(await get(b, 'between/b'), 'old', 'the target holds the version that was renamed');
  });

  test('a directory rename keeps a child replaced after the copies, and moves the others', async () => {
    b.proxy.clear();
    for (const k of ['x', 'y', 'z']) await put(b, `dir/src/${k}`, `old-${k}`);
    // ListObjectsV2: stat(source), stat(target), the enumeration, then the re-listing before the delete (delayed).
    delayNth(b, 'ListObjectsV2', 3, 1500);
    const renaming = b.storage.rename('dir/src', 'dir/dst', { overwrite: false });
    await new Promise((r) => setTimeout(r, 700));
    await put(b, 'dir/src/y', 'NEW-y');
    await assert.rejects(renaming, replacedDuringRename);
    assert.equal(await get(b, 'dir/src/y'), 'NEW-y');
    assert.equal(await get(b, 'dir/src/x'), undefined);
    assert.equal(await get(b, 'dir/src/z'), undefined);
    for (const k of ['x', 'y', 'z']) assert.equal(await get(b, `dir/dst/${k}`), `old-${k}`);
  });
});

describe('rename on moto (S3 semantics: DeleteObject honours If-Match)', () => {
  let moto: Moto;
  let b: Backend;
  before(async () => {
    moto = await startMoto();
    b = await backend(moto.endpoint, moto.credentials, moto.region, 'rename');
    await b.direct.send(new CreateBucketCommand({ Bucket: 'rename' }));
  });
  after(async () => {
    await b?.proxy.close();
    await moto?.stop();
  });

  test('a source replaced while the delete is on its way is refused by S3 itself (412) and kept', async () => {
    await put(b, 'race/a', 'old');
    delayNth(b, 'DeleteObject', 0, 1500);
    const renaming = b.storage.rename('race/a', 'race/b', { overwrite: false });
    await new Promise((r) => setTimeout(r, 700));
    await put(b, 'race/a', 'NEW');
    await assert.rejects(renaming, replacedDuringRename);
    assert.equal(await get(b, 'race/a'), 'NEW');
    assert.equal(await get(b, 'race/b'), 'old');
  });

  test('directory rename: each conditional DeleteObject keeps a child replaced during the deletes', async () => {
    b.proxy.clear();
    for (const k of ['x', 'y']) await put(b, `d2/src/${k}`, `old-${k}`);
    b.proxy.inject({ op: 'DeleteObject', fault: { kind: 'delay', ms: 1500 } });
    const renaming = b.storage.rename('d2/src', 'd2/dst', { overwrite: false });
    await new Promise((r) => setTimeout(r, 700));
    await put(b, 'd2/src/y', 'NEW-y');
    await assert.rejects(renaming, replacedDuringRename);
    assert.equal(await get(b, 'd2/src/y'), 'NEW-y');
    assert.equal(await get(b, 'd2/src/x'), undefined);
  });
});
