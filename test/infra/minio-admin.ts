// MinIO users with a policy of our choosing, through MinIO's admin API (what `mc admin user add` + `mc admin policy
// create/attach` do), so a component can run under exactly the IAM policy sftpgate generates for it and MinIO
// enforces that policy on every S3 call. No `mc` binary: the three admin calls are SigV4-signed here, and add-user's
// body is sealed the way madmin-go's EncryptData does it (PBKDF2-SHA256 key, sio-go AES-256-GCM stream: one final
// fragment is enough for a few bytes of JSON).

import { createCipheriv, createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Minio } from './minio.ts';

export interface MinioUser {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** One SigV4-signed admin request as the root user; throws with MinIO's answer on a non-2xx status. */
async function adminRequest(
  minio: Minio,
  method: string,
  path: string,
  query: Record<string, string>,
  body: Buffer,
): Promise<void> {
  const url = new URL(minio.endpoint);
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256Hex(body);
  const canonicalQuery = Object.keys(query)
    .sort()
    .map((k) => `${rfc3986(k)}=${rfc3986(query[k] ?? '')}`)
    .join('&');
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-content-sha256': payloadHash,
    'x-amz-date': amzDate,
  };
  const signed = Object.keys(headers).sort();
  // Canonical headers, a blank line, the signed-header names, the payload hash.
  const canonicalRequest = [
    method,
    path,
    canonicalQuery,
    signed.map((h) => `${h}:${headers[h]}`).join('\n'),
    '',
    signed.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${day}/${minio.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${minio.secretAccessKey}`, day), minio.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const res = await fetch(`${minio.endpoint}${path}${canonicalQuery ? `?${canonicalQuery}` : ''}`, {
    method,
    // fetch sets Host itself (to the same value that was signed).
    headers: {
      'x-amz-content-sha256': payloadHash,
      'x-amz-date': amzDate,
      authorization: `AWS4-HMAC-SHA256 Credential=${minio.accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`,
    },
    body: body.length > 0 ? body : null,
  });
  if (!res.ok) throw new Error(`MinIO admin ${method} ${path}: ${res.status} ${await res.text()}`);
}

/** madmin.EncryptData with the PBKDF2/AES-GCM algorithm (id 0x02): salt(32) | id | nonce(8) | sealed stream. */
export function madminEncrypt(password: string, plaintext: Buffer): Buffer {
  const salt = randomBytes(32);
  const key = pbkdf2Sync(password, salt, 8192, 32, 'sha256');
  const nonce8 = randomBytes(8);
  const nonceFor = (seq: number) => {
    const n = Buffer.alloc(12);
    nonce8.copy(n, 0);
    n.writeUInt32LE(seq, 8);
    return n;
  };
  const seal = (seq: number, data: Buffer, aad: Buffer) => {
    const c = createCipheriv('aes-256-gcm', key, nonceFor(seq));
    c.setAAD(aad);
    const out = Buffer.concat([c.update(data), c.final()]);
    return Buffer.concat([out, c.getAuthTag()]);
  };
  // sio-go: the stream's associated data is a flag byte and the tag of sealing nothing (seq 0) with the user's AD.
  const adTag = seal(0, Buffer.alloc(0), Buffer.alloc(0));
  if (plaintext.length > 16_384) throw new Error('madminEncrypt: one fragment (16 KiB) at most');
  const final = seal(1, plaintext, Buffer.concat([Buffer.from([0x80]), adTag]));
  return Buffer.concat([salt, Buffer.from([0x02]), nonce8, final]);
}

/**
 * Creates (or replaces) a MinIO user whose only policy is `policy` (an IAM policy document), as the root user.
 * The user may call S3 as that policy allows and AssumeRole (the session's rights: its policy ∩ the session policy).
 */
export async function createMinioUser(minio: Minio, name: string, policy: unknown): Promise<MinioUser> {
  const user = { accessKeyId: name, secretAccessKey: randomBytes(20).toString('hex') };
  const policyName = `${name}-policy`;
  await adminRequest(
    minio,
    'PUT',
    '/minio/admin/v3/add-canned-policy',
    { name: policyName },
    Buffer.from(JSON.stringify(policy)),
  );
  const userBody = Buffer.from(JSON.stringify({ secretKey: user.secretAccessKey, status: 'enabled' }));
  await adminRequest(
    minio,
    'PUT',
    '/minio/admin/v3/add-user',
    { accessKey: name },
    madminEncrypt(minio.secretAccessKey, userBody),
  );
  await adminRequest(
    minio,
    'PUT',
    '/minio/admin/v3/set-user-or-group-policy',
    { policyName, userOrGroup: name, isGroup: 'false' },
    Buffer.alloc(0),
  );
  return user;
}
