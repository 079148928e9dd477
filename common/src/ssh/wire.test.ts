import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sshMpint, sshString, sshUint32, WireError, WireReader } from './wire.ts';

describe('WireReader', () => {
  it('reads what the encoders write', () => {
    const u64 = Buffer.alloc(8);
    u64.writeBigUInt64BE(2n ** 40n);
    const buf = Buffer.concat([
      Buffer.from([7]),
      sshUint32(42),
      u64,
      sshString('héllo'),
      sshMpint(Buffer.from([0x80])),
    ]);
    const r = new WireReader(buf);
    assert.equal(r.u8(), 7);
    assert.equal(r.u32(), 42);
    assert.equal(r.u64(), 2 ** 40);
    assert.equal(r.string(), 'héllo');
    assert.deepEqual([...r.bytes()], [0, 0x80], 'mpint with the top bit set gains a zero byte');
    r.end();
  });

  const truncated: [string, Buffer, (r: WireReader) => unknown][] = [
    ['a uint32 with 3 bytes', Buffer.alloc(3), (r) => r.u32()],
    ['a string longer than the buffer', Buffer.concat([sshUint32(10), Buffer.alloc(4)]), (r) => r.bytes()],
    ['a string length of 2^32-1', sshUint32(0xffffffff), (r) => r.string()],
    ['a uint64 beyond 2^53', Buffer.alloc(8, 0xff), (r) => r.u64()],
    ['trailing bytes', Buffer.alloc(1), (r) => r.end()],
    ['invalid UTF-8', sshString(Buffer.from([0xc3, 0x28])), (r) => r.string()],
  ];
  for (const [name, buf, read] of truncated) {
    it(`refuses ${name}`, () => {
      assert.throws(() => read(new WireReader(buf)), WireError);
    });
  }

  it('throws the error class its caller chooses', () => {
    class PacketError extends Error {}
    assert.throws(() => new WireReader(Buffer.alloc(0), (m) => new PacketError(m)).u8(), PacketError);
  });
});
