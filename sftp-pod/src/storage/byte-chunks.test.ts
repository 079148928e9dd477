import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteChunks, collectChunks } from './byte-chunks.ts';

const bytes = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

test('a range inside one chunk is a view, across chunks a copy of just that range', () => {
  const a = bytes(10, 1);
  const b = bytes(5, 2);
  const c = bytes(7, 3);
  const all = Buffer.concat([a, b, c]);
  const chunks = new ByteChunks([a, new Uint8Array(0), b, c]);
  assert.equal(chunks.length, 22);
  for (let from = 0; from <= 22; from++) {
    for (let to = from; to <= 22; to++) assert.deepEqual(Buffer.from(chunks.slice(from, to)), all.subarray(from, to));
  }
  const view = chunks.slice(2, 8);
  assert.equal(view.buffer, a.buffer, 'no copy inside a chunk');
  assert.equal(chunks.slice(10, 15).buffer, b.buffer);
  assert.throws(() => chunks.slice(5, 23), RangeError);
  assert.throws(() => chunks.slice(-1, 3), RangeError);
});

test('collectChunks keeps the chunks a stream delivered', async () => {
  async function* body() {
    yield bytes(3);
    yield 'xy';
    yield bytes(4, 9);
  }
  const c = await collectChunks(body());
  assert.equal(c.length, 9);
  assert.deepEqual(Buffer.from(c.slice(3, 5)), Buffer.from('xy'));
});
