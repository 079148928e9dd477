// Webhook signatures (docs/audit.md "Verifying a delivery"): HMAC-SHA256 with the tenant's key over
// `<timestamp>.<raw body>`, sent as `X-Sftpgate-Signature: v1=<hex>` beside `X-Sftpgate-Timestamp: <unix seconds>`.
// Signing the timestamp lets a receiver refuse replays older than its tolerance; the `v1=` scheme leaves room for a
// second signature during a key rotation. Pure.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const HEADER_SIGNATURE = 'x-sftpgate-signature';
export const HEADER_TIMESTAMP = 'x-sftpgate-timestamp';
export const HEADER_DELIVERY = 'x-sftpgate-delivery';
export const HEADER_EVENT = 'x-sftpgate-event';

/** The hex HMAC-SHA256 of `<timestamp>.<body>`. */
export function signature(key: Uint8Array, timestamp: number, body: string | Uint8Array): string {
  return createHmac('sha256', key).update(`${timestamp}.`).update(body).digest('hex');
}

/** The signature header's value for one attempt. */
export function signatureHeader(key: Uint8Array, timestamp: number, body: string | Uint8Array): string {
  return `v1=${signature(key, timestamp, body)}`;
}

/**
 * The receiver's check (the recipe of docs/audit.md, also used by the tests): any `v1=` signature in the header
 * matches, in constant time, and the timestamp is within `toleranceSeconds` of `nowSeconds`.
 */
export function verifySignature(
  key: Uint8Array,
  header: string | undefined,
  timestampHeader: string | undefined,
  body: string | Uint8Array,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const timestamp = Number(timestampHeader);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const want = Buffer.from(signature(key, timestamp, body), 'hex');
  return (header ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .some((part) => {
      const got = Buffer.from(part.slice(3), 'hex');
      return got.length === want.length && timingSafeEqual(got, want);
    });
}
