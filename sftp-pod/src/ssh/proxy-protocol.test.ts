import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProxyHeader, MAX_PROXY_PAYLOAD, ProxyProtocolError, parseProxyHeader } from './proxy-protocol.ts';

test('PROXY v2: IPv4 and IPv6 sources, LOCAL, partial input, trailing bytes untouched', () => {
  const v4 = buildProxyHeader({ address: '203.0.113.7', port: 40000 }, { address: '10.0.0.1', port: 2222 });
  assert.deepEqual(parseProxyHeader(v4), { kind: 'proxy', length: 28, address: '203.0.113.7', port: 40000 });
  assert.equal(parseProxyHeader(v4.subarray(0, 20)), undefined, 'incomplete: wait for more');
  assert.equal(parseProxyHeader(v4.subarray(0, 5)), undefined);
  const withSsh = Buffer.concat([v4, Buffer.from('SSH-2.0-x\r\n')]);
  assert.equal(parseProxyHeader(withSsh)?.length, 28);
  const v6 = buildProxyHeader({ address: '2001:db8::7', port: 1 });
  assert.deepEqual(parseProxyHeader(v6), { kind: 'proxy', length: 52, address: '2001:db8:0:0:0:0:0:7', port: 1 });
  const local = Buffer.from(v4);
  local[12] = 0x20;
  assert.deepEqual(parseProxyHeader(local), { kind: 'local', length: 28 });
});

test('PROXY v2: malformed headers are refused as early as the bytes show it', () => {
  const good = buildProxyHeader({ address: '203.0.113.7', port: 1 });
  const mutate = (at: number, value: number) => {
    const b = Buffer.from(good);
    b[at] = value;
    return b;
  };
  const cases: Array<[string, Buffer]> = [
    ['SSH banner instead of a header', Buffer.from('SSH-2.0-OpenSSH_9.6\r\n')],
    ['PROXY v1 text', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n')],
    ['version 1 in the binary form', mutate(12, 0x11)],
    ['unknown command', mutate(12, 0x22)],
    ['UDP', mutate(13, 0x12)],
    ['unknown family', mutate(13, 0x41)],
    ['IPv6 family with an IPv4-sized block', mutate(13, 0x21)],
  ];
  for (const [name, buf] of cases) assert.throws(() => parseProxyHeader(buf), ProxyProtocolError, name);
  const huge = Buffer.from(good.subarray(0, 16));
  huge.writeUInt16BE(MAX_PROXY_PAYLOAD + 1, 14);
  assert.throws(() => parseProxyHeader(huge), ProxyProtocolError, 'oversized');
});
