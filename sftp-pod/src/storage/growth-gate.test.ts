import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteBudget } from './budget.ts';
import { isStorageError, StorageErrorCode } from './errors.ts';
import { GrowthGate } from './growth-gate.ts';
import { stillPending } from './testing/pending.ts';

test('a one-byte write holds a slab, not a part: many parts can start in a small budget', async () => {
  const gate = new GrowthGate(new ByteBudget(100));
  const parts = Array.from({ length: 8 }, () => ({}));
  for (const p of parts) gate.open(p, 40);
  // Each part takes one 4-byte slab; 40 stay free for the oldest part.
  for (const p of parts) await gate.acquire(p, 4);
  assert.equal(gate.pod.used, 32);
});

test('only the oldest part may use the reserve; the others wait and are served oldest first', async () => {
  const gate = new GrowthGate(new ByteBudget(20));
  const [a, b, c] = [{}, {}, {}];
  gate.open(a, 10);
  gate.open(b, 10);
  gate.open(c, 10);
  await gate.acquire(a, 5);
  await gate.acquire(b, 5); // 20 - 10 = 10 left = the reserve
  const cWaits = gate.acquire(c, 1);
  assert.equal(await stillPending(cWaits), true, 'c would eat into the reserve');
  const bWaits = gate.acquire(b, 5);
  assert.equal(await stillPending(bWaits), true, 'b is not the oldest either');
  await gate.acquire(a, 5); // a, the oldest, completes from the reserve
  assert.equal(gate.pod.used, 15);
  gate.close(a); // a sealed: b is now the oldest
  gate.release(10); // S3 confirmed a's body
  await bWaits;
  assert.equal(await stillPending(cWaits), true, 'c waits for the reserve b may need');
  gate.close(b);
  await cWaits;
  assert.equal(gate.pauses, 2);
});

test('no deadlock: parts half filled everywhere still complete one after another', async () => {
  // Two parts of 10 in a budget of 10, both half filled: without the reserve rule both would wait forever.
  const gate = new GrowthGate(new ByteBudget(10));
  const [a, b] = [{}, {}];
  gate.open(a, 10);
  gate.open(b, 10);
  await gate.acquire(a, 5);
  const bFirstHalf = gate.acquire(b, 5);
  assert.equal(await stillPending(bFirstHalf), true, 'b may not take the last 5: a needs them');
  await gate.acquire(a, 5);
  gate.close(a);
  gate.release(10);
  await bFirstHalf;
  await gate.acquire(b, 5);
  assert.equal(gate.pod.used, 10);
});

test('an aborted wait holds nothing and unblocks the queue; read-ahead leaves the reserve alone', async () => {
  const gate = new GrowthGate(new ByteBudget(10));
  const [a, b] = [{}, {}];
  gate.open(a, 8);
  gate.open(b, 8);
  await gate.acquire(a, 2);
  const ac = new AbortController();
  const w = gate.acquire(b, 2, ac.signal);
  assert.equal(await stillPending(w), true);
  ac.abort();
  await assert.rejects(w, (err: unknown) => isStorageError(err, StorageErrorCode.Aborted));
  assert.equal(gate.waiting, 0);
  assert.equal(gate.tryAcquireSpare(1), false, 'only 8 free, all of it the reserve');
  gate.close(a);
  gate.close(b);
  assert.equal(gate.tryAcquireSpare(8), true);
  await assert.rejects(gate.acquire(a, 11), RangeError);
});
