import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteBudget } from './budget.ts';
import { isStorageError, StorageErrorCode } from './errors.ts';
import { FairBudget, fairShares } from './fair-budget.ts';

const settled = async (p: Promise<unknown>) => {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((r) => setImmediate(r));
  return done;
};

test('one user cannot take more than their share; another user still gets the rest of the pod', async () => {
  const pod = new ByteBudget(100);
  const fair = new FairBudget(pod, { perUserBytes: 40, perSessionBytes: 30, waitMs: 0 });
  const m1 = fair.lease('mallory', 's1');
  const m2 = fair.lease('mallory', 's2');
  await m1.acquire(30);
  await m2.acquire(10);
  const blocked = m2.acquire(10); // user share full (40)
  assert.equal(await settled(blocked), false);
  const alice = fair.lease('alice', 's3');
  await alice.acquire(30);
  assert.equal(pod.used, 70);
  m1.release(30);
  await blocked;
  assert.equal(fair.userUsed('mallory'), 20);
  for (const [l, n] of [
    [m2, 20],
    [alice, 30],
  ] as const)
    l.release(n);
  assert.equal(pod.used, 0);
});

test('a session cannot take more than its share even when its user has room', async () => {
  const fair = new FairBudget(new ByteBudget(100), { perUserBytes: 50, perSessionBytes: 20, waitMs: 0 });
  const a = fair.lease('u', 's1');
  await a.acquire(20);
  assert.equal(await settled(a.acquire(1)), false);
  const b = fair.lease('u', 's2');
  await b.acquire(20);
  assert.equal(fair.userUsed('u'), 40);
});

