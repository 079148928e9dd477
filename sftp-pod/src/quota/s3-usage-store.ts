// The ledger's S3 side (ledger.ts): the operator's measurement and the other pods' usage objects under
// `<server prefix>/.sftpgate/usage/<user>/`, read with conditional GETs and cached for `cacheTtlMs`, and this pod's
// own object written whole (PutObject). Costs: a cached read is free; a fresh read is one GetObject (304 when
// unchanged) + one ListObjectsV2 + one GetObject per other pod whose object changed; a publish is one PutObject.

import {
  measurementKey,
  type PodUsage,
  parseMeasurement,
  parsePodUsage,
  podsPrefix,
  podUsageKey,
  type UsageMeasurement,
} from '../../../common/src/quota/usage-document.ts';
import type { S3Client } from '../../../common/src/s3/client.ts';
import { readText } from '../../../common/src/s3/transport.ts';
import type { ListObjectsV2Output } from '../../../common/src/s3/types.ts';
import type { UsageStore } from './ledger.ts';

export interface S3UsageStoreOptions {
  /** The client of the user's latest login (STS/AWS: its session policy allows exactly these keys). */
  readonly client: () => S3Client;
  readonly bucket: string;
  readonly serverPrefix: string;
  readonly username: string;
  readonly pod: string;
  /** Server-side encryption of the pod's own object, as every other write of the pod (docs/storage.md). */
  readonly sse?: { readonly ServerSideEncryption: 'AES256' | 'aws:kms'; readonly SSEKMSKeyId?: string } | undefined;
  /** How long a read answers from the cache. Default 2 s. */
  readonly cacheTtlMs?: number;
  readonly now?: () => number;
}

interface Cached<T> {
  value: T;
  etag: string | undefined;
  at: number;
}

const opts = (signal: AbortSignal | undefined) => (signal ? { abortSignal: signal } : {});

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export class S3UsageStore implements UsageStore {
  readonly #o: S3UsageStoreOptions;
  readonly #ttl: number;
  readonly #now: () => number;
  #measurement: Cached<UsageMeasurement | undefined> | undefined;
  #peers: Cached<PodUsage[]> | undefined;
  /** Peer documents by key with the ETag they were read at. */
  readonly #peerDocs = new Map<string, { etag: string | undefined; doc: PodUsage | undefined }>();

  constructor(o: S3UsageStoreOptions) {
    this.#o = o;
    this.#ttl = o.cacheTtlMs ?? 2_000;
    this.#now = o.now ?? Date.now;
  }

  async measurement(fresh: boolean, signal?: AbortSignal): Promise<UsageMeasurement | undefined> {
    const cached = this.#measurement;
    if (cached && !fresh && this.#now() - cached.at < this.#ttl) return cached.value;
    const key = measurementKey(this.#o.serverPrefix, this.#o.username);
    try {
      const out = await this.#o.client().getObject(
        {
          Bucket: this.#o.bucket,
          Key: key,
          ...(cached?.etag ? { IfNoneMatch: cached.etag } : {}),
        },
        opts(signal),
      );
      const text = await readText(out.Body);
      const value = parseMeasurement(text);
      const measured = value && value.username === this.#o.username ? value : undefined;
      this.#measurement = { value: measured, etag: out.ETag, at: this.#now() };
    } catch (err) {
      const code = status(err);
      if (code === 304 && cached) this.#measurement = { ...cached, at: this.#now() };
      else if (code === 404) this.#measurement = { value: undefined, etag: undefined, at: this.#now() };
      else throw err;
    }
    return this.#measurement?.value;
  }

  async peers(fresh: boolean, signal?: AbortSignal): Promise<PodUsage[]> {
    const cached = this.#peers;
    if (cached && !fresh && this.#now() - cached.at < this.#ttl) return cached.value;
    const own = podUsageKey(this.#o.serverPrefix, this.#o.username, this.#o.pod);
    const listed = new Map<string, string | undefined>();
    let token: string | undefined;
    do {
      const page: ListObjectsV2Output = await this.#o.client().listObjectsV2(
        {
          Bucket: this.#o.bucket,
          Prefix: podsPrefix(this.#o.serverPrefix, this.#o.username),
          ...(token ? { ContinuationToken: token } : {}),
        },
        opts(signal),
      );
      for (const o of page.Contents ?? []) if (o.Key && o.Key !== own) listed.set(o.Key, o.ETag);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    for (const key of this.#peerDocs.keys()) if (!listed.has(key)) this.#peerDocs.delete(key);
    await Promise.all(
      [...listed].map(async ([key, etag]) => {
        if (this.#peerDocs.get(key)?.etag === etag && etag !== undefined) return;
        try {
          const out = await this.#o.client().getObject({ Bucket: this.#o.bucket, Key: key }, opts(signal));
          const doc = parsePodUsage(await readText(out.Body));
          this.#peerDocs.set(key, { etag: out.ETag, doc: doc?.username === this.#o.username ? doc : undefined });
        } catch (err) {
          if (status(err) === 404) this.#peerDocs.delete(key);
          else throw err;
        }
      }),
    );
    const value = [...this.#peerDocs.values()].flatMap((p) => (p.doc ? [p.doc] : []));
    this.#peers = { value, etag: undefined, at: this.#now() };
    return value;
  }

  async publish(doc: PodUsage, signal?: AbortSignal): Promise<void> {
    await this.#o.client().putObject(
      {
        Bucket: this.#o.bucket,
        Key: podUsageKey(this.#o.serverPrefix, this.#o.username, this.#o.pod),
        Body: Buffer.from(JSON.stringify(doc)),
        ContentType: 'application/json',
        ...this.#o.sse,
      },
      opts(signal),
    );
  }
}
