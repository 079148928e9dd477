// One test per server reconcile step, over the recording context (controllers/testing/fake-context.ts). A converged
// step run twice asks for nothing the second time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import { ConditionType } from '../../api/conditions.ts';
import type { SftpServer } from '../../api/types.generated.ts';
import { S3ManagerError } from '../../cloud/s3/errors.ts';
import { getCondition } from '../../runtime/conditions.ts';
import { StallingError, WaitingError } from '../../runtime/errors.ts';
import { generateHostKey } from '../../secrets/host-keys.ts';
import { locate } from '../placement.ts';
import { type FakeContext, fakeContext } from '../testing/fake-context.ts';
import { placementFixture, profileFixture, serverFixture, userFixture } from '../testing/fixtures.ts';
import { SftpServerReconciler, serverSteps } from './reconciler.ts';
import { ServerMemo, type ServerRun, SHARD_WRITE_INTERVAL_MS } from './run.ts';
import { deletionStep, finalizerStep } from './steps/finalizer.ts';
import { hostKeysStep } from './steps/host-keys.ts';
import { iamStep } from './steps/iam.ts';
import { placementStep, refusalStep } from './steps/placement.ts';
import { podFieldsStep } from './steps/pod-fields.ts';
import { storageStep } from './steps/storage.ts';
import { usersTableStep } from './steps/users-table.ts';
import { workloadsStep } from './steps/workloads.ts';

const credentials: V1Secret = {
  metadata: { name: 'creds', namespace: 'tenants' },
  data: { AWS_ACCESS_KEY_ID: btoa('id'), AWS_SECRET_ACCESS_KEY: btoa('secret') },
};

function runOf(ctx: FakeContext, server: SftpServer, memo = new ServerMemo(server.metadata.uid ?? '')): ServerRun {
  ctx.secrets.put(credentials);
  return {
    ctx,
    server: structuredClone(server),
    status: {},
    signal: new AbortController().signal,
    memo,
    now: () => 1_000,
    hostKeysDigest: '',
    placement: placementFixture(),
    done: false,
    writeStatusNow: async () => undefined,
  };
}
const reason = (run: ServerRun, type: string) => getCondition(run.status.conditions, type)?.reason;

