import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { ArrivingBytes } from './byte-chunks.ts';

const bytes = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

test('ArrivingBytes: a Node stream body fills the range; a read is a view, across socket chunks too', async () => {
  const all = bytes(22, 1);
  const a = new ArrivingBytes(22);
  await a.feed(
    Readable.from([all.subarray(0, 10), new Uint8Array(0), all.subarray(10, 15), all.subarray(15)]),
    (e) => e,
  );
  for (let from = 0; from <= 22; from++) {
    for (let to = from; to <= 22; to++)
      assert.deepEqual(Buffer.from(await a.slice(from, to)), Buffer.from(all.subarray(from, to)));
  }
  const first = await a.slice(8, 12);
  assert.equal(first.buffer, (await a.slice(0, 22)).buffer, 'views of one buffer, no copy per read');
  const long = new ArrivingBytes(4);
  await long.feed(Readable.from([bytes(3), bytes(3)]), () => new Error('long body'));
  await assert.rejects(long.slice(0, 4), /long body/);
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
