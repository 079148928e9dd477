// Hashes of an upload computed while it streams (SHA-256 always, MD5 with --upload-md5), and their stored form under
// the names `sftpgate-sha256` / `sftpgate-md5`: user metadata when the hash is known before the object's first request
// (a single PutObject), object tags when it is known only after CompleteMultipartUpload (docs/audit.md "Hashes",
// docs/decisions.md). Parts are sealed strictly in order (part-assembler.ts), so hashing each sealed part before it
// is sent is hashing the file.
import { createHash, type Hash } from 'node:crypto';
import type { Tag } from '../../../common/src/s3/types.ts';
import type { UploadDigests } from './types.ts';

export const SHA256_TAG = 'sftpgate-sha256';
export const MD5_TAG = 'sftpgate-md5';

/** Incremental SHA-256 (and optionally MD5) of the bytes given in order. */
export class UploadHasher {
  readonly #sha256: Hash = createHash('sha256');
  readonly #md5: Hash | undefined;
  #digests: UploadDigests | undefined;

  constructor(md5: boolean) {
    this.#md5 = md5 ? createHash('md5') : undefined;
  }

  update(bytes: Uint8Array): void {
    if (this.#digests) throw new Error('upload hash already finished');
    this.#sha256.update(bytes);
    this.#md5?.update(bytes);
  }

  /** Finishes the hashes; idempotent. */
  digests(): UploadDigests {
    this.#digests ??= {
      sha256: this.#sha256.digest('hex'),
      ...(this.#md5 ? { md5: this.#md5.digest('hex') } : {}),
    };
    return this.#digests;
  }
}

/** The object tags that store `d`. */
export function digestTags(d: UploadDigests): Tag[] {
  return [{ Key: SHA256_TAG, Value: d.sha256 }, ...(d.md5 ? [{ Key: MD5_TAG, Value: d.md5 }] : [])];
}

/** The same names and values as user metadata (a PutObject's, known before its request). */
export function digestMetadata(d: UploadDigests): Record<string, string> {
  return Object.fromEntries(digestTags(d).map((t) => [t.Key ?? '', t.Value ?? '']));
}

const HEX = { sha256: /^[0-9a-f]{64}$/, md5: /^[0-9a-f]{32}$/ } as const;

/** The stored digests among an object's tags; undefined without a well-formed SHA-256 tag. */
export function parseDigestTags(tags: readonly Tag[] | undefined): UploadDigests | undefined {
  return parseDigests((k) => tags?.find((t) => t.Key === k)?.Value);
}

/** The stored digests in an object's user metadata (HeadObject `Metadata`, lower-case names). */
export function parseDigestMetadata(metadata: Readonly<Record<string, string>> | undefined): UploadDigests | undefined {
  return parseDigests((k) => metadata?.[k]);
}

function parseDigests(get: (name: string) => string | undefined): UploadDigests | undefined {
  const sha256 = get(SHA256_TAG);
  if (sha256 === undefined || !HEX.sha256.test(sha256)) return undefined;
  const md5 = get(MD5_TAG);
  return { sha256, ...(md5 !== undefined && HEX.md5.test(md5) ? { md5 } : {}) };
}
