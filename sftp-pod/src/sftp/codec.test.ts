import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { FramingError, PacketDecoder, PacketError, Reader, Writer } from './codec.ts';
import { MAX_MESSAGE_LENGTH, PacketType } from './constants.ts';

function packets(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) =>
    new Writer(PacketType.WRITE)
      .u32(i)
      .bytes(Buffer.from('h'))
      .u64(i)
      .bytes(randomBytes(i * 997))
      .finish(),
  );
}

for (const reuseBuffer of [false, true]) {
  test(`decoder reassembles packets split at every size (reuseBuffer ${reuseBuffer})`, () => {
    const all = packets(40);
    const stream = Buffer.concat(all);
    for (const chunk of [1, 3, 7, 1000, 32768]) {
      const d = new PacketDecoder({ reuseBuffer });
      const got: string[] = [];
      for (let i = 0; i < stream.length; i += chunk) {
        d.push(stream.subarray(i, i + chunk));
        for (let p = d.next(); p; p = d.next())
          got.push(Buffer.concat([Buffer.from([p.type]), p.body]).toString('hex'));
      }
      assert.deepEqual(
        got,
        all.map((b) => b.subarray(4).toString('hex')),
        `chunk ${chunk}`,
      );
      assert.equal(d.bufferedBytes, 0);
    }
  });
}

test('framing errors: zero length and over the limit', () => {
  const zero = new PacketDecoder();
  zero.push(Buffer.alloc(4));
  assert.throws(() => zero.next(), FramingError);
  const big = new PacketDecoder();
  const head = Buffer.alloc(4);
  head.writeUInt32BE(MAX_MESSAGE_LENGTH + 1);
  big.push(head);
  assert.throws(() => big.next(), FramingError);
});

test('reader: bounds, UTF-8, uint64 range, trailing bytes', () => {
  assert.throws(() => new Reader(Buffer.from([0, 0, 0, 9, 1])).bytes(), PacketError);
  assert.throws(() => new Reader(Buffer.from([0, 0, 0, 2, 0xff, 0xfe])).string(), /UTF-8/);
  assert.throws(() => new Reader(Buffer.alloc(8, 0xff)).u64(), /out of range/);
  const r = new Reader(Buffer.from([0, 0, 0, 1, 9]));
  r.u32();
  assert.throws(() => r.end(), /trailing/);
  const a = new Reader(new Writer(1).attrs({ size: 5, permissions: 0o644, atime: 1, mtime: 2 }).finish().subarray(5));
  assert.deepEqual(a.attrs(), { size: 5, permissions: 0o644, atime: 1, mtime: 2 });
});
