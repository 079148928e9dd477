// UNSIGNED-PAYLOAD over TLS only (common/src/s3/payload.ts), on real MinIO: over HTTPS, PutObject and UploadPart go
// out with `x-amz-content-sha256: UNSIGNED-PAYLOAD` (no SHA-256 of the body) and their CRC32 checksum, and the
// upload succeeds byte for byte; over plain HTTP the body hash is still signed. The integrity the signed hash gave is
// kept by the CRC32: a body altered after the checksum was computed (what a broken proxy or a bit flip would do) is
// refused by S3 and nothing is stored.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Body } from '../../common/src/s3/transport.ts';
import { ByteBudget } from '../../sftp-pod/src/storage/budget.ts';
import { S3Storage } from '../../sftp-pod/src/storage/s3-storage.ts';
import { type Minio, startMinio } from '../infra/index.ts';
import { type LeanS3Client, leanS3 } from './s3-lean.ts';

const MiB = 1024 * 1024;
const BUCKET = 'unsigned';

interface Sent {
  readonly command: string;
  readonly headers: Record<string, string>;
}

/** The pod's client on `m`, recording the headers of every request as signed and sent. */
function recording(m: Minio, sent: Sent[]): LeanS3Client {
  return leanS3(m, undefined, {
    onSend: (command, headers) => {
      sent.push({ command, headers: { ...headers } });
      return undefined;
    },
  });
}

function storage(client: LeanS3Client): S3Storage {
  return new S3Storage({
    client,
    bucket: BUCKET,
    partSize: 5 * MiB,
    uploadConcurrency: 2,
    downloadConcurrency: 2,
    podBudget: new ByteBudget(64 * MiB),
    maxRenameObjects: 10,
  });
}

async function upload(s: S3Storage, key: string, data: Uint8Array): Promise<void> {
  const sink = await s.openWrite(key, { overwrite: false, user: 'alice', sessionId: 's1' });
  for (let off = 0; off < data.length; off += 256 * 1024) await sink.write(off, data.subarray(off, off + 256 * 1024));
  await sink.commit();
}

async function stored(client: S3Client, key: string): Promise<Buffer | undefined> {
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
  } catch {
    return undefined;
  }
}

describe('upload bodies: unsigned over TLS, signed over HTTP', () => {
  let tls: Minio;
  let plain: Minio;
  before(async () => {
    [tls, plain] = await Promise.all([startMinio({ tls: true }), startMinio()]);
    await Promise.all([tls.createBucket(BUCKET), plain.createBucket(BUCKET)]);
  });
  after(async () => {
    await Promise.all([tls?.stop(), plain?.stop()]);
  });

  for (const [name, https] of [
    ['HTTPS', true],
    ['HTTP', false],
  ] as const) {
    test(`${name}: a small and a multipart upload succeed; the body hash is ${https ? 'not ' : ''}signed`, async () => {
      const m = https ? tls : plain;
      assert.equal(m.endpoint.startsWith('https://'), https);
      const client = m.s3();
      const sent: Sent[] = [];
      const s = storage(recording(m, sent));
      const small = randomBytes(4096);
      const big = randomBytes(11 * MiB);
      await upload(s, 'small.bin', small);
      await upload(s, 'big.bin', big);
      assert.ok((await stored(client, 'small.bin'))?.equals(small));
      assert.ok((await stored(client, 'big.bin'))?.equals(big));
      const bodies = sent.filter((r) => r.command === 'PutObject' || r.command === 'UploadPart');
      assert.equal(bodies.length, 4, 'one PutObject, three parts');
      for (const r of bodies) {
        const hash = r.headers['x-amz-content-sha256'];
        if (https) assert.equal(hash, 'UNSIGNED-PAYLOAD', r.command);
        else assert.match(hash ?? '', /^[0-9a-f]{64}$/, `${r.command}: a signed SHA-256 of the body`);
        assert.match(r.headers['x-amz-checksum-crc32'] ?? '', /^[A-Za-z0-9+/]{6}==$/, `${r.command}: CRC32 sent`);
      }
      // Everything else keeps its signed hash (e.g. Complete's XML body, CreateMultipartUpload's empty one).
      const complete = sent.find((r) => r.command === 'CompleteMultipartUpload');
      assert.match(complete?.headers['x-amz-content-sha256'] ?? '', /^[0-9a-f]{64}$/);
    });
  }

  test('attack: over TLS a body altered after its checksum is refused by S3, nothing is stored', async () => {
    const client = tls.s3();
    // Flip one byte of every part after the client computed its CRC32 (and after signing: the hash is unsigned).
    const corrupting = leanS3(tls, undefined, {
      onSend: (op, _headers, body: Body) => {
        if (op !== 'UploadPart' || body === undefined) return undefined;
        const copy = Buffer.concat(body instanceof Uint8Array ? [body] : body);
        copy[0] = (copy[0] ?? 0) ^ 0xff;
        return copy;
      },
    });
    const s = new S3Storage({
      client: corrupting,
      bucket: BUCKET,
      partSize: 5 * MiB,
      uploadConcurrency: 1,
      downloadConcurrency: 1,
      podBudget: new ByteBudget(64 * MiB),
      maxRenameObjects: 10,
    });
    await assert.rejects(upload(s, 'corrupt.bin', randomBytes(6 * MiB)), /UploadPart failed|checksum|digest/i);
    assert.equal(await stored(client, 'corrupt.bin'), undefined);
    const pending = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'corrupt.bin' }));
    assert.equal(pending.Uploads?.length ?? 0, 0, 'the multipart upload was aborted');
  });
});
