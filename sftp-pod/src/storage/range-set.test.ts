import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RangeSet } from './range-set.ts';

function build(adds: readonly [number, number][]): RangeSet {
  const r = new RangeSet();
  for (const [s, e] of adds) r.add(s, e);
  return r;
}

test('RangeSet merges adjacent ranges and keeps disjoint ones apart', () => {
  const cases: { name: string; adds: [number, number][]; size: number; first: [number, number] | undefined }[] = [
    { name: 'empty', adds: [], size: 0, first: undefined },
    { name: 'one', adds: [[3, 5]], size: 1, first: [3, 5] },
    {
      name: 'in order, adjacent',
      adds: [
        [0, 2],
        [2, 4],
        [4, 9],
      ],
      size: 1,
      first: [0, 9],
    },
    {
      name: 'reverse, adjacent',
      adds: [
        [4, 9],
        [2, 4],
        [0, 2],
      ],
      size: 1,
      first: [0, 9],
    },
    {
      name: 'gap stays',
      adds: [
        [0, 2],
        [3, 4],
      ],
      size: 2,
      first: [0, 2],
    },
    {
      name: 'fills a gap from both sides',
      adds: [
        [0, 2],
        [4, 6],
        [2, 4],
      ],
      size: 1,
      first: [0, 6],
    },
    {
      name: 'merges left only',
      adds: [
        [0, 2],
        [5, 6],
        [2, 3],
      ],
      size: 2,
      first: [0, 3],
    },
    {
      name: 'merges right only',
      adds: [
        [0, 2],
        [5, 6],
        [4, 5],
      ],
      size: 2,
      first: [0, 2],
    },
    {
      name: 'inserted in the middle',
      adds: [
        [0, 1],
        [8, 9],
        [4, 5],
      ],
      size: 3,
      first: [0, 1],
    },
    { name: 'empty range ignored', adds: [[3, 3]], size: 0, first: undefined },
  ];
  for (const c of cases) {
    const r = build(c.adds);
    assert.equal(r.size, c.size, c.name);
    assert.deepEqual(r.first(), c.first, c.name);
  }
});

test('RangeSet.overlaps and sizeAfterAdd', () => {
  const r = build([
    [10, 20],
    [30, 40],
  ]);
  const cases: { s: number; e: number; overlaps: boolean; sizeAfter?: number }[] = [
    { s: 0, e: 10, overlaps: false, sizeAfter: 2 },
    { s: 0, e: 9, overlaps: false, sizeAfter: 3 },
    { s: 0, e: 11, overlaps: true },
    { s: 19, e: 21, overlaps: true },
    { s: 20, e: 30, overlaps: false, sizeAfter: 1 },
    { s: 21, e: 29, overlaps: false, sizeAfter: 3 },
    { s: 25, e: 35, overlaps: true },
    { s: 12, e: 13, overlaps: true },
    { s: 40, e: 50, overlaps: false, sizeAfter: 2 },
    { s: 5, e: 50, overlaps: true },
  ];
  for (const c of cases) {
    assert.equal(r.overlaps(c.s, c.e), c.overlaps, `[${c.s}, ${c.e}) overlaps`);
    if (c.sizeAfter !== undefined) assert.equal(r.sizeAfterAdd(c.s, c.e), c.sizeAfter, `[${c.s}, ${c.e}) size`);
  }
});

test('RangeSet stays fast with many pieces (1-byte writes at alternating offsets)', () => {
  const r = new RangeSet();
  const n = 20_000;
  const started = performance.now();
  // Even offsets first (all separate), then odd ones (each merges two neighbours).
  for (let i = 0; i < n; i += 2) r.add(i, i + 1);
  assert.equal(r.size, n / 2);
  for (let i = 1; i < n; i += 2) {
    assert.equal(r.overlaps(i, i + 1), false);
    r.add(i, i + 1);
  }
  assert.equal(r.size, 1);
  assert.deepEqual(r.first(), [0, n]);
  // Not a timing assert (CI is noisy): a sanity bound 100x above what it takes.
  assert.ok(performance.now() - started < 5000);
});
