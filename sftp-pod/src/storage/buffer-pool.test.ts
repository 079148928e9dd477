import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BufferPool } from './buffer-pool.ts';

test('reuses a returned buffer of the same size, and only up to maxBytes', () => {
  const pool = new BufferPool(100);
  const a = pool.take(60);
  assert.equal(a.length, 60);
  pool.give(a);
  assert.equal(pool.pooledBytes, 60);
  assert.equal(pool.take(60), a, 'same buffer back');
  assert.equal(pool.pooledBytes, 0);
  assert.notEqual(pool.take(50).length, 60);
  pool.give(Buffer.alloc(60));
  pool.give(Buffer.alloc(60)); // would exceed 100: dropped
  assert.equal(pool.pooledBytes, 60);
  assert.equal(pool.take(30).length, 30, 'other sizes are allocated fresh');
});

const KiB = 1024;

test('frees what it holds once idle for idleMs: the buffers are detached, their memory released at once', async () => {
  let clock = 0;
  const pool = new BufferPool(1024 * KiB, 5, () => clock);
  const a = pool.take(256 * KiB);
  const b = pool.take(256 * KiB);
  pool.give(a);
  clock = 3; // used again before the idle time passed: kept
  pool.give(b);
  await sleep(40);
  assert.equal(pool.pooledBytes, 512 * KiB, 'activity 3 ms ago: not idle yet');
  assert.equal(a.length, 256 * KiB);
  clock = 100;
  await sleep(40);
  assert.equal(pool.pooledBytes, 0);
  assert.equal((a.buffer as ArrayBuffer).detached, true);
  assert.equal(b.length, 0, 'a detached buffer reads as empty, never as freed memory');
  const c = pool.take(256 * KiB);
  assert.equal(c.length, 256 * KiB, 'a fresh buffer after the release');
  assert.notEqual(c.buffer, a.buffer);
});

test('a buffer that shares its ArrayBuffer with others is dropped, not detached', async () => {
  let clock = 0;
  const pool = new BufferPool(1024 * KiB, 5, () => clock);
  const backing = new ArrayBuffer(128 * KiB);
  const half = Buffer.from(backing, 0, 64 * KiB);
  const other = Buffer.from(backing, 64 * KiB, 64 * KiB);
  pool.give(half);
  clock = 100;
  await sleep(40);
  assert.equal(pool.pooledBytes, 0);
  assert.equal(backing.detached, false);
  assert.equal(other.length, 64 * KiB);
});
