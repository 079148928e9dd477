import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteBudget } from './budget.ts';
import { isStorageError, StorageErrorCode } from './errors.ts';
import { FairBudget, fairShares } from './fair-budget.ts';
import { stillPending } from './testing/pending.ts';

test('one user cannot take more than their share; another user still gets the rest of the pod', async () => {
  const pod = new ByteBudget(100);
  const fair = new FairBudget(pod, { perUserBytes: 40, perSessionBytes: 30, waitMs: 0 });
  const m1 = fair.lease('mallory', 's1');
  const m2 = fair.lease('mallory', 's2');
  await m1.reservePart(30);
  await m2.reservePart(10);
  const blocked = m2.reservePart(10); // user share full (40)
  assert.equal(await stillPending(blocked), true);
  const alice = fair.lease('alice', 's3');
  await alice.reservePart(30);
  assert.equal(fair.userUsed('alice'), 30);
  m1.releasePart(30);
  await blocked;
  assert.equal(fair.userUsed('mallory'), 20);
  for (const [l, n] of [
    [m2, 20],
    [alice, 30],
  ] as const)
    l.releasePart(n);
  assert.equal(pod.used, 0);
});

test('a session cannot take more than its share even when its user has room', async () => {
  const fair = new FairBudget(new ByteBudget(100), { perUserBytes: 50, perSessionBytes: 20, waitMs: 0 });
  const a = fair.lease('u', 's1');
  await a.reservePart(20);
  assert.equal(await stillPending(a.reservePart(1)), true);
  const b = fair.lease('u', 's2');
  await b.reservePart(20);
  assert.equal(fair.userUsed('u'), 40);
});

test('a wait longer than waitMs fails BUSY naming the full share, and holds nothing', async () => {
  const pod = new ByteBudget(100);
  const fair = new FairBudget(pod, { perUserBytes: 40, perSessionBytes: 40, waitMs: 50 });
  const a = fair.lease('u', 's1');
  const b = fair.lease('u', 's2');
  await a.reservePart(40);
  await assert.rejects(b.reservePart(10), (err: unknown) => {
    assert.ok(isStorageError(err, StorageErrorCode.Busy), String(err));
    assert.match(err.message, /the user's share \(40 bytes\) stayed full/);
    return true;
  });
  assert.equal(fair.userUsed('u'), 40, 'nothing taken by the failed wait is kept');
  a.releasePart(40);
  await b.reservePart(40);
  assert.equal(fair.userUsed('u'), 40);
});

test("the caller's abort wins over the deadline: ABORTED, not BUSY", async () => {
  const fair = new FairBudget(new ByteBudget(10), { perUserBytes: 10, perSessionBytes: 10, waitMs: 10_000 });
  const a = fair.lease('u', 's');
  await a.reservePart(10);
  const ac = new AbortController();
  const p = a.reservePart(5, ac.signal);
  ac.abort();
  await assert.rejects(p, (err: unknown) => isStorageError(err, StorageErrorCode.Aborted));
});

test('tryReservePart takes from both shares or from none', () => {
  const pod = new ByteBudget(100);
  const fair = new FairBudget(pod, { perUserBytes: 30, perSessionBytes: 20, waitMs: 0 });
  const a = fair.lease('u', 's');
  assert.equal(a.tryReservePart(20), true);
  assert.equal(a.tryReservePart(1), false);
  assert.equal(fair.userUsed('u'), 20);
  assert.equal(fair.lease('u', 's2').tryReservePart(10), true);
  assert.equal(fair.lease('u', 's3').tryReservePart(1), false, 'user share full');
  assert.equal(fair.userUsed('u'), 30);
  assert.equal(pod.used, 0, 'reservations are not pod memory');
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

test('read-ahead never holds more than half the pod budget, nor the reserve of parts being filled', async () => {
  const pod = new ByteBudget(100);
  const fair = new FairBudget(pod, { perUserBytes: 40, perSessionBytes: 40, waitMs: 0 });
  let chunks = 0;
  while (fair.readAhead.tryAcquire(10)) chunks++;
  assert.equal(chunks, 5);
  assert.equal(fair.readAhead.used, 50);
  fair.readAhead.release(50);
  const part = {};
  fair.gate.open(part, 70); // a part being filled: 70 bytes stay free for it
  chunks = 0;
  while (fair.readAhead.tryAcquire(10)) chunks++;
  assert.equal(chunks, 3);
  await fair.lease('alice', 's1').grant(part, 70); // the oldest part may use the reserve
  assert.equal(pod.used, 100);
  assert.equal(fair.readAhead.tryAcquire(60), false, 'above the ceiling anyway');
});

test('a part larger than the shares (very large files) is charged the whole share', async () => {
  const pod = new ByteBudget(100);
  const fair = new FairBudget(pod, { perUserBytes: 30, perSessionBytes: 20, waitMs: 0 });
  const a = fair.lease('u', 's');
  assert.equal(a.capacity, 100);
  await a.reservePart(60);
  assert.equal(fair.userUsed('u'), 30);
  assert.equal(a.tryReservePart(1), false, 'the session share is taken whole');
  a.releasePart(60);
  assert.equal(fair.userUsed('u'), 0);
});
