import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_OBJECT_BYTES,
  MAX_PART_BYTES,
  MAX_PARTS,
  MIN_PART_BYTES,
  partAt,
  partSize,
  partStart,
} from './part-size.ts';

const MiB = 1024 * 1024;

for (const base of [MIN_PART_BYTES, 8 * MiB, 64 * MiB]) {
  test(`10,000 parts of base ${base / MiB} MiB cover 5 TiB, each part within S3 limits`, () => {
    let total = 0;
    for (let n = 1; n <= MAX_PARTS; n++) {
      const size = partSize(base, n);
      assert.ok(size >= MIN_PART_BYTES && size <= MAX_PART_BYTES);
      assert.equal(partStart(base, n), total, `start of part ${n}`);
      total += size;
    }
    assert.ok(total >= MAX_OBJECT_BYTES, `${total} < 5 TiB`);
  });

  test(`partAt inverts partStart for base ${base / MiB} MiB`, () => {
    for (const n of [1, 2, 899, 900, 901, 1800, 1801, 5000, 9999, MAX_PARTS]) {
      const start = partStart(base, n);
      assert.equal(partAt(base, start), n);
      assert.equal(partAt(base, start + partSize(base, n) - 1), n);
      if (n > 1) assert.equal(partAt(base, start - 1), n - 1);
    }
  });
}

test('the part size doubles every 900 parts', () => {
  assert.equal(partSize(8 * MiB, 1), 8 * MiB);
  assert.equal(partSize(8 * MiB, 900), 8 * MiB);
  assert.equal(partSize(8 * MiB, 901), 16 * MiB);
  assert.equal(partSize(8 * MiB, 9001), MAX_PART_BYTES);
  assert.throws(() => partSize(8 * MiB, 0), RangeError);
  assert.throws(() => partSize(8 * MiB, MAX_PARTS + 1), RangeError);
});

test('an offset past 10,000 parts maps beyond MAX_PARTS', () => {
  assert.equal(partAt(MIN_PART_BYTES, 6 * 1024 ** 4 * 4), MAX_PARTS + 1);
});
