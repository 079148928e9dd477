// What a request says about its body: its length, its CRC32 (`x-amz-checksum-crc32`, Node's native zlib.crc32 over
// each buffer in turn, never joined) and the payload hash SigV4 signs. No SHA-256 of upload bodies where TLS already
// protects them: PutObject and UploadPart over HTTPS sign `UNSIGNED-PAYLOAD` (the hash cost about 1 CPU-s per GiB,
// docs/benchmarks.md) and S3 still verifies the CRC32; over plain HTTP the signed hash is the only protection against
// a body changed in transit, so it stays, as does every other request's.

import { crc32 } from 'node:zlib';
import { EMPTY_SHA256, sha256Hex, UNSIGNED_PAYLOAD } from './sigv4.ts';
import type { Body } from './transport.ts';

export function bodyLength(body: Body): number {
  if (body === undefined) return 0;
  if (body instanceof Uint8Array) return body.byteLength;
  let n = 0;
  for (const b of body) n += b.byteLength;
  return n;
}

/** Base64 of the big-endian CRC32 of the body's bytes, as `x-amz-checksum-crc32` wants it. */
export function crc32Base64(body: Body): string {
  let c = 0;
  if (body instanceof Uint8Array) c = crc32(body);
  else if (body !== undefined) for (const b of body) c = crc32(b, c);
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(c >>> 0);
  return out.toString('base64');
}

/** `x-amz-content-sha256` for a request: UNSIGNED-PAYLOAD only for an upload body over HTTPS. */
export function payloadHashFor(uploadBody: boolean, protocol: string, body: Body): string {
  if (uploadBody && protocol === 'https:') return UNSIGNED_PAYLOAD;
  return body === undefined || bodyLength(body) === 0 ? EMPTY_SHA256 : sha256Hex(body);
}
