// Server-side apply, status, finalizers, events and the Controller/Manager loop against a real kube-apiserver:
// a second identical apply changes nothing (same resourceVersion), a converged controller makes zero writes on
// further passes, typed errors decide retries, and /metrics, /readyz answer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fieldManager } from '../../operator/src/api/resources.ts';
import type { SftpUser } from '../../operator/src/api/types.generated.ts';
import { setCondition, statusEqual } from '../../operator/src/runtime/conditions.ts';
import { Controller } from '../../operator/src/runtime/controller.ts';
import { isConflict, StallingError } from '../../operator/src/runtime/errors.ts';
import { EventRecorder } from '../../operator/src/runtime/events.ts';
import { ensureFinalizer, hasFinalizer, removeFinalizer } from '../../operator/src/runtime/finalizers.ts';
import { splitKey } from '../../operator/src/runtime/informer.ts';
import { KubeClient, type KubeObject, Resources } from '../../operator/src/runtime/kube-client.ts';
import { Manager } from '../../operator/src/runtime/manager.ts';
import { OperatorMetrics } from '../../operator/src/runtime/metrics.ts';
import { ownerReference } from '../../operator/src/runtime/owner.ts';
import { type ControlPlane, startControlPlane, waitUntil } from '../infra/index.ts';

const ns = 'apply-test';
const root = new URL('../../', import.meta.url);
let cp: ControlPlane;
let client: KubeClient;

type User = SftpUser & KubeObject;
const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMFsNSUVhAOnjd6pf5oeU4H8HmwAXJWLv2ZIKovmWdZ4 t@example';

function user(name: string, homeDirectory = name): KubeObject {
  return {
    apiVersion: 'sftpgate.io/v1alpha1',
    kind: 'SftpUser',
    metadata: { name, namespace: ns },
    spec: { serverRef: { name: 'demo' }, authorizedKeys: [key], homeDirectory },
  } as KubeObject;
}

