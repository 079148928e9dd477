// Leader election on a real Lease: two electors, exactly one leads at any time; when the leader shuts down it
// releases the Lease and the standby takes over at once; when the leader dies (no release) the standby takes over
// once the Lease expires.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeClient, Resources } from '../../operator/src/runtime/kube-client.ts';
import { LeaderElector } from '../../operator/src/runtime/leader-election.ts';
import { type ControlPlane, startControlPlane, waitUntil } from '../infra/index.ts';

const ns = 'leader-test';
let cp: ControlPlane;
const clients: KubeClient[] = [];
// Aborted in after(): a failed assertion must not leave electors campaigning (they would keep the process alive).
const everything = new AbortController();
const runs: Promise<void>[] = [];
function track(run: Promise<void>): Promise<void> {
  runs.push(run);
  return run;
}

function elector(identity: string, lease: string): { elector: LeaderElector; client: KubeClient; terms: number[] } {
  const client = new KubeClient(cp.kubeConfig(), { requestTimeoutMs: 5_000 });
  clients.push(client);
  const terms: number[] = [];
  const e = new LeaderElector({
    client,
    namespace: ns,
    name: lease,
    identity,
    leaseDurationMs: 4_000,
    renewDeadlineMs: 3_000,
    retryPeriodMs: 300,
    onLeaderChange: (leading) => terms.push(leading ? 1 : 0),
  });
  return { elector: e, client, terms };
}

interface LeaseObject {
  metadata: { resourceVersion?: string };
  spec: { holderIdentity?: string | null; leaseTransitions?: number };
}

describe('LeaderElector against kube-apiserver', { timeout: 180_000 }, () => {
  before(async () => {
    cp = await startControlPlane();
    const admin = new KubeClient(cp.kubeConfig());
    clients.push(admin);
    await admin.create(Resources.Namespace, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });

  after(async () => {
    everything.abort();
    await Promise.allSettled(runs);
    for (const c of clients) c.close();
    await cp?.stop();
  });

  it('elects exactly one leader and fails over at once when the leader shuts down', async () => {
    const a = elector('replica-a', 'graceful');
    const b = elector('replica-b', 'graceful');
    const stopA = new AbortController();
    const stopB = new AbortController();
    everything.signal.addEventListener('abort', () => {
      stopA.abort();
      stopB.abort();
    });
    const leading = { a: 0, b: 0 };
    let overlap = 0;
    // `lead` runs while leading; sampling both flags catches any moment with two leaders.
    const sampler = setInterval(() => {
      if (a.elector.isLeader() && b.elector.isLeader()) overlap++;
    }, 20);
    const runA = track(
      a.elector.run(stopA.signal, async (signal) => {
        leading.a++;
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      }),
    );
    await waitUntil('a leads', async () => a.elector.isLeader(), { timeoutMs: 20_000 });
    const runB = track(
      b.elector.run(stopB.signal, async (signal) => {
        leading.b++;
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      }),
    );
    // b keeps campaigning for several renew periods without winning.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(b.elector.isLeader(), false);
    assert.equal(b.elector.observedLeader(), 'replica-a');

    stopA.abort();
    await runA;
    // a released the Lease on its way out, so b need not wait for the lease duration to pass.
    const afterRelease = await b.client.get<LeaseObject & { metadata: { name: string } }>(
      Resources.Lease,
      ns,
      'graceful',
    );
    assert.ok(
      (afterRelease.spec.holderIdentity ?? null) === null || afterRelease.spec.holderIdentity === 'replica-b',
      `released: ${afterRelease.spec.holderIdentity}`,
    );
    await waitUntil('b leads', async () => b.elector.isLeader(), { timeoutMs: 20_000 });
    const lease = await b.client.get<LeaseObject & { metadata: { name: string } }>(Resources.Lease, ns, 'graceful');
    assert.equal(lease.spec.holderIdentity, 'replica-b');
    assert.equal(lease.spec.leaseTransitions, 0, 'a released Lease taken over is not counted as a forced transition');
    stopB.abort();
    await runB;
    clearInterval(sampler);
    assert.equal(overlap, 0, 'never two leaders at once');
    assert.deepEqual(leading, { a: 1, b: 1 });
    assert.deepEqual(a.terms, [1, 0]);
    const released = await b.client.get<LeaseObject & { metadata: { name: string } }>(Resources.Lease, ns, 'graceful');
    assert.equal(released.spec.holderIdentity ?? null, null, 'the last leader released the Lease on shutdown');
  });

  it('takes over after the Lease expires when the leader dies without releasing it', async () => {
    const a = elector('replica-a', 'crash');
    const b = elector('replica-b', 'crash');
    const stopA = new AbortController();
    const stopB = new AbortController();
    everything.signal.addEventListener('abort', () => {
      stopA.abort();
      stopB.abort();
    });
    let aLeaderSignal: AbortSignal | undefined;
    const runA = track(
      a.elector.run(stopA.signal, async (signal) => {
        aLeaderSignal = signal;
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      }),
    );
    await waitUntil('a leads', async () => a.elector.isLeader(), { timeoutMs: 20_000 });
    const runB = track(
      b.elector.run(stopB.signal, async (signal) => {
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      }),
    );
    // "Kill" a: cut it off from the API server (a partitioned or frozen replica can neither renew nor release).
    Object.defineProperty(a.client, 'request', {
      value: () => Promise.reject(new Error('replica a is dead')),
    });
    const killedAt = Date.now();
    await waitUntil('b leads', async () => b.elector.isLeader(), { timeoutMs: 30_000 });
    const takeoverMs = Date.now() - killedAt;
    assert.ok(takeoverMs >= 2_000, `b must wait for the Lease to expire (took ${takeoverMs} ms)`);
    // a noticed it could not renew and stepped down (its leader signal fired).
    await waitUntil('a stepped down', async () => aLeaderSignal?.aborted === true && !a.elector.isLeader(), {
      timeoutMs: 20_000,
    });
    const lease = await b.client.get<LeaseObject & { metadata: { name: string } }>(Resources.Lease, ns, 'crash');
    assert.equal(lease.spec.holderIdentity, 'replica-b');
    assert.equal(lease.spec.leaseTransitions, 1);
    stopA.abort();
    stopB.abort();
    await Promise.all([runA, runB]);
  });
});
