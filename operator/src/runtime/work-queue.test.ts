import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from './backoff.ts';
import { FairQueue, tenantOf } from './fair-queue.ts';
import { WorkQueue } from './work-queue.ts';

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('WorkQueue', () => {
  it('de-duplicates a key added many times while it waits', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 100; i++) q.add('ns/a');
    q.add('ns/b');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'ns/a');
    assert.equal(await q.get(), 'ns/b');
    assert.equal(q.length, 0);
  });

  it('never hands a key being processed to a second worker; an add meanwhile runs it again after done', async () => {
    const q = new WorkQueue();
    q.add('k');
    const first = await q.get();
    assert.equal(first, 'k');
    q.add('k'); // event during processing
    assert.equal(q.length, 0, 'not queued while processing');
    let second: string | undefined;
    const waiting = q.get().then((k) => {
      second = k;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(second, undefined, 'a second worker must wait');
    q.done('k');
    await waiting;
    assert.equal(second, 'k');
    q.done('k');
    assert.equal(q.length, 0);
  });

  it('serialises per key with several concurrent workers', async () => {
    const q = new WorkQueue();
    const active = new Set<string>();
    let overlaps = 0;
    let processed = 0;
    const ac = new AbortController();
    const worker = async (): Promise<void> => {
      for (;;) {
        const key = await q.get(ac.signal);
        if (key === undefined) return;
        if (active.has(key)) overlaps++;
        active.add(key);
        await new Promise((r) => setTimeout(r, 1));
        active.delete(key);
        processed++;
        q.done(key);
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    for (let i = 0; i < 200; i++) {
      q.add(`k${i % 5}`);
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await until(() => q.length === 0 && active.size === 0);
    ac.abort();
    q.shutDown();
    await Promise.all(workers);
    assert.equal(overlaps, 0);
    assert.ok(processed >= 5 && processed <= 200, `processed ${processed}`);
  });

  it('retries with growing backoff and resets on forget; reports retries, depth and latency', async () => {
    const hooks = { retries: 0, depths: [] as number[], latencies: [] as number[] };
    const q = new WorkQueue({
      backoff: { baseMs: 10, maxMs: 1000, jitter: 0 },
      hooks: {
        retry: () => hooks.retries++,
        depth: (d) => hooks.depths.push(d),
        latency: (s) => hooks.latencies.push(s),
      },
    });
    assert.equal(q.addRateLimited('k'), 10);
    assert.equal(q.addRateLimited('k'), 20);
    assert.equal(q.addRateLimited('k'), 40);
    assert.equal(q.failures('k'), 3);
    assert.equal(hooks.retries, 3);
    assert.equal(await q.get(), 'k'); // the earliest (10 ms) deadline wins
    q.done('k');
    q.forget('k');
    assert.equal(q.failures('k'), 0);
    assert.equal(q.addRateLimited('k'), 10);
    assert.ok(hooks.depths.length > 0);
    assert.ok(hooks.latencies.length > 0 && hooks.latencies.every((s) => s >= 0));
    q.shutDown();
  });

  it('addAfter keeps the earliest deadline; shutDown drops delayed keys and wakes waiters', async () => {
    const q = new WorkQueue();
    q.addAfter('k', 60_000);
    q.addAfter('k', 5);
    assert.equal(await q.get(), 'k');
    q.done('k');
    q.addAfter('late', 60_000);
    const waiter = q.get();
    q.shutDown();
    assert.equal(await waiter, undefined);
    assert.equal(await q.get(), undefined);
    q.add('after-shutdown');
    assert.equal(q.length, 0);
  });

  it('get resolves undefined when its signal aborts', async () => {
    const q = new WorkQueue();
    const ac = new AbortController();
    const pending = q.get(ac.signal);
    ac.abort();
    assert.equal(await pending, undefined);
    q.add('k');
    assert.equal(await q.get(), 'k', 'the aborted waiter did not swallow the key');
  });
});

describe('fair across namespaces', () => {
  it("one tenant's backlog delays another tenant's next key by one turn, not by the backlog", async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 1000; i++) q.add(`noisy/s${i}`);
    q.add('quiet/a');
    q.add('quiet/b');
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const k = await q.get();
      if (k === undefined) break;
      order.push(k);
      q.done(k);
    }
    assert.deepEqual(order, ['noisy/s0', 'quiet/a', 'noisy/s1', 'quiet/b']);
    assert.equal(q.length, 998);
  });

  it('within one namespace keys stay first in, first out; cluster-scoped keys form their own group', () => {
    const f = new FairQueue();
    for (const k of ['a/1', 'a/2', 'profile', 'b/1', 'a/3']) f.push(k);
    const out: (string | undefined)[] = [];
    while (f.length > 0) out.push(f.shift());
    assert.deepEqual(out, ['a/1', 'profile', 'b/1', 'a/2', 'a/3']);
    assert.equal(tenantOf('ns/name'), 'ns');
    assert.equal(tenantOf('cluster-scoped'), '');
  });
});

describe('Backoff', () => {
  it('grows exponentially to the cap', () => {
    const b = new Backoff({ baseMs: 100, maxMs: 1000, jitter: 0 });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 10].map((n) => b.delay(n)),
      [100, 200, 400, 800, 1000, 1000],
    );
  });

  it('jitters within +-jitter and never exceeds the cap', () => {
    const low = new Backoff({ baseMs: 100, maxMs: 1000, jitter: 0.2, random: () => 0 });
    const high = new Backoff({ baseMs: 100, maxMs: 1000, jitter: 0.2, random: () => 0.999999 });
    assert.equal(low.delay(1), 80);
    assert.equal(high.delay(1), 120);
    assert.equal(high.delay(20), 1000);
    const real = new Backoff({ baseMs: 100, maxMs: 1000 });
    for (let i = 0; i < 100; i++) {
      const d = real.delay(3);
      assert.ok(d >= 320 && d <= 480, `delay ${d}`);
    }
  });
});
