import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireBody } from '../../../common/src/s3/wire-get.ts';
import { ArrivingBytes } from './byte-chunks.ts';

const bytes = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

/** A ranged-GET body as the lean S3 client hands it out; `arrive` delivers bytes as the socket would. */
function wireBody(length: number) {
  const body = new WireBody(length, () => undefined);
  const arrive = (c: Uint8Array) => {
    const src = Buffer.from(c);
    body.receive(src, 0, src.length);
  };
  return { body, arrive };
}

test('ArrivingBytes: a ranged-GET body fills the range; a read is a view, across socket chunks too', async () => {
  const all = bytes(22, 1);
  const a = new ArrivingBytes(22);
  const { body, arrive } = wireBody(22);
  const fed = a.feed(body, (e) => e);
  for (const c of [all.subarray(0, 10), new Uint8Array(0), all.subarray(10, 15), all.subarray(15)]) arrive(c);
  await fed;
  for (let from = 0; from <= 22; from++) {
    for (let to = from; to <= 22; to++)
      assert.deepEqual(Buffer.from(await a.slice(from, to)), Buffer.from(all.subarray(from, to)));
  }
  const first = await a.slice(8, 12);
  assert.equal(first.buffer, (await a.slice(0, 22)).buffer, 'views of one buffer, no copy per read');
  const long = new ArrivingBytes(4);
  await long.feed(wireBody(6).body, () => new Error('long body'));
  await assert.rejects(long.slice(0, 4), /long body/);
});

test('ArrivingBytes serves a range as soon as its bytes arrived, and fails readers of bytes that never come', async () => {
  const a = new ArrivingBytes(8);
  const { body, arrive } = wireBody(8);
  const fed = a.feed(body, (err) => err);
  arrive(bytes(4));
  assert.deepEqual(Buffer.from(await a.slice(1, 3)), Buffer.from(bytes(4).subarray(1, 3)), 'before the rest arrived');
  const later = a.slice(2, 8);
  arrive(bytes(4, 5));
  await fed;
  assert.deepEqual(Buffer.from(await later), Buffer.concat([bytes(4).subarray(2), bytes(4, 5)]));

  const short = new ArrivingBytes(10);
  const waiting = short.slice(0, 10);
  const cut = wireBody(10);
  const shortFed = short.feed(cut.body, () => new Error('short body'));
  cut.arrive(bytes(3));
  cut.body.fail(Object.assign(new Error('S3 closed the connection'), { code: 'ECONNRESET' }));
  await shortFed;
  await assert.rejects(waiting, /short body/);
  await assert.rejects(short.slice(5, 6), /short body/);
  assert.deepEqual(Buffer.from(await short.slice(0, 3)), Buffer.from(bytes(3)), 'what arrived stays readable');
  await assert.rejects(new ArrivingBytes(2).slice(0, 3), RangeError);
});
