// BucketManager against a real MinIO: bucket check, lifecycle merge, markers, purge of a versioned prefix.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DeleteObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { S3BucketManager } from '../../operator/src/cloud/s3/bucket-manager.ts';
import { S3ManagerError } from '../../operator/src/cloud/s3/errors.ts';
import { lifecycleRuleId } from '../../operator/src/controllers/placement.ts';
import { type Minio, startMinio } from '../infra/index.ts';

let minio: Minio;
const settings = {
  abortIncompleteMultipartUploadDays: 2,
  noncurrentVersionExpirationDays: 7,
  expiredObjectDeleteMarker: true,
};

function manager(bucket: string, creds?: { accessKeyId: string; secretAccessKey: string }): S3BucketManager {
  return new S3BucketManager({
    bucket,
    region: minio.region,
    endpoint: minio.endpoint,
    forcePathStyle: true,
    credentials: creds ?? { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
  });
}

async function versionsUnder(bucket: string, prefix: string): Promise<number> {
  const out = await minio.s3().send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
  return (out.Versions?.length ?? 0) + (out.DeleteMarkers?.length ?? 0);
}

before(async () => {
  minio = await startMinio();
  await minio.createBucket('versioned', { versioning: true });
  await minio.createBucket('plain');
});
after(async () => {
  await minio?.stop();
});

describe('S3BucketManager on MinIO', () => {
  it('checkBucket reports versioning and classifies errors', async () => {
    assert.deepEqual(await manager('versioned').checkBucket(), { versioning: 'Enabled' });
    assert.deepEqual(await manager('plain').checkBucket(), { versioning: 'Unversioned' });
    await assert.rejects(manager('missing-bucket').checkBucket(), (e: unknown) => {
      assert.ok(e instanceof S3ManagerError);
      assert.equal(e.code, 'SFTPGATE_S3_BUCKET_NOT_FOUND');
      return true;
    });
    await assert.rejects(
      manager('plain', { accessKeyId: 'nobody', secretAccessKey: 'wrong-secret-1' }).checkBucket(),
      (e: unknown) => {
        assert.ok(e instanceof S3ManagerError);
        assert.ok(['SFTPGATE_S3_INVALID_CREDENTIALS', 'SFTPGATE_S3_ACCESS_DENIED'].includes(e.code), e.code);
        assert.ok(!e.message.includes('wrong-secret-1'));
        return true;
      },
    );
  });

  it('ensureLifecycle merges with foreign rules, is idempotent, and removes only ours', async () => {
    const rule = (server: string) => ({ id: lifecycleRuleId('minio', 'tenants', server), prefix: `tenants/${server}` });
    const s3 = minio.s3();
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: 'versioned',
        LifecycleConfiguration: {
          Rules: [{ ID: 'foreign-logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 3 } }],
        },
      }),
    );
    const m = manager('versioned');
    assert.deepEqual(await m.ensureLifecycle(rule('a'), settings), { changed: true });
    assert.deepEqual(await m.ensureLifecycle(rule('a'), settings), { changed: false });
    assert.deepEqual(await m.ensureLifecycle(rule('b'), settings), { changed: true });
    const rules = (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'versioned' }))).Rules ?? [];
    assert.ok(rules.some((r) => r.ID === 'foreign-logs'));
    assert.equal(rules.filter((r) => r.ID?.startsWith('sftpgate-')).length, 2);
    const ours = rules.find((r) => (r.Filter?.Prefix ?? r.Prefix) === 'tenants/a/');
    assert.equal(ours?.NoncurrentVersionExpiration?.NoncurrentDays, 7);
    // MinIO does not store AbortIncompleteMultipartUpload (it expires stale uploads itself); AWS does.
    if (ours?.AbortIncompleteMultipartUpload) assert.equal(ours.AbortIncompleteMultipartUpload.DaysAfterInitiation, 2);
    assert.equal(ours?.Expiration?.ExpiredObjectDeleteMarker, true);
    assert.deepEqual(await m.ensureLifecycle(rule('a'), { ...settings, noncurrentVersionExpirationDays: 9 }), {
      changed: true,
    });
    assert.deepEqual(await m.removeLifecycle(rule('a')), { changed: true });
    assert.deepEqual(await m.removeLifecycle(rule('a')), { changed: false });
    const left = (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'versioned' }))).Rules ?? [];
    assert.equal(left.length, 2);
    assert.ok(left.some((r) => r.ID === 'foreign-logs'));
    // A foreign id is refused before any request: the operator never replaces a rule it does not own.
    await assert.rejects(m.removeLifecycle({ id: 'foreign-logs', prefix: 'logs' }), /not ours/);
    const still = (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'versioned' }))).Rules ?? [];
    assert.ok(still.some((r) => r.ID === 'foreign-logs'));
  });

  it('markers are written once (no extra versions on a versioned bucket)', async () => {
    const m = manager('versioned');
    assert.deepEqual(await m.ensureMarker('srv1/alice'), { created: true });
    assert.deepEqual(await m.ensureMarker('srv1/alice'), { created: false });
    assert.equal(await versionsUnder('versioned', 'srv1/alice/'), 1);
  });

  it('a marker deleted behind the manager is written again once its trust ends', async () => {
    let now = 1_000_000;
    const m = new S3BucketManager(
      {
        bucket: 'versioned',
        region: minio.region,
        endpoint: minio.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
      },
      undefined,
      { markerTrustMs: 60_000, now: () => now },
    );
    assert.deepEqual(await m.ensureMarker('srv3/dave'), { created: true });
    await minio.s3().send(new DeleteObjectCommand({ Bucket: 'versioned', Key: 'srv3/dave/' }));
    // Within the trust: no request (the deletion is not seen yet).
    assert.deepEqual(await m.ensureMarker('srv3/dave'), { created: false });
    now += 60_001;
    assert.deepEqual(await m.ensureMarker('srv3/dave'), { created: true });
    await minio.s3().send(new HeadObjectCommand({ Bucket: 'versioned', Key: 'srv3/dave/' }));
    // Present and past the trust again: one HEAD, no new version.
    now += 60_001;
    assert.deepEqual(await m.ensureMarker('srv3/dave'), { created: false });
  });

  it("a home the server's listing shows absent is written without a HEAD; a listed one is checked first", async () => {
    const s3 = minio.s3();
    await s3.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'srv4/bob/file.txt', Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'srv4/carol/', Body: new Uint8Array(0) }));
    const client = new S3Client({
      region: minio.region,
      endpoint: minio.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
    });
    const sent: string[] = [];
    client.middlewareStack.add(
      (next, context) => (args) => {
        sent.push(String(context['commandName']).replace(/Command$/, ''));
        return next(args);
      },
      { step: 'initialize' },
    );
    const m = new S3BucketManager(
      { bucket: 'versioned', region: minio.region, endpoint: minio.endpoint, forcePathStyle: true },
      client,
    );
    const calls = async (dir: string, created: boolean): Promise<string[]> => {
      sent.length = 0;
      assert.deepEqual(await m.ensureMarker(dir), { created });
      return [...sent];
    };
    // One listing of srv4/ serves every home under it: new homes cost one PutObject each.
    assert.deepEqual(await calls('srv4/alice', true), ['ListObjectsV2', 'PutObject']);
    assert.deepEqual(await calls('srv4/erin', true), ['PutObject']);
    // Listed (files, no marker): HEAD finds none, then PUT. Listed with its marker: HEAD only, no new version.
    assert.deepEqual(await calls('srv4/bob', true), ['HeadObject', 'PutObject']);
    assert.deepEqual(await calls('srv4/carol', false), ['HeadObject']);
    assert.equal(await versionsUnder('versioned', 'srv4/carol/'), 1);
    client.destroy();
  });

  it('purge removes every version and delete marker under the prefix, in batches, and nothing else', async () => {
    const s3 = minio.s3();
    const Bucket = 'versioned';
    const keys = Array.from({ length: 1100 }, (_, i) => `srv2/bob/f${i}`);
    // 1100 objects, 3 versions of one, a delete marker, and a neighbour that shares the string prefix.
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((Key) => s3.send(new PutObjectCommand({ Bucket, Key, Body: 'x' }))));
    }
    await s3.send(new PutObjectCommand({ Bucket, Key: 'srv2/bob/f0', Body: 'y' }));
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'srv2/bob/f1' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'srv2/bob2/keep', Body: 'z' }));
    const m = manager(Bucket);
    const first = await m.purge('srv2/bob', { maxBatches: 1 });
    assert.deepEqual(first, { deleted: 1000, remaining: true });
    const rest = await m.purge('srv2/bob');
    assert.equal(rest.remaining, false);
    assert.equal(first.deleted + rest.deleted, 1102);
    assert.equal(await versionsUnder(Bucket, 'srv2/bob/'), 0);
    assert.equal(await versionsUnder(Bucket, 'srv2/bob2/'), 1);
    assert.deepEqual(await m.purge('srv2/bob'), { deleted: 0, remaining: false });
    await assert.rejects(m.purge(''), S3ManagerError);
  });
});
