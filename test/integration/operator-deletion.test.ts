// Both deletion policies on a versioned bucket: Delete leaves no object version or delete marker under the prefix
// (and nothing outside it is touched); Retain leaves the data. Finalizers exist only where cleanup is needed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DeleteObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { Resources } from '../../operator/src/runtime/kube-client.ts';
import { generateHostKey } from '../../operator/src/secrets/host-keys.ts';
import {
  getServer,
  getUser,
  type RunningOperator,
  serverConditionsTrue,
  serverManifest,
  startOperator,
  startTenantBed,
  type TestBed,
  userManifest,
  usersTable,
  waitFor,
} from './operator-harness.ts';

const NS = 'del';
let bed: TestBed;
let op: RunningOperator;

async function versions(prefix: string): Promise<number> {
  let n = 0;
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const out = await bed.minio.s3().send(
      new ListObjectVersionsCommand({
        Bucket: 'sftp',
        Prefix: prefix,
        KeyMarker: keyMarker,
        VersionIdMarker: versionMarker,
      }),
    );
    n += (out.Versions?.length ?? 0) + (out.DeleteMarkers?.length ?? 0);
    if (!out.IsTruncated) return n;
    keyMarker = out.NextKeyMarker;
    versionMarker = out.NextVersionIdMarker;
  }
}

/** `count` objects, a second version of f0 and a delete marker on f1 under `prefix`: count + 2 versions. */
async function populate(prefix: string, count: number): Promise<void> {
  const s3 = bed.minio.s3();
  for (let i = 0; i < count; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, count - i) }, (_, j) =>
        s3.send(new PutObjectCommand({ Bucket: 'sftp', Key: `${prefix}f${i + j}`, Body: 'v1' })),
      ),
    );
  }
  await s3.send(new PutObjectCommand({ Bucket: 'sftp', Key: `${prefix}f0`, Body: 'v2' }));
  await s3.send(new DeleteObjectCommand({ Bucket: 'sftp', Key: `${prefix}f1` }));
}

const key = () => generateHostKey('ed25519').publicKey;
const serverReady = (name: string) => serverConditionsTrue(bed, NS, name, ['StorageReady']);

before(async () => {
  bed = await startTenantBed(NS);
  op = startOperator(bed);
  await bed.admin.apply(Resources.SftpServer, serverManifest(bed, NS, 'keep'));
  await bed.admin.apply(Resources.SftpServer, serverManifest(bed, NS, 'purge', { deletionPolicy: 'Delete' }));
  await Promise.all([serverReady('keep'), serverReady('purge')]);
});
after(async () => {
  await op?.stop();
  await bed?.stop();
});

describe('SftpUser deletion', () => {
  it('Delete purges the home (every version and marker); Retain keeps it; both lose access', async () => {
    await bed.admin.apply(
      Resources.SftpUser,
      userManifest(NS, 'gone', { serverRef: { name: 'keep' }, authorizedKeys: [key()], deletionPolicy: 'Delete' }),
    );
    await bed.admin.apply(
      Resources.SftpUser,
      userManifest(NS, 'kept', { serverRef: { name: 'keep' }, authorizedKeys: [key()] }),
    );
    await waitFor('both users published', async () => {
      const t = await usersTable(bed, NS, 'keep');
      return t?.users.length === 2;
    });
    const gone = await getUser(bed, NS, 'gone');
    assert.deepEqual(gone?.metadata.finalizers, ['sftpgate.io/cleanup']);
    assert.equal((await getUser(bed, NS, 'kept'))?.metadata.finalizers, undefined);
    await populate('servers/del/keep/gone/', 30);
    await populate('servers/del/keep/gone2/', 3); // shares the string prefix "gone": must survive
    await populate('servers/del/keep/kept/', 5);
    await bed.admin.delete(Resources.SftpUser, NS, 'gone');
    await bed.admin.delete(Resources.SftpUser, NS, 'kept');
    await waitFor(
      'both users gone from the API',
      async () => !(await getUser(bed, NS, 'gone')) && !(await getUser(bed, NS, 'kept')),
    );
    await waitFor('both out of the table', async () => (await usersTable(bed, NS, 'keep'))?.users.length === 0);
    assert.equal(await versions('servers/del/keep/gone/'), 0);
    assert.equal(await versions('servers/del/keep/gone2/'), 5);
    assert.ok((await versions('servers/del/keep/kept/')) >= 7);
  });
});

describe('SftpServer deletion', () => {
  it('only a Delete server carries the finalizer', async () => {
    assert.deepEqual((await getServer(bed, NS, 'purge'))?.metadata.finalizers, ['sftpgate.io/cleanup']);
    assert.equal((await getServer(bed, NS, 'keep'))?.metadata.finalizers, undefined);
  });

  it('Delete: no version or delete marker left under the prefix, nothing else touched, our lifecycle rule removed', async () => {
    await populate('servers/del/purge/alice/', 1200); // more than one DeleteObjects batch
    await populate('servers/del/purge-other/', 3);
    await bed.admin.delete(Resources.SftpServer, NS, 'purge');
    await waitFor('purge server gone', async () => !(await getServer(bed, NS, 'purge')), 120_000);
    assert.equal(await versions('servers/del/purge/'), 0);
    assert.equal(await versions('servers/del/purge-other/'), 5);
    const rules =
      (await bed.minio.s3().send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'sftp' }))).Rules ?? [];
    assert.ok(!rules.some((r) => (r.Filter?.Prefix ?? r.Prefix) === 'servers/del/purge/'), JSON.stringify(rules));
    assert.ok(rules.some((r) => (r.Filter?.Prefix ?? r.Prefix) === 'servers/del/keep/'));
  });

  it('Retain: the object goes at once, the data stays', async () => {
    const before = await versions('servers/del/keep/');
    await bed.admin.delete(Resources.SftpServer, NS, 'keep');
    await waitFor('keep server gone', async () => !(await getServer(bed, NS, 'keep')));
    assert.equal(await versions('servers/del/keep/'), before);
    assert.ok(before > 0);
  });
});