describe('server steps', () => {
  it('the order: deletion, placement, finalizer, users table, pod fields, then host keys, storage, IAM, workloads', () => {
    assert.deepEqual(
      serverSteps.map((s) => s.name),
      [
        'deletionStep',
        'placementStep',
        'finalizerStep',
        'usersTableStep',
        'refusalStep',
        'podFieldsStep',
        'notificationsStep',
        'hostKeysStep',
        'storageStep',
        'iamStep',
        'workloadsStep',
      ],
    );
  });

  it('pod fields: a field the profile does not allow is StorageReady False PodFieldNotAllowed and stops', async () => {
    const ctx = fakeContext();
    const toleration = {
      key: 'node-role.kubernetes.io/control-plane',
      operator: 'Exists',
      effect: 'NoSchedule',
    } as const;
    const run = runOf(
      ctx,
      serverFixture((s) => (s.tolerations = [toleration])),
    );
    await assert.rejects(podFieldsStep(run), StallingError);
    assert.equal(reason(run, ConditionType.StorageReady), 'PodFieldNotAllowed');
    assert.deepEqual(ctx.kube.writes(), [], 'nothing written anywhere');
    ctx.profiles.put(profileFixture((p) => (p.podTemplate = { allowedTolerations: [toleration] })));
    const allowed = runOf(
      ctx,
      serverFixture((s) => (s.tolerations = [toleration])),
    );
    await podFieldsStep(allowed);
    assert.equal(reason(allowed, ConditionType.StorageReady), undefined);
  });

  it('placement: derived prefix in status; a refusal is StorageReady False with its reason and stops', async () => {
    const ctx = fakeContext();
    const run = runOf(ctx, serverFixture());
    run.placement = undefined;
    await placementStep(run);
    assert.equal((run as ServerRun).placement?.prefix, 'sftpgate/tenants/demo');
    assert.equal(run.status.location, 's3://bkt/sftpgate/tenants/demo/');
    const other = runOf(
      ctx,
      serverFixture((s) => (s.storage.profile = 'elsewhere')),
    );
    await assert.rejects(placementStep(other), StallingError);
    assert.equal(reason(other, ConditionType.StorageReady), 'ProfileNotFound');
    assert.deepEqual(ctx.kube.writes(), [], 'nothing written anywhere');
  });

  it('a server that was placed and no longer may: its users table lists nobody, then the pass stops', async () => {
    const ctx = fakeContext();
    ctx.users.put(userFixture('alice', generateHostKey('ed25519').publicKey));
    ctx.namespaces.map.clear(); // the platform withdrew the namespace (it no longer matches the selector)
    const run = runOf(ctx, serverFixture());
    run.placement = undefined;
    run.status.location = 's3://bkt/sftpgate/tenants/demo/';
    await placementStep(run);
    assert.equal(reason(run, ConditionType.StorageReady), 'NamespaceNotAllowed');
    await usersTableStep(run);
    assert.equal(run.status.users, 0, 'every login revoked');
    await assert.rejects(refusalStep(run), StallingError);
  });

  it('finalizer: held for Delete, never for a refused server; deletion purges the allotted prefix', async () => {
    const ctx = fakeContext();
    const del = runOf(
      ctx,
      serverFixture((s) => (s.deletionPolicy = 'Delete')),
    );
    await finalizerStep(del);
    assert.deepEqual(del.server.metadata.finalizers, ['sftpgate.io/cleanup']);
    const refused = runOf(
      ctx,
      serverFixture((s) => (s.deletionPolicy = 'Delete')),
    );
    refused.placement = undefined;
    await finalizerStep(refused);
    assert.equal(refused.server.metadata.finalizers, undefined, 'a refused server never gets one');
    const deleting = serverFixture((s) => (s.deletionPolicy = 'Delete'));
    deleting.metadata.finalizers = ['sftpgate.io/cleanup'];
    deleting.metadata.deletionTimestamp = new Date(0);
    const run = runOf(ctx, deleting);
    await deletionStep(run);
    assert.equal(run.done, true);
    assert.deepEqual(ctx.buckets.at(-1)?.calls, [
      'purge sftpgate/tenants/demo',
      'removeLifecycle sftpgate/tenants/demo',
    ]);
    assert.deepEqual(run.server.metadata.finalizers, []);
    const retain = runOf(fakeContext(), serverFixture());
    await finalizerStep(retain);
    assert.equal(retain.server.metadata.finalizers, undefined);
  });

  it('users table: Role, RoleBinding and shard written once; a removed user leaves the memo', async () => {
    const ctx = fakeContext();
    const key = generateHostKey('ed25519').publicKey;
    ctx.users.put(userFixture('alice', key));
    ctx.users.put(userFixture('bob', key));
    const run = runOf(ctx, serverFixture());
    await usersTableStep(run);
    assert.deepEqual(
      ctx.kube.writes().map((c) => `${c.kind}/${c.name}`),
      ['Role/demo-sftp', 'RoleBinding/demo-sftp', 'Secret/demo-users-0'],
    );
    assert.equal(run.status.users, 2);
    assert.deepEqual(run.status.usersSecrets, ['demo-users-0']);
    ctx.secrets.put(ctx.kube.store.get('Secret/tenants/demo-users-0') as V1Secret);
    const writes = ctx.kube.writes().length;
    await usersTableStep(run);
    assert.equal(ctx.kube.writes().length, writes, 'converged: no writes');
    ctx.users.map.delete('tenants/bob');
    await usersTableStep(run);
    assert.deepEqual([...run.memo.entries.keys()], ['uid-alice']);
    assert.equal(run.status.users, 1);
  });

  it('users table: a shard is written at most once per SHARD_WRITE_INTERVAL_MS; changes meanwhile wait', async () => {
    const ctx = fakeContext();
    const key = generateHostKey('ed25519').publicKey;
    ctx.users.put(userFixture('alice', key));
    const server = serverFixture();
    server.status = { usersSecrets: ['demo-users-0'] };
    const memo = new ServerMemo(server.metadata.uid ?? '');
    let now = 10_000;
    const pass = async () => {
      const run = { ...runOf(ctx, server, memo), now: () => now };
      await usersTableStep(run);
      ctx.secrets.put(ctx.kube.store.get('Secret/tenants/demo-users-0') as V1Secret);
      return run;
    };
    const shardWrites = () => ctx.kube.writes().filter((c) => c.name === 'demo-users-0').length;
    const first = await pass();
    assert.equal(shardWrites(), 1);
    assert.equal(first.requeueAfterMs, undefined);
    // Two changes within the interval: held, the pass asks to run again when the interval is over.
    now += 300;
    ctx.users.put(userFixture('bob', key));
    const held = await pass();
    now += 300;
    ctx.users.put(userFixture('carol', key));
    const heldAgain = await pass();
    assert.equal(shardWrites(), 1, 'no write within the interval');
    assert.equal(held.requeueAfterMs, SHARD_WRITE_INTERVAL_MS - 300);
    assert.equal(heldAgain.requeueAfterMs, SHARD_WRITE_INTERVAL_MS - 600);
    assert.equal(heldAgain.status.users, undefined, 'status left as it was (nothing derived)');
    // Once the interval is over, one write carries both changes.
    now += SHARD_WRITE_INTERVAL_MS;
    const last = await pass();
    assert.equal(shardWrites(), 2);
    assert.equal(last.status.users, 3);
    assert.equal(last.requeueAfterMs, undefined);
    // Nothing changed: no write. A shard edited behind the operator's back (new resourceVersion) is rewritten.
    now += SHARD_WRITE_INTERVAL_MS;
    await pass();
    assert.equal(shardWrites(), 2, 'converged: no write');
    const live = ctx.secrets.get('tenants/demo-users-0') as V1Secret;
    ctx.secrets.put({ ...live, metadata: { ...live.metadata, resourceVersion: 'edited' }, data: { 'users.json': '' } });
    const repaired = { ...runOf(ctx, server, memo), now: () => now };
    await usersTableStep(repaired);
    assert.equal(shardWrites(), 3, 'drift repaired');
    ctx.secrets.put(ctx.kube.store.get('Secret/tenants/demo-users-0') as V1Secret);
    now += SHARD_WRITE_INTERVAL_MS;
    // A server that lost its placement revokes every login at once, even within the interval.
    now += 100;
    const refused = {
      ...runOf(ctx, server, memo),
      now: () => now,
      refusal: { reason: 'NamespaceNotAllowed', message: 'withdrawn' },
    };
    await usersTableStep(refused as ServerRun);
    assert.equal(shardWrites(), 4, 'revocation is not held');
    assert.equal(refused.status.users, 0);
    ctx.secrets.put(ctx.kube.store.get('Secret/tenants/demo-users-0') as V1Secret);
    now += SHARD_WRITE_INTERVAL_MS;
    // A change of the shard count writes at once (every shard carries the count).
    server.status = { usersSecrets: ['demo-users-0', 'demo-users-1'] };
    ctx.users.put(userFixture('dave', key));
    await pass();
    assert.equal(shardWrites(), 5);
  });

  it('host keys: generated once when absent; a user-provided Secret that is missing stalls', async () => {
    const ctx = fakeContext();
    const run = runOf(ctx, serverFixture());
    await hostKeysStep(run);
    assert.equal(reason(run, ConditionType.HostKeysReady), 'HostKeysGenerated');
    assert.equal(run.status.hostKeyFingerprints?.length, 2);
    assert.notEqual(run.hostKeysDigest, '');
    assert.deepEqual(ctx.recorded, ['Normal HostKeysGenerated generated host keys in Secret demo-host-keys']);
    const mine = runOf(
      ctx,
      serverFixture((s) => (s.hostKeys.secretName = 'mine')),
    );
    await assert.rejects(hostKeysStep(mine), StallingError);
    assert.equal(reason(mine, ConditionType.HostKeysReady), 'HostKeysInvalid');
  });

  it('storage: checks, lifecycle rule and marker; repeated within RECHECK_MS costs nothing; no bucket waits', async () => {
    const ctx = fakeContext();
    const run = runOf(ctx, serverFixture());
    await storageStep(run);
    await storageStep(run);
    assert.deepEqual(ctx.buckets[0]?.calls, [
      'checkBucket',
      'ensureLifecycle sftpgate/tenants/demo',
      'ensureMarker sftpgate/tenants/demo',
    ]);
    assert.equal(reason(run, ConditionType.StorageReady), 'LifecycleRulesApplied');
    assert.equal(run.status.versioning, 'Enabled');
    const missing = runOf(ctx, serverFixture(), new ServerMemo('uid-2'));
    missing.server.metadata.uid = 'uid-2';
    await storageStep(missing).catch(() => undefined);
    const bucket = ctx.buckets.at(-1);
    assert.ok(bucket);
    bucket.fail = new S3ManagerError('SFTPGATE_S3_BUCKET_NOT_FOUND', 'no bucket', false);
    missing.memo.storageChecked = undefined;
    await assert.rejects(storageStep(missing), WaitingError);
    assert.equal(reason(missing, ConditionType.StorageReady), 'BucketNotFound');
  });

  it('IAM: mode None reports no IAMReady; a mode the build lacks stalls with a reason', async () => {
    const none = runOf(fakeContext(), serverFixture());
    none.status.conditions = [
      { type: 'IAMReady', status: 'True', reason: 'IAMConfigured', message: '', lastTransitionTime: '' },
    ];
    await iamStep(none);
    assert.equal(getCondition(none.status.conditions, ConditionType.IAMReady), undefined);
    const sts = runOf(fakeContext(), serverFixture());
    sts.placement = locate(
      profileFixture((p) => (p.iam = { mode: 'STS', sts: { endpoint: 'http://sts', durationSeconds: 3600 } })),
      'tenants',
      'demo',
    );
    await assert.rejects(iamStep(sts), StallingError);
    assert.equal(reason(sts, ConditionType.IAMReady), 'IAMError');
  });

  it('workloads: ServiceAccount, Deployment, Service, PDB, NetworkPolicy; Available False with no ready pod', async () => {
    const ctx = fakeContext();
    const run = runOf(ctx, serverFixture());
    await workloadsStep(run);
    assert.deepEqual(
      ctx.kube.writes().map((c) => c.kind),
      ['Secret', 'ServiceAccount', 'Deployment', 'Service', 'PodDisruptionBudget', 'NetworkPolicy'],
    );
    assert.equal(reason(run, ConditionType.Available), 'DeploymentUnavailable');
    assert.equal(run.status.endpoint, 'demo-sftp.tenants.svc:22');
    assert.equal(ctx.kube.writes()[0]?.name, 'demo-s3-credentials', "the pods' copy of the profile's credentials");
  });
});

describe('SftpServerReconciler memo', () => {
  it('is dropped when a Retain server is deleted (no finalizer, the object simply goes)', async () => {
    const ctx = fakeContext();
    ctx.secrets.put(credentials);
    const server = ctx.servers.put(serverFixture());
    const r = new SftpServerReconciler(ctx, () => 1_000);
    await r.reconcile('tenants/demo', new AbortController().signal);
    assert.equal(r.memoCount, 1);
    assert.equal(ctx.buckets.length, 1);
    ctx.servers.map.delete('tenants/demo');
    await r.reconcile('tenants/demo', new AbortController().signal);
    assert.equal(r.memoCount, 0);
    assert.equal(ctx.storage.digestOf(server.metadata.uid ?? ''), undefined, 'S3 client forgotten too');
  });
});
