import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArrivingBytes, ByteChunks } from './byte-chunks.ts';

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

test('ArrivingBytes serves a range as soon as its bytes arrived, and fails readers of bytes that never come', async () => {
  const { promise: more, resolve: release } = Promise.withResolvers<void>();
  async function* body() {
    yield bytes(4);
    await more;
    yield bytes(4, 5);
  }
  const a = new ArrivingBytes(8);
  const fed = a.feed(body(), (err) => err);
  assert.deepEqual(Buffer.from(await a.slice(1, 3)), Buffer.from(bytes(4).subarray(1, 3)), 'before the rest arrived');
  const later = a.slice(2, 8);
  release();
  await fed;
  assert.deepEqual(Buffer.from(await later), Buffer.concat([bytes(4).subarray(2), bytes(4, 5)]));

  const short = new ArrivingBytes(10);
  const waiting = short.slice(0, 10);
  await short.feed(
    (async function* () {
      yield bytes(3);
    })(),
    () => new Error('short body'),
  );
  await assert.rejects(waiting, /short body/);
  await assert.rejects(short.slice(5, 6), /short body/);
  assert.deepEqual(Buffer.from(await short.slice(0, 3)), Buffer.from(bytes(3)), 'what arrived stays readable');
  await assert.rejects(new ArrivingBytes(2).slice(0, 3), RangeError);
});
