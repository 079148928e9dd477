// The informer against a real kube-apiserver: it follows adds/updates/deletes, restarts a silent watch (watchdog),
// survives an API server restart (watches break, connections are refused, the old resourceVersion is gone -> 410
// -> relist) and converges on what changed meanwhile, without ever stopping.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Informer, Informer as InformerClass, objectKey } from '../../operator/src/runtime/informer.ts';
import { KubeClient, type KubeObject, Resources } from '../../operator/src/runtime/kube-client.ts';
import { type ControlPlane, startControlPlane, waitUntil } from '../infra/index.ts';

const ns = 'informer-test';
let cp: ControlPlane;
let client: KubeClient;
const abort = new AbortController();
// Informer loops still running when a test fails; after() aborts and awaits them before stopping the API server.
const runs: Promise<void>[] = [];

function configMap(name: string, data: Record<string, string> = {}): KubeObject & { data: Record<string, string> } {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data };
}

interface Recorded {
  type: string;
  key: string;
}

function record(informer: Informer<KubeObject>): Recorded[] {
  const events: Recorded[] = [];
  informer.on((type, object) => events.push({ type, key: objectKey(object) }));
  return events;
}

describe('Informer against kube-apiserver', { timeout: 240_000 }, () => {
  before(async () => {
    cp = await startControlPlane();
    client = new KubeClient(cp.kubeConfig(), { requestTimeoutMs: 10_000 });
    await client.create(Resources.Namespace, undefined, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
    });
  });

  after(async () => {
    abort.abort();
    await Promise.allSettled(runs);
    client?.close();
    await cp?.stop();
  });

  /** A running Secret informer on the test namespace (its own stop switch), synced. */
  async function startSecretInformer(options: { watchdogMs: number; watchTimeoutSeconds?: [number, number] }) {
    const informer = new InformerClass<KubeObject>({
      client,
      type: Resources.Secret,
      namespace: ns,
      resyncPeriodMs: 0,
      ...options,
    });
    const events = record(informer);
    const ac = new AbortController();
    const signal = AbortSignal.any([abort.signal, ac.signal, AbortSignal.timeout(60_000)]);
    const running = informer.run(signal);
    runs.push(running);
    await informer.waitForSync(signal);
    return { informer, events, ac, signal, running };
  }

  /** Creates Secret `name` and waits for its event. */
  async function createAndSee(events: { key: string }[], signal: AbortSignal, name: string): Promise<void> {
    await client.create(Resources.Secret, ns, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns } });
    await waitUntil(`event for ${name}`, async () => events.some((e) => e.key === `${ns}/${name}`), {
      timeoutMs: 20_000,
      signal,
    });
  }

  it('lists, then follows adds, updates and deletes', async () => {
    await client.create(Resources.ConfigMap, ns, configMap('pre-existing'));
    const informer = new InformerClass<KubeObject>({
      client,
      type: Resources.ConfigMap,
      namespace: ns,
      resyncPeriodMs: 0,
    });
    const events = record(informer);
    const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(60_000)]);
    const ac = new AbortController();
    const running = informer.run(AbortSignal.any([signal, ac.signal]));
    runs.push(running);
    await informer.waitForSync(signal);
    assert.ok(informer.get(`${ns}/pre-existing`));
    await client.create(Resources.ConfigMap, ns, configMap('a'));
    await client.mergePatch(Resources.ConfigMap, ns, 'a', { data: { k: 'v' } });
    await client.delete(Resources.ConfigMap, ns, 'pre-existing');
    const opts = { timeoutMs: 20_000, signal };
    await waitUntil('events delivered', async () => events.some((e) => e.type === 'delete'), opts);
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.key}`),
      [`add ${ns}/pre-existing`, `add ${ns}/a`, `update ${ns}/a`, `delete ${ns}/pre-existing`],
    );
    assert.equal((informer.get(`${ns}/a`) as { data?: Record<string, string> }).data?.['k'], 'v');
    assert.equal(informer.get(`${ns}/pre-existing`), undefined);
    ac.abort();
    await running;
  });

  it('restarts a watch that delivers nothing for watchdogMs, and keeps working', async () => {
    // An idle watch on a quiet namespace looks exactly like a stalled connection: the watchdog must restart it. The
    // watch asks for a lifetime far beyond the watchdog (by default it stays below it, to be renewed cleanly).
    const { informer, events, ac, signal, running } = await startSecretInformer({
      watchdogMs: 1500,
      watchTimeoutSeconds: [300, 300],
    });
    await waitUntil('watchdog fired twice', async () => informer.stats.stalls >= 2, { timeoutMs: 30_000, signal });
    await createAndSee(events, signal, 'after-stall');
    assert.ok(informer.stats.watches >= 3, `watches: ${informer.stats.watches}`);
    ac.abort();
    await running;
  });

  it('by default renews a quiet watch before its watchdog fires: no stall, no failure, events still arrive', async () => {
    const { informer, events, ac, signal, running } = await startSecretInformer({ watchdogMs: 4000 }); // lives 2-3 s
    await waitUntil('three watches', async () => informer.stats.watches >= 3, { timeoutMs: 30_000, signal });
    assert.equal(informer.stats.stalls, 0);
    assert.equal(informer.stats.restarts, 0);
    await createAndSee(events, signal, 'after-renewals');
    ac.abort();
    await running;
  });

  it('survives an API server restart: relists after 410 and converges on changes made meanwhile', async () => {
    const restarts: string[] = [];
    let relists = 0;
    const informer = new InformerClass<KubeObject>({
      client,
      type: Resources.ConfigMap,
      namespace: ns,
      resyncPeriodMs: 0,
      backoff: { baseMs: 200, maxMs: 2000 },
      hooks: { restart: (reason) => restarts.push(reason), relist: () => relists++ },
    });
    const events = record(informer);
    const ac = new AbortController();
    const signal = AbortSignal.any([abort.signal, ac.signal, AbortSignal.timeout(150_000)]);
    const running = informer.run(signal);
    runs.push(running);
    await informer.waitForSync(signal);
    assert.equal(relists, 1);

    // A second client writes behind the informer's back while it is disconnected: objects added and removed in
    // another namespace advance etcd's revision, so the informer's resourceVersion predates the restarted API
    // server's watch cache (410 Gone).
    const other = 'informer-other';
    await client.create(Resources.Namespace, undefined, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: other },
    });
    for (let i = 0; i < 5; i++) {
      await client.create(Resources.ConfigMap, other, {
        ...configMap(`noise-${i}`),
        metadata: { name: `noise-${i}`, namespace: other },
      });
    }
    await cp.restartApiServer({ signal });
    // Changes made after the restart must reach the cache (the informer reconnected on its own).
    await client.create(Resources.ConfigMap, ns, configMap('after-restart'));
    await client.delete(Resources.ConfigMap, ns, 'a');
    await waitUntil(
      'cache converged',
      async () => informer.get(`${ns}/after-restart`) !== undefined && informer.get(`${ns}/a`) === undefined,
      { timeoutMs: 60_000, signal },
    );
    assert.ok(relists >= 2, `relisted after the restart (relists=${relists}, restarts=${restarts.join(',')})`);
    assert.ok(restarts.includes('expired'), `a 410 was seen: ${restarts.join(',')}`);
    assert.ok(events.some((e) => e.type === 'delete' && e.key === `${ns}/a`));
    // The cache equals a fresh list.
    const fresh = await client.listAll(Resources.ConfigMap, ns);
    assert.deepEqual(
      informer.keys().sort(),
      fresh.items.map((o) => objectKey({ ...o, metadata: { ...o.metadata, namespace: ns } })).sort(),
    );
    ac.abort();
    await running;
  });
});