describe('runtime writes against kube-apiserver', { timeout: 240_000 }, () => {
  let owner: User;

  before(async () => {
    cp = await startControlPlane();
    client = new KubeClient(cp.kubeConfig());
    await cp.kubectl(['apply', '--server-side', '-f', new URL('crds/', root).pathname]);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/sftpusers.sftpgate.io']);
    await client.create(Resources.Namespace, undefined, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
    });
    owner = await client.create<User>(Resources.SftpUser, ns, user('owner') as User);
  });

  after(async () => {
    client?.close();
    await cp?.stop();
  });

  it('server-side apply is idempotent: a second identical apply keeps the resourceVersion', async () => {
    const desired = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'child', namespace: ns, labels: { app: 'x' }, ownerReferences: [ownerReference(owner)] },
      data: { a: '1' },
    };
    const first = await client.apply(Resources.ConfigMap, desired);
    const second = await client.apply(Resources.ConfigMap, desired);
    assert.equal(second.metadata?.resourceVersion, first.metadata?.resourceVersion);
    const managedFields = second.metadata?.['managedFields'] as { manager: string; operation: string }[] | undefined;
    assert.ok(managedFields, 'server-side apply records managedFields');
    const managers = managedFields.map((m) => `${m.manager}/${m.operation}`);
    assert.deepEqual(managers, [`${fieldManager}/Apply`]);
    assert.equal(second.metadata?.ownerReferences?.[0]?.uid, owner.metadata?.uid);
    assert.equal(second.metadata?.ownerReferences?.[0]?.controller, true);
    const changed = await client.apply(Resources.ConfigMap, { ...desired, data: { a: '2' } });
    assert.notEqual(changed.metadata?.resourceVersion, second.metadata?.resourceVersion);
  });

  it('status apply through the status subresource is idempotent too', async () => {
    const conditions = setCondition([], { type: 'Ready', status: true, reason: 'Reconciled', message: 'ok' }, 1);
    const body = {
      apiVersion: 'sftpgate.io/v1alpha1',
      kind: 'SftpUser',
      metadata: { name: 'owner', namespace: ns },
      status: { observedGeneration: 1, conditions, prefix: 's3://b/p/owner/' },
    };
    const first = await client.apply<User>(Resources.SftpUser, body, { subresource: 'status' });
    assert.equal(first.status?.prefix, 's3://b/p/owner/');
    const second = await client.apply<User>(Resources.SftpUser, body, { subresource: 'status' });
    assert.equal(second.metadata?.resourceVersion, first.metadata?.resourceVersion);
    assert.ok(statusEqual(second.status, body.status), 'what we read back equals what we wrote (no false diffs)');
  });

  it('adds and removes a finalizer with one write each, none when already in the wanted state', async () => {
    // The owner changed since we read it (status writes): a stale write is refused, not merged blindly.
    await assert.rejects(ensureFinalizer(client, Resources.SftpUser, owner), (err: unknown) => isConflict(err));
    owner = await client.get<User>(Resources.SftpUser, ns, 'owner');
    const before = client.writeCount();
    const withFinalizer = await ensureFinalizer(client, Resources.SftpUser, owner);
    assert.ok(hasFinalizer(withFinalizer));
    await ensureFinalizer(client, Resources.SftpUser, withFinalizer);
    assert.equal(client.writeCount() - before, 1);
    const without = await removeFinalizer(client, Resources.SftpUser, withFinalizer);
    assert.ok(!hasFinalizer(without));
    await removeFinalizer(client, Resources.SftpUser, without);
    assert.equal(client.writeCount() - before, 2);
  });

  it('records events once and counts repeats', async () => {
    const recorder = new EventRecorder({ client, minUpdateIntervalMs: 0 });
    const quiet = new EventRecorder({ client });
    await recorder.record(owner, 'Warning', 'InvalidAuthorizedKey', 'authorizedKeys[0] does not parse');
    await recorder.record(owner, 'Warning', 'InvalidAuthorizedKey', 'authorizedKeys[0] does not parse');
    const writes = client.writeCount();
    await quiet.record(owner, 'Normal', 'Created', 'Created Secret owner-x');
    await quiet.record(owner, 'Normal', 'Created', 'Created Secret owner-x'); // within a minute: no write
    assert.equal(client.writeCount() - writes, 1);
    const events = await client.list<KubeObject & { reason: string; count: number; involvedObject: { uid: string } }>(
      Resources.Event,
      ns,
      { fieldSelector: `involvedObject.uid=${owner.metadata?.uid}` },
    );
    const byReason = new Map(events.items.map((e) => [e.reason, e.count]));
    assert.equal(byReason.get('InvalidAuthorizedKey'), 2);
    assert.equal(byReason.get('Created'), 1);
  });

  it('runs a controller: converges, then makes zero writes on further passes; stalls and retries by error type', async () => {
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    const manager = new Manager({ client, metrics, http: { host: '127.0.0.1', port: 0 } });
    const informer = manager.informer<User>(Resources.SftpUser, { namespace: ns, resyncPeriodMs: 0 });
    const attempts = new Map<string, number>();
    const controller = new Controller<User>({
      name: 'test',
      informer,
      workers: 3,
      backoff: { baseMs: 50, maxMs: 200 },
      metrics,
      reconcile: async (k, signal) => {
        attempts.set(k, (attempts.get(k) ?? 0) + 1);
        const current = informer.get(k);
        if (current === undefined) return;
        const home = current.spec.homeDirectory ?? '';
        if (home.startsWith('stall')) throw new StallingError('InvalidAuthorizedKey', 'key 0 does not parse');
        if (home === 'flaky' && (attempts.get(k) ?? 0) < 3) throw new Error('transient S3 failure');
        const generation = current.metadata?.generation;
        const status = {
          observedGeneration: generation,
          conditions: setCondition(
            current.status?.conditions,
            { type: 'Ready', status: true, reason: 'Reconciled', message: `home ${home}` },
            generation,
          ),
          prefix: `s3://bucket/servers/demo/${home}/`,
        };
        if (statusEqual({ ...current.status }, status)) return; // the deep-equal guard: no write when unchanged
        const { namespace, name } = splitKey(k);
        await client.apply(
          Resources.SftpUser,
          {
            apiVersion: 'sftpgate.io/v1alpha1',
            kind: 'SftpUser',
            metadata: { name, namespace: namespace ?? ns },
            status,
          },
          { subresource: 'status', signal },
        );
      },
    });
    manager.addController(controller);
    const stop = new AbortController();
    const running = manager.run(stop.signal);
    try {
      for (const name of ['u1', 'u2', 'u3']) await client.create(Resources.SftpUser, ns, user(name));
      await client.create(Resources.SftpUser, ns, user('flaky', 'flaky'));
      await client.create(Resources.SftpUser, ns, user('broken', 'stall'));
      const ready = (name: string): boolean =>
        informer.get(`${ns}/${name}`)?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ===
        true;
      const opts = { timeoutMs: 60_000 };
      await waitUntil('users Ready', async () => ['owner', 'u1', 'u2', 'u3', 'flaky'].every(ready), opts);
      assert.ok((attempts.get(`${ns}/flaky`) ?? 0) >= 3, 'a generic error was retried with backoff');
      assert.equal(attempts.get(`${ns}/broken`), 1, 'a stalled key is not retried');

      // Converged: another pass over every key writes nothing.
      await waitUntil('queue drained', async () => controller.stats.passes > 0, opts);
      const writes = client.writeCount();
      const passes = controller.stats.passes;
      for (const k of informer.keys()) controller.enqueue(k);
      await waitUntil('second pass done', async () => controller.stats.passes >= passes + informer.size, opts);
      assert.equal(client.writeCount(), writes, 'zero API writes on a pass over converged objects');

      // A spec change of the stalled object runs it again.
      await client.mergePatch(Resources.SftpUser, ns, 'broken', { spec: { homeDirectory: 'stall-again' } });
      await waitUntil('stalled key re-run on change', async () => (attempts.get(`${ns}/broken`) ?? 0) >= 2, opts);

      const http = await manager.httpServer();
      assert.ok(http);
      const readyz = await fetch(`${http.url}/readyz`);
      assert.equal(readyz.status, 200);
      const text = await (await fetch(`${http.url}/metrics`)).text();
      assert.match(text, /sftpgate_operator_reconcile_total\{controller="test",result="success"\} \d+/);
      assert.match(
        text,
        /sftpgate_operator_reconcile_errors_total\{controller="test",reason="InvalidAuthorizedKey"\} [1-9]/,
      );
      assert.match(text, /sftpgate_operator_workqueue_retries_total\{controller="test"\} [1-9]/);
      assert.match(text, /sftpgate_operator_api_requests_total\{verb="apply",resource="sftpusers\/status"\} \d+/);
      assert.match(text, /sftpgate_operator_leader 1/);
      assert.match(text, /sftpgate_operator_resources\{kind="SftpUser",ready="true"\} 5/);
      assert.match(text, /sftpgate_operator_resources\{kind="SftpUser",ready="false"\} 1/);
      assert.match(text, /sftpgate_operator_reconcile_duration_seconds_bucket/);
      assert.match(text, /sftpgate_operator_workqueue_latency_seconds_bucket/);
    } finally {
      stop.abort();
      await running;
    }
  });
});