test('a wait longer than waitMs fails BUSY naming the full share, and holds nothing', async () => {
  const pod = new ByteBudget(100);
  const fair = new FairBudget(pod, { perUserBytes: 40, perSessionBytes: 40, waitMs: 50 });
  const a = fair.lease('u', 's1');
  const b = fair.lease('u', 's2');
  await a.acquire(40);
  await assert.rejects(b.acquire(10), (err: unknown) => {
    assert.ok(isStorageError(err, StorageErrorCode.Busy), String(err));
    assert.match(err.message, /the user's share \(40 bytes\) stayed full/);
    return true;
  });
  assert.equal(pod.used, 40, 'the session level taken before the wait was given back');
  a.release(40);
  await b.acquire(40);
  assert.equal(pod.used, 40);
});

test("the caller's abort wins over the deadline: ABORTED, not BUSY", async () => {
  const fair = new FairBudget(new ByteBudget(10), { perUserBytes: 10, perSessionBytes: 10, waitMs: 10_000 });
  const a = fair.lease('u', 's');
  await a.acquire(10);
  const ac = new AbortController();
  const p = a.acquire(5, ac.signal);
  ac.abort();
  await assert.rejects(p, (err: unknown) => isStorageError(err, StorageErrorCode.Aborted));
});

test('tryAcquire takes from every level or from none', () => {
  const pod = new ByteBudget(100);
  const fair = new FairBudget(pod, { perUserBytes: 30, perSessionBytes: 20, waitMs: 0 });
  const a = fair.lease('u', 's');
  assert.equal(a.tryAcquire(20), true);
  assert.equal(a.tryAcquire(1), false);
  assert.equal(pod.used, 20);
  assert.equal(fair.lease('u', 's2').tryAcquire(10), true);
  assert.equal(fair.lease('u', 's3').tryAcquire(1), false, 'user share full');
  assert.equal(pod.used, 30);
});

test('leases are refcounted: budgets of idle users and sessions are dropped', async () => {
  const fair = new FairBudget(new ByteBudget(100), { perUserBytes: 50, perSessionBytes: 50, waitMs: 0 });
  const a = fair.lease('u', 's1');
  const b = fair.lease('u', 's1');
  assert.deepEqual([fair.activeUsers, fair.activeSessions], [1, 1]);
  a.close();
  a.close();
  assert.deepEqual([fair.activeUsers, fair.activeSessions], [1, 1]);
  b.close();
  assert.deepEqual([fair.activeUsers, fair.activeSessions], [0, 0]);
});

test('fairShares: defaults, floors and caps', () => {
  const MiB = 1024 * 1024;
  const cases: {
    name: string;
    pod: number;
    s: Parameters<typeof fairShares>[1];
    user: number;
    session: number;
  }[] = [
    {
      name: 'defaults (256 MiB, 8 MiB parts, 4 in flight)',
      pod: 256 * MiB,
      s: { partSize: 8 * MiB, perUploadBytes: 40 * MiB },
      user: 64 * MiB,
      session: 40 * MiB,
    },
    {
      name: 'a small pod: never below three parts, never above the pod',
      pod: 16 * MiB,
      s: { partSize: 5 * MiB, perUploadBytes: 15 * MiB },
      user: 15 * MiB,
      session: 15 * MiB,
    },
    {
      name: 'two parts of budget: the pod is the cap',
      pod: 10 * MiB,
      s: { partSize: 5 * MiB, perUploadBytes: 15 * MiB },
      user: 10 * MiB,
      session: 10 * MiB,
    },
    {
      name: 'explicit values win; the session never exceeds the user',
      pod: 256 * MiB,
      s: { partSize: 8 * MiB, perUploadBytes: 40 * MiB, perUserBytes: 32 * MiB, perSessionBytes: 48 * MiB },
      user: 32 * MiB,
      session: 32 * MiB,
    },
  ];
  for (const c of cases) {
    const got = fairShares(c.pod, c.s);
    assert.deepEqual([got.perUserBytes, got.perSessionBytes], [c.user, c.session], c.name);
    assert.equal(got.waitMs, 60_000);
  }
  assert.throws(() => new FairBudget(new ByteBudget(10), { perUserBytes: 11, perSessionBytes: 5, waitMs: 0 }));
});

test('a wait at the session or user level counts as a backpressure pause of the pod budget', async () => {
  let pauses = 0;
  const pod = new ByteBudget(1000, { onPause: () => pauses++ });
  const fair = new FairBudget(pod, { perUserBytes: 500, perSessionBytes: 100, waitMs: 0 });
  const lease = fair.lease('alice', 's1');
  await lease.acquire(100);
  const waiting = lease.acquire(100);
  assert.equal(pauses, 1, 'the session share was full: one pause');
  lease.release(100);
  await waiting;
  lease.release(100);
  lease.close();
});

test('read-ahead never holds more than half the pod budget, and leaves the rest to uploads', async () => {
  const pod = new ByteBudget(100);
  const fair = new FairBudget(pod, { perUserBytes: 40, perSessionBytes: 40, waitMs: 0 });
  let chunks = 0;
  while (fair.readAhead.tryAcquire(10)) chunks++;
  assert.equal(chunks, 5);
  assert.equal(fair.readAhead.used, 50);
  const upload = fair.lease('alice', 's1');
  await upload.acquire(40);
  assert.equal(pod.used, 90);
  upload.release(40);
  await fair.lease('bob', 's2').acquire(40);
  assert.equal(fair.readAhead.tryAcquire(11), false, 'the pod has only 10 left');
  fair.readAhead.release(50);
  assert.equal(pod.used, 40);
  assert.equal(fair.readAhead.tryAcquire(60), false, 'above the ceiling');
});

test('a part larger than the shares (very large files) is charged the whole share, and in full at the pod', async () => {
  const pod = new ByteBudget(100);
  const fair = new FairBudget(pod, { perUserBytes: 30, perSessionBytes: 20, waitMs: 0 });
  const a = fair.lease('u', 's');
  assert.equal(a.capacity, 100);
  await a.acquire(60);
  assert.equal(pod.used, 60);
  assert.equal(fair.userUsed('u'), 30);
  assert.equal(a.tryAcquire(1), false, 'the session share is taken whole');
  a.release(60);
  assert.equal(fair.userUsed('u'), 0);
});
