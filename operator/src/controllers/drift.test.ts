import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSubset, needsApply } from './drift.ts';

describe('isSubset', () => {
  const cases: { name: string; d: unknown; a: unknown; want: boolean }[] = [
    { name: 'equal primitives', d: 1, a: 1, want: true },
    { name: 'different primitives', d: '1', a: 1, want: false },
    { name: 'extra defaulted fields in actual', d: { a: 1 }, a: { a: 1, b: 2 }, want: true },
    { name: 'missing field', d: { a: 1, c: 3 }, a: { a: 1 }, want: false },
    { name: 'arrays element-wise with defaults', d: [{ a: 1 }], a: [{ a: 1, p: 'TCP' }], want: true },
    { name: 'array length differs', d: [1], a: [1, 2], want: false },
    { name: 'undefined in desired is ignored', d: { a: undefined }, a: {}, want: true },
    { name: 'object vs array', d: {}, a: [], want: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(isSubset(c.d, c.a), c.want));
});

describe('needsApply', () => {
  it('absent → apply; NetworkPolicy _from compared as from; status ignored', () => {
    assert.equal(needsApply({ a: 1 }, undefined), true);
    assert.equal(
      needsApply(
        { spec: { ingress: [{ _from: [{ x: 1 }] }] }, status: { z: 1 } },
        { spec: { ingress: [{ from: [{ x: 1 }] }] } },
      ),
      false,
    );
  });
});
