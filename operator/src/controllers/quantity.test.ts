import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quantityToBytes } from './quantity.ts';

describe('quantityToBytes', () => {
  const cases: [number | string | undefined, number | undefined][] = [
    ['8Mi', 8 * 1024 * 1024],
    ['5Gi', 5 * 2 ** 30],
    ['10G', 10e9],
    ['1.5Ki', 1536],
    ['5242880', 5242880],
    [5242880, 5242880],
    [undefined, undefined],
    ['-1', undefined],
    ['8MiB', undefined],
    ['abc', undefined],
    [1.5, undefined],
  ];
  for (const [input, want] of cases) it(String(input), () => assert.equal(quantityToBytes(input), want));
});
