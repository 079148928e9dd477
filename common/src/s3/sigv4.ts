// AWS Signature Version 4 for S3, header form (docs/decisions.md "Lean S3 client"). node:crypto's HMAC and SHA-256 do
// the work; the derived signing key is cached per (secret, date, region), so a request costs one SHA-256 of the
// canonical request and one HMAC of the string to sign.

import { createHash, createHmac } from 'node:crypto';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const ALGORITHM = 'AWS4-HMAC-SHA256';

export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

export interface RequestToSign {
  readonly method: string;
  /** The encoded path as sent (uri.ts). */
  readonly path: string;
  /** The canonical (sorted, encoded) query string as sent, without `?`. */
  readonly query: string;
  /** Lower-case names. Every header here is signed; `host` must be present. */
  readonly headers: Record<string, string>;
  /** Hex SHA-256 of the body, or UNSIGNED_PAYLOAD. */
  readonly payloadHash: string;
}

/** `20130524T000000Z` */
export function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');
}

export function sha256Hex(data: string | Uint8Array | readonly Uint8Array[]): string {
  const h = createHash('sha256');
  if (typeof data === 'string' || data instanceof Uint8Array) h.update(data);
  else for (const d of data) h.update(d);
  return h.digest('hex');
}

const keyCache = new Map<string, Buffer>();
const KEY_CACHE_MAX = 1024;

/** kSigning = HMAC chain over date, region, service, "aws4_request"; cached (keys change daily or per credential). */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${date}\0${region}\0${service}\0${secret}`;
  let key = keyCache.get(id);
  if (key === undefined) {
    const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
    const kRegion = createHmac('sha256', kDate).update(region).digest();
    const kService = createHmac('sha256', kRegion).update(service).digest();
    key = createHmac('sha256', kService).update('aws4_request').digest();
    // Bounded: per-login STS credentials each bring a secret; old ones are simply forgotten.
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

/** The canonical request of SigV4 (exported for the test vectors). */
export function canonicalRequest(r: RequestToSign): { canonical: string; signedHeaders: string } {
  const names = Object.keys(r.headers).sort();
  let headerBlock = '';
  for (const n of names) headerBlock += `${n}:${(r.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`;
  const signedHeaders = names.join(';');
  return {
    canonical: `${r.method}\n${r.path}\n${r.query}\n${headerBlock}\n${signedHeaders}\n${r.payloadHash}`,
    signedHeaders,
  };
}

/**
 * Adds `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token` (when the credentials carry one) and
 * `authorization` to `r.headers`, in place. `nowMs` is the signing time.
 */
export function signRequest(
  r: RequestToSign,
  credentials: SigningCredentials,
  region: string,
  nowMs: number,
  service = 's3',
): void {
  const stamp = amzDate(nowMs);
  const date = stamp.slice(0, 8);
  r.headers['x-amz-date'] = stamp;
  r.headers['x-amz-content-sha256'] = r.payloadHash;
  if (credentials.sessionToken) r.headers['x-amz-security-token'] = credentials.sessionToken;
  const { canonical, signedHeaders } = canonicalRequest(r);
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = `${ALGORITHM}\n${stamp}\n${scope}\n${sha256Hex(canonical)}`;
  const signature = createHmac('sha256', signingKey(credentials.secretAccessKey, date, region, service))
    .update(toSign)
    .digest('hex');
  r.headers['authorization'] =
    `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}
