// One test per user reconcile step, over the recording context (controllers/testing/fake-context.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConditionType, Reason } from '../../api/conditions.ts';
import type { SftpUser } from '../../api/types.generated.ts';
import { getCondition } from '../../runtime/conditions.ts';
import { StallingError, WaitingError } from '../../runtime/errors.ts';
import { generateHostKey } from '../../secrets/host-keys.ts';
import { locate } from '../placement.ts';
import { type FakeContext, fakeContext } from '../testing/fake-context.ts';
import { placementFixture, profileFixture, serverFixture, userFixture } from '../testing/fixtures.ts';
import { userSteps } from './reconciler.ts';
import type { UserRun } from './run.ts';
import { userFinalizerStep } from './steps/finalizer.ts';
import { homeStep } from './steps/home.ts';
import { expiryStep, FIRST_STATUS_DEFER_MS, publishedStep, sessionPolicyStep } from './steps/published.ts';
import { serverStep } from './steps/server.ts';
import { keysStep, passwordStep, usernameStep } from './steps/validate.ts';

const key = generateHostKey('ed25519').publicKey;
const ready = (type: string) => ({
  type,
  status: 'True' as const,
  reason: 'Reconciled',
  message: '',
  lastTransitionTime: '',
});

function runOf(ctx: FakeContext, user: SftpUser): UserRun {
  ctx.secrets.put({
    metadata: { name: 'creds', namespace: 'tenants' },
    data: { AWS_ACCESS_KEY_ID: btoa('id'), AWS_SECRET_ACCESS_KEY: btoa('secret') },
  });
  return {
    ctx,
    key: `${user.metadata.namespace}/${user.metadata.name}`,
    user: structuredClone(user),
    status: {},
    signal: new AbortController().signal,
    now: () => new Date('2026-06-01T00:00:00Z'),
    server: undefined,
    placement: undefined,
    requeueAfterMs: undefined,
    done: false,
  };
}
const reason = (run: UserRun, type: string) => getCondition(run.status.conditions, type)?.reason;
function readyServer(ctx: FakeContext) {
  const s = serverFixture();
  s.status = { conditions: [ready('StorageReady'), ready('HostKeysReady')], usersSecrets: ['demo-users-0'] };
  return ctx.servers.put(s);
}

