import assert from 'node:assert/strict';
import { test } from 'node:test';
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
