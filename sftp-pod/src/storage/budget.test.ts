import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteBudget } from './budget.ts';
import { isStorageError, StorageErrorCode } from './errors.ts';

test('acquire within capacity resolves at once and accounts exactly', async () => {
  const used: number[] = [];
  const b = new ByteBudget(100, { onUsedChange: (u) => used.push(u) });
  await b.acquire(60);
  await b.acquire(40);
  assert.equal(b.used, 100);
  assert.equal(b.available, 0);
  assert.equal(b.pauses, 0);
  b.release(100);
  assert.equal(b.used, 0);
  assert.deepEqual(used, [60, 100, 0]);
  assert.equal(b.peak, 100);
});

test('acquire waits until bytes are released, and counts a pause', async () => {
  let pauses = 0;
  const b = new ByteBudget(10, { onPause: () => pauses++ });
  await b.acquire(8);
  let done = false;
  const p = b.acquire(5).then(() => {
    done = true;
  });
  await Promise.resolve();
  assert.equal(done, false);
  assert.equal(b.waiting, 1);
  b.release(2);
  await Promise.resolve();
  assert.equal(done, false, 'still 8-2+5 = 11 > 10');
  b.release(1);
  await p;
  assert.equal(b.used, 10);
  assert.equal(pauses, 1);
  assert.equal(b.pauses, 1);
});

test('waiters are served in FIFO order (a large request is not starved)', async () => {
  const b = new ByteBudget(10);
  await b.acquire(10);
  const order: string[] = [];
  const big = b.acquire(8).then(() => order.push('big'));
  const small = b.acquire(1).then(() => order.push('small'));
  assert.equal(b.tryAcquire(1), false, 'tryAcquire does not jump the queue');
  b.release(10);
  await Promise.all([big, small]);
  assert.deepEqual(order, ['big', 'small']);
  assert.equal(b.used, 9);
});

test('an aborted waiter holds nothing and unblocks the queue behind it', async () => {
  const b = new ByteBudget(10);
  await b.acquire(6);
  const ac = new AbortController();
  const big = b.acquire(10, ac.signal);
  const small = b.acquire(4);
  ac.abort(new Error('client went away'));
  await assert.rejects(big, (err: unknown) => isStorageError(err, StorageErrorCode.Aborted));
  await small;
  assert.equal(b.used, 10);
  assert.equal(b.waiting, 0);
});

test('an already aborted signal rejects without taking bytes', async () => {
  const b = new ByteBudget(10);
  await assert.rejects(b.acquire(1, AbortSignal.abort()), (err: unknown) =>
    isStorageError(err, StorageErrorCode.Aborted),
  );
  assert.equal(b.used, 0);
});

test('impossible and invalid amounts are refused', () => {
  const b = new ByteBudget(10);
  assert.throws(() => b.acquire(11), RangeError);
  assert.throws(() => b.acquire(-1), RangeError);
  assert.throws(() => b.acquire(1.5), RangeError);
  assert.throws(() => b.release(1), /exceeds/);
  assert.throws(() => new ByteBudget(0), RangeError);
});