describe('user steps', () => {
  it('the order: finalizer, validation, server, home, published, session policy, expiry', () => {
    assert.deepEqual(
      userSteps.map((s) => s.name),
      [
        'userFinalizerStep',
        'keysStep',
        'passwordStep',
        'usernameStep',
        'serverStep',
        'homeStep',
        'publishedStep',
        'sessionPolicyStep',
        'expiryStep',
      ],
    );
  });

  it('finalizer: Delete purges the home unless another live user shares it', async () => {
    const ctx = fakeContext();
    readyServer(ctx);
    const u = userFixture('alice', key, { deletionPolicy: 'Delete' });
    u.metadata.finalizers = ['sftpgate.io/cleanup'];
    u.metadata.deletionTimestamp = new Date(0);
    const run = runOf(ctx, u);
    await userFinalizerStep(run);
    assert.equal(run.done, true);
    assert.deepEqual(ctx.buckets[0]?.calls, ['purge sftpgate/tenants/demo/alice']);
    ctx.users.put(userFixture('alice2', key, { homeDirectory: 'alice' }));
    await userFinalizerStep(runOf(ctx, u));
    assert.match(ctx.recorded.at(-1) ?? '', /PurgeSkipped home alice is shared with SftpUser alice2/);
  });

  it('keys: an unparsable key stalls with InvalidAuthorizedKey', async () => {
    const run = runOf(fakeContext(), userFixture('alice', 'ssh-ed25519 AAAA-not-base64'));
    await assert.rejects(keysStep(run), StallingError);
    assert.equal(reason(run, ConditionType.Validated), Reason.InvalidAuthorizedKey);
    const ok = runOf(fakeContext(), userFixture('alice', key));
    await keysStep(ok);
    assert.equal(ok.status.keyFingerprints?.length, 1);
  });

  it('password: missing Secret, missing key and an unusable password each stall with their reason', async () => {
    const ctx = fakeContext();
    const ref = { name: 'pw', key: 'password', format: 'Plaintext' as const };
    const run = runOf(ctx, userFixture('alice', key, { passwordSecretRef: ref }));
    await assert.rejects(passwordStep(run), StallingError);
    assert.equal(reason(run, ConditionType.Validated), Reason.PasswordSecretNotFound);
    const store = (secret: object) => ctx.kube.store.set('Secret/tenants/pw', secret);
    store({ metadata: { name: 'pw', namespace: 'tenants' }, data: {} });
    await assert.rejects(passwordStep(run), StallingError);
    assert.equal(reason(run, ConditionType.Validated), Reason.PasswordSecretKeyMissing);
    store({ metadata: { name: 'pw', namespace: 'tenants' }, data: { password: '' } });
    await assert.rejects(passwordStep(run), StallingError);
    assert.equal(reason(run, ConditionType.Validated), Reason.InvalidPassword);
    store({
      metadata: { name: 'pw', namespace: 'tenants', resourceVersion: '7' },
      data: { password: btoa('correct horse battery staple') },
    });
    await passwordStep(run);
    assert.equal(run.status.passwordSecretVersion, '7');
    assert.deepEqual(
      new Set(ctx.kube.calls.map((c) => `${c.verb} ${c.kind} ${c.namespace}/${c.name}`)),
      new Set(['get Secret tenants/pw']),
      'read by name in the user namespace, nothing else',
    );
    assert.equal(run.requeueAfterMs, 60_000, 'rotation is looked for again');
  });

  it('username: the older claimant keeps it; the newer one stalls with UsernameConflict', async () => {
    const ctx = fakeContext();
    const older = ctx.users.put(userFixture('a', key, { username: 'shared' }));
    const newer = userFixture('b', key, { username: 'shared' });
    newer.metadata.creationTimestamp = new Date(1000);
    ctx.users.put(newer);
    const run = runOf(ctx, newer);
    await assert.rejects(usernameStep(run), StallingError);
    assert.equal(reason(run, ConditionType.Validated), Reason.UsernameConflict);
    const first = runOf(ctx, older);
    await usernameStep(first);
    assert.equal(reason(first, ConditionType.Validated), Reason.Reconciled);
  });

  it('server: absent stalls, not ready waits, ready resolves the prefix', async () => {
    const ctx = fakeContext();
    const run = runOf(ctx, userFixture('alice', key));
    await assert.rejects(serverStep(run), StallingError);
    assert.equal(reason(run, ConditionType.ServerReady), Reason.ServerNotFound);
    ctx.servers.put(serverFixture());
    await assert.rejects(serverStep(run), WaitingError);
    assert.equal(reason(run, ConditionType.ServerReady), Reason.ServerNotReady);
    readyServer(ctx);
    await serverStep(run);
    assert.equal(run.status.prefix, 's3://bkt/sftpgate/tenants/demo/alice/');
    assert.equal(run.server?.metadata.name, 'demo');
  });

  it('home: the marker is written under the server prefix', async () => {
    const ctx = fakeContext();
    const run = runOf(ctx, userFixture('alice', key));
    run.server = readyServer(ctx);
    run.placement = placementFixture();
    await homeStep(run);
    assert.deepEqual(ctx.buckets[0]?.calls, ['ensureMarker sftpgate/tenants/demo/alice']);
    assert.equal(reason(run, ConditionType.StorageReady), Reason.Reconciled);
  });

  it('published: True once a shard lists the username', async () => {
    const ctx = fakeContext();
    const run = runOf(ctx, userFixture('alice', key));
    run.server = readyServer(ctx);
    await publishedStep(run);
    assert.equal(reason(run, ConditionType.Published), Reason.Progressing);
    const table = { users: [{ username: 'alice' }] };
    ctx.secrets.put({
      metadata: { name: 'demo-users-0', namespace: 'tenants', resourceVersion: '2' },
      data: { 'users.json': btoa(JSON.stringify(table)) },
    });
    await publishedStep(run);
    assert.equal(reason(run, ConditionType.Published), Reason.InUsersTable);
    assert.equal(run.status.usersSecret, 'demo-users-0');
  });

  it('published: a new user waiting only for the table write defers its first status; an old one does not', async () => {
    const ctx = fakeContext();
    const user = userFixture('alice', key);
    user.metadata.creationTimestamp = new Date('2026-06-01T00:00:00Z');
    const fresh = { ...runOf(ctx, user), now: () => new Date('2026-06-01T00:00:01Z') };
    fresh.server = readyServer(ctx);
    await publishedStep(fresh);
    assert.equal(fresh.deferStatus, true);
    // One second into the window: asked again when it ends (the shard's watch event normally comes first).
    assert.equal(fresh.requeueAfterMs, FIRST_STATUS_DEFER_MS - 1000);
    // Older than the window, a status already written, or created "in the future" (clock skew): written at once.
    const old = { ...runOf(ctx, user), now: () => new Date('2026-06-01T00:01:00Z') };
    const withStatus = runOf(ctx, { ...user, status: { conditions: [ready('Validated')] } });
    const skewed = { ...runOf(ctx, user), now: () => new Date('2026-05-31T23:59:59Z') };
    for (const run of [old, withStatus, skewed]) {
      run.server = readyServer(ctx);
      await publishedStep(run);
      assert.equal(run.deferStatus, undefined);
      assert.equal(reason(run, ConditionType.Published), Reason.Progressing);
    }
  });

  it('session policy: a policy that cannot be built is IAMReady False with the integration reason', async () => {
    const iam = {
      reconcileServer: async () => ({ ready: true, reason: 'IAMConfigured', message: '' }),
      sessionPolicy: () => ({ error: 'x', reason: 'SessionPolicyTooLarge', message: 'too large' }),
    };
    const ctx = fakeContext({ iam });
    const run = runOf(ctx, userFixture('alice', key));
    run.server = serverFixture();
    run.placement = locate(
      profileFixture((p) => (p.iam = { mode: 'STS', sts: { endpoint: 'http://sts', durationSeconds: 900 } })),
      'tenants',
      'demo',
    );
    await sessionPolicyStep(run);
    assert.equal(reason(run, ConditionType.IAMReady), Reason.SessionPolicyTooLarge);
  });

  it('expiry: a future expiresAt asks to be reconciled just after it', async () => {
    const run = runOf(fakeContext(), userFixture('alice', key, { expiresAt: '2026-06-01T00:01:00Z' }));
    await expiryStep(run);
    assert.equal(run.requeueAfterMs, 61_000);
  });
});
