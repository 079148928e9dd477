import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffCounts, median, pairedRatio, rotation, total } from './stats.ts';

test('median: odd, even, non-finite values ignored, empty is NaN', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([Number.NaN, 5, Number.POSITIVE_INFINITY]), 5);
  assert.ok(Number.isNaN(median([])));
});

test('pairedRatio divides within each round, then takes the median over rounds', () => {
  const a = [
    { round: 1, v: 10 },
    { round: 2, v: 30 },
    { round: 3, v: 8 },
  ];
  const b = [
    { round: 1, v: 5 },
    { round: 2, v: 10 },
    { round: 3, v: 8 },
  ];
  // Per round: 2, 3, 1 -> median 2 (a ratio of medians would give 10 / 8 = 1.25).
  assert.equal(
    pairedRatio(a, b, (s) => s.v),
    2,
  );
  assert.equal(
    pairedRatio(a, [{ round: 2, v: 10 }], (s) => s.v),
    3,
  );
  assert.ok(Number.isNaN(pairedRatio(a, [], (s) => s.v)));
});

test('rotation runs each server first once every n rounds', () => {
  assert.deepEqual(rotation(['a', 'b', 'c'], 1), ['a', 'b', 'c']);
  assert.deepEqual(rotation(['a', 'b', 'c'], 2), ['b', 'c', 'a']);
  assert.deepEqual(rotation(['a', 'b', 'c'], 3), ['c', 'a', 'b']);
  assert.deepEqual(rotation(['a', 'b', 'c'], 4), ['a', 'b', 'c']);
  assert.deepEqual(rotation([], 2), []);
});

test('diffCounts keeps what moved; total sums', () => {
  assert.deepEqual(diffCounts({ PutObject: 5, ListObjectsV2: 1 }, { PutObject: 3, ListObjectsV2: 1 }), {
    PutObject: 2,
  });
  assert.deepEqual(diffCounts({ HeadObject: 2 }, {}), { HeadObject: 2 });
  assert.equal(total({ a: 1, b: 2 }), 3);
});
