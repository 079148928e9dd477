// PROXY protocol v2 (the binary header cloud load balancers put in front of a TCP stream), read only from peers in
// the configured trusted ranges so the defender, CIDR checks and logs see the real client. A trusted peer MUST send
// a header (a balancer configured for it always does); anything malformed closes the connection. Version 1 (text) is
// not accepted. Spec: https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt, section 2.2.
import type { Socket } from 'node:net';
import { ipv6Groups } from './cidr.ts';

export class ProxyProtocolError extends Error {
  readonly code = 'SFTPGATE_PROXY_PROTOCOL';
}

/** The peer closed before sending a byte: a balancer's TCP health check, not a malformed header. */
export class ProxyConnectionClosedError extends ProxyProtocolError {}

const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const FIXED = 16;
/** Address block plus TLVs: balancers send well under this (AWS NLB: ~60 bytes); more is refused as malformed. */
export const MAX_PROXY_PAYLOAD = 1024;

export type ProxyHeader =
  /** LOCAL (health checks from the balancer itself) or an unspecified family: the TCP peer is the client. */
  | { readonly kind: 'local'; readonly length: number }
  | { readonly kind: 'proxy'; readonly length: number; readonly address: string; readonly port: number };

function ipv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/**
 * Parses a v2 header at the start of `buf`. Returns undefined when more bytes are needed; throws ProxyProtocolError
 * for anything that is not a well-formed v2 header (checked as early as the bytes allow).
 */
export function parseProxyHeader(buf: Buffer): ProxyHeader | undefined {
  const sig = buf.subarray(0, Math.min(buf.length, SIGNATURE.length));
  if (!sig.equals(SIGNATURE.subarray(0, sig.length))) throw new ProxyProtocolError('no PROXY v2 signature');
  if (buf.length < FIXED) return undefined;
  const verCmd = buf[12] ?? 0;
  const famProto = buf[13] ?? 0;
  const payload = buf.readUInt16BE(14);
  if (verCmd >> 4 !== 2) throw new ProxyProtocolError(`PROXY version ${verCmd >> 4}`);
  const command = verCmd & 0x0f;
  if (command > 1) throw new ProxyProtocolError(`PROXY command ${command}`);
  if (payload > MAX_PROXY_PAYLOAD) throw new ProxyProtocolError(`PROXY header of ${payload} bytes`);
  if (buf.length < FIXED + payload) return undefined;
  const length = FIXED + payload;
  const family = famProto >> 4;
  const body = buf.subarray(FIXED, length);
  if (command === 0 || family === 0) return { kind: 'local', length };
  if ((famProto & 0x0f) !== 1) throw new ProxyProtocolError('PROXY transport is not STREAM');
  if (family === 1) {
    if (body.length < 12) throw new ProxyProtocolError('PROXY IPv4 block too short');
    return { kind: 'proxy', length, address: [...body.subarray(0, 4)].join('.'), port: body.readUInt16BE(8) };
  }
  if (family === 2) {
    if (body.length < 36) throw new ProxyProtocolError('PROXY IPv6 block too short');
    return { kind: 'proxy', length, address: ipv6(body.subarray(0, 16)), port: body.readUInt16BE(32) };
  }
  throw new ProxyProtocolError(`PROXY address family ${family}`);
}

/** Builds a v2 PROXY header (tests, and the benchmark's balancer stand-in). */
export function buildProxyHeader(source: { address: string; port: number }, dest = { address: '', port: 0 }): Buffer {
  const v6 = source.address.includes(':');
  const block = Buffer.alloc(v6 ? 36 : 12);
  const put = (addr: string, at: number) => {
    if (!addr) return;
    if (v6) {
      (ipv6Groups(addr) ?? []).forEach((g, i) => {
        block.writeUInt16BE(g, at + i * 2);
      });
    } else {
      addr.split('.').forEach((o, i) => {
        block[at + i] = Number(o);
      });
    }
  };
  put(source.address, 0);
  put(dest.address, v6 ? 16 : 4);
  block.writeUInt16BE(source.port, v6 ? 32 : 8);
  block.writeUInt16BE(dest.port, v6 ? 34 : 10);
  const head = Buffer.alloc(FIXED);
  SIGNATURE.copy(head);
  head[12] = 0x21;
  head[13] = v6 ? 0x21 : 0x11;
  head.writeUInt16BE(block.length, 14);
  return Buffer.concat([head, block]);
}

/**
 * Reads the header off `socket` and puts back any bytes behind it. The socket is left paused (the caller resumes it
 * once the SSH layer has attached). Rejects on a malformed header, a close, or no complete header within timeoutMs.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const finish = (err: Error | undefined, header?: ProxyHeader) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (err || !header) {
        reject(err ?? new ProxyProtocolError('no header'));
        return;
      }
      if (buf.length > header.length) socket.unshift(buf.subarray(header.length));
      resolve(header);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        const header = parseProxyHeader(buf);
        if (header) finish(undefined, header);
      } catch (err) {
        finish(err as Error);
      }
    };
    const onClose = () =>
      finish(
        buf.length === 0
          ? new ProxyConnectionClosedError('connection closed before any byte')
          : new ProxyProtocolError('connection closed inside the PROXY header'),
      );
    const timer = setTimeout(() => finish(new ProxyProtocolError('no PROXY header in time')), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}
