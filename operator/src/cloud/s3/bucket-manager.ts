// AWS SDK implementation of BucketManager. Works against AWS S3 and S3-compatible servers (MinIO).
import { Agent } from 'node:https';
import {
  DeleteBucketLifecycleCommand,
  DeleteObjectsCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  type LifecycleRule,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  S3Client,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import type { UsageMeasurement } from '../../../../common/src/quota/usage-document.ts';
import { classifyS3Error, isObjectNotFound, S3ManagerError } from './errors.ts';
import { listObjectPages } from './list-pages.ts';
import { type SweepResult, sweepIncompleteUploads, sweepResumeStates } from './multipart-sweeper.ts';
import type { BucketManager, LifecycleRuleScope, LifecycleSettings, PurgeProgress, VersioningState } from './types.ts';
import { type MeasuredUsage, measurePrefixes, pruneStalePodUsage, writeMeasurement } from './usage.ts';

/** Rule ids we own start with this; rules with any other id are never touched. */
export const RULE_ID_PREFIX = 'sftpgate-';
const BATCH = 1000;

// The SDK's send() options reject `abortSignal: undefined` under exactOptionalPropertyTypes.
const opts = (signal: AbortSignal | undefined): { abortSignal?: AbortSignal } =>
  signal ? { abortSignal: signal } : {};

// Endpoints seen to drop AbortIncompleteMultipartUpload from stored rules (MinIO does: it expires stale uploads
// itself). Comparisons for them ignore that action, or every reconcile would rewrite the configuration.
const dropsAbortMpu = new Set<string>();

/** How long a marker seen or written is trusted without asking S3 again (less than the informers' 10-minute resync). */
export const MARKER_TRUST_MS = 5 * 60_000;
/** How long one delimited listing of a server's homes lets ensureMarker skip the HEAD of a home it shows absent. */
export const HOMES_LISTING_MS = 30_000;
/** A parent with more homes than this many listing pages (1,000 each) is not listed: a HEAD per marker instead. */
export const HOMES_LISTING_MAX_PAGES = 10;

/** Marker bookkeeping times (tests shorten them). */
export interface MarkerTiming {
  readonly markerTrustMs?: number;
  readonly homesListingMs?: number;
  readonly now?: () => number;
}

export interface S3Connection {
  readonly bucket: string;
  readonly region: string;
  readonly endpoint?: string | undefined;
  readonly forcePathStyle?: boolean | undefined;
  /** PEM certificates to trust for the endpoint (private S3); absent: the system roots. */
  readonly caBundle?: string | undefined;
  /** Absent: the SDK's default credential chain (workload identity). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  readonly encryption?: { readonly type: 'AES256' | 'aws:kms'; readonly kmsKeyId?: string | undefined } | undefined;
  readonly storageClass?: string | undefined;
}

/** Key prefix of a directory: `a/b` → `a/b/`; '' → '' (the bucket root). */
export function dirKey(dir: string): string {
  return dir === '' ? '' : `${dir.replace(/\/+$/, '')}/`;
}

/** Whether a rule id is one the operator derives (controllers/placement.ts lifecycleRuleId); no other is touched. */
export function isOurRuleId(id: string): boolean {
  return id.startsWith(RULE_ID_PREFIX);
}

/** Our desired rule, or undefined when every action is disabled. Pure. */
export function desiredLifecycleRule(scope: LifecycleRuleScope, s: LifecycleSettings): LifecycleRule | undefined {
  const rule: LifecycleRule = { ID: scope.id, Status: 'Enabled', Filter: { Prefix: dirKey(scope.prefix) } };
  let any = false;
  if (s.abortIncompleteMultipartUploadDays > 0) {
    rule.AbortIncompleteMultipartUpload = { DaysAfterInitiation: s.abortIncompleteMultipartUploadDays };
    any = true;
  }
  if (s.noncurrentVersionExpirationDays > 0) {
    rule.NoncurrentVersionExpiration = { NoncurrentDays: s.noncurrentVersionExpirationDays };
    any = true;
  }
  if (s.expiredObjectDeleteMarker) {
    rule.Expiration = { ExpiredObjectDeleteMarker: true };
    any = true;
  }
  return any ? rule : undefined;
}

/** A comparable projection of a rule (servers echo rules back with extra empty fields or a legacy top-level Prefix). */
function ruleKey(r: LifecycleRule | undefined, ignoreAbortMpu = false): string {
  if (r === undefined) return 'none';
  return JSON.stringify([
    r.ID ?? '',
    r.Status ?? '',
    r.Filter?.Prefix ?? r.Prefix ?? '',
    ignoreAbortMpu ? 0 : (r.AbortIncompleteMultipartUpload?.DaysAfterInitiation ?? 0),
    r.NoncurrentVersionExpiration?.NoncurrentDays ?? 0,
    r.Expiration?.ExpiredObjectDeleteMarker ?? false,
    r.Expiration?.Days ?? 0,
  ]);
}

/**
 * Merges our rule into the bucket's rules: other rules are kept verbatim and in order; ours is replaced in place
 * (or appended, or removed when `ours` is undefined). Returns undefined when nothing would change. Pure.
 */
export function mergeLifecycleRules(
  existing: readonly LifecycleRule[],
  id: string,
  ours: LifecycleRule | undefined,
  ignoreAbortMpu = false,
): LifecycleRule[] | undefined {
  const idx = existing.findIndex((r) => r.ID === id);
  const current = idx >= 0 ? existing[idx] : undefined;
  if (ruleKey(current, ignoreAbortMpu) === ruleKey(ours, ignoreAbortMpu)) return undefined;
  const next = [...existing];
  if (idx >= 0 && ours) next[idx] = ours;
  else if (idx >= 0) next.splice(idx, 1);
  else if (ours) next.push(ours);
  return next;
}

// PutBucketLifecycleConfiguration replaces the whole document: serialise read-modify-write per bucket in this
// process, so two servers sharing a bucket do not overwrite each other's rule. (Several operator replicas never
// reconcile at once: leader election.)
const bucketLocks = new Map<string, Promise<unknown>>();
async function withBucketLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = bucketLocks.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const settled = run.catch(() => undefined);
  bucketLocks.set(key, settled);
  try {
    return await run;
  } finally {
    if (bucketLocks.get(key) === settled) bucketLocks.delete(key);
  }
}

export class S3BucketManager implements BucketManager {
  readonly #client: S3Client;
  readonly #conn: S3Connection;
  /** Markers this manager saw or wrote, and until when they are trusted without a request. */
  readonly #markers = new Map<string, number>();
  /** Per parent prefix: the homes one delimited listing showed (undefined: too many to list), and when it was taken. */
  readonly #homes = new Map<string, { until: number; homes: Promise<Set<string> | undefined> }>();
  readonly #timing: Required<MarkerTiming>;

  constructor(conn: S3Connection, client?: S3Client, timing: MarkerTiming = {}) {
    this.#conn = conn;
    this.#timing = {
      markerTrustMs: MARKER_TRUST_MS,
      homesListingMs: HOMES_LISTING_MS,
      now: () => Date.now(),
      ...timing,
    };
    this.#client =
      client ??
      new S3Client({
        region: conn.region,
        ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
        forcePathStyle: conn.forcePathStyle ?? false,
        ...(conn.credentials ? { credentials: conn.credentials } : {}),
        // The SDK builds its Node handler from these options (NodeHttpHandler.create).
        ...(conn.caBundle ? { requestHandler: { httpsAgent: new Agent({ ca: conn.caBundle }) } } : {}),
        maxAttempts: 3,
      });
  }

  get bucket(): string {
    return this.#conn.bucket;
  }

  destroy(): void {
    this.#client.destroy();
  }

  async #send<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyS3Error(err, `${what} s3://${this.#conn.bucket}`);
    }
  }

  async checkBucket(signal?: AbortSignal): Promise<{ versioning: VersioningState }> {
    const Bucket = this.#conn.bucket;
    await this.#send('HeadBucket', () => this.#client.send(new HeadBucketCommand({ Bucket }), opts(signal)));
    const v = await this.#send('GetBucketVersioning', () =>
      this.#client.send(new GetBucketVersioningCommand({ Bucket }), opts(signal)),
    );
    const versioning: VersioningState =
      v.Status === 'Enabled' ? 'Enabled' : v.Status === 'Suspended' ? 'Suspended' : 'Unversioned';
    return { versioning };
  }

  async #rules(signal?: AbortSignal): Promise<LifecycleRule[]> {
    try {
      const out = await this.#client.send(
        new GetBucketLifecycleConfigurationCommand({ Bucket: this.#conn.bucket }),
        opts(signal),
      );
      return out.Rules ?? [];
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'NoSuchLifecycleConfiguration') return [];
      throw classifyS3Error(err, `GetBucketLifecycleConfiguration s3://${this.#conn.bucket}`);
    }
  }

  async #applyRule(
    scope: LifecycleRuleScope,
    ours: LifecycleRule | undefined,
    signal?: AbortSignal,
  ): Promise<{ changed: boolean }> {
    const Bucket = this.#conn.bucket;
    const id = scope.id;
    // Foreign rules (any id we do not derive) are never replaced or removed, whatever the caller asks.
    if (!isOurRuleId(id) || dirKey(scope.prefix) === '') {
      throw new S3ManagerError('SFTPGATE_S3_FOREIGN_RULE', `refusing to write lifecycle rule ${id}: not ours`, false);
    }
    return withBucketLock(`${this.#conn.endpoint ?? 'aws'}/${Bucket}`, async () => {
      const endpointKey = this.#conn.endpoint ?? 'aws';
      const existing = await this.#rules(signal);
      const next = mergeLifecycleRules(existing, id, ours, dropsAbortMpu.has(endpointKey));
      if (next === undefined) return { changed: false };
      if (next.length === 0) {
        await this.#send('DeleteBucketLifecycle', () =>
          this.#client.send(new DeleteBucketLifecycleCommand({ Bucket }), opts(signal)),
        );
      } else {
        await this.#send('PutBucketLifecycleConfiguration', () =>
          this.#client.send(
            new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules: next } }),
            opts(signal),
          ),
        );
        if (ours?.AbortIncompleteMultipartUpload) {
          const echoed = (await this.#rules(signal)).find((r) => r.ID === id);
          if (echoed && !echoed.AbortIncompleteMultipartUpload) dropsAbortMpu.add(endpointKey);
        }
      }
      return { changed: true };
    });
  }

  async sweepIncompleteUploads(prefix: string, maxAgeMs: number, signal?: AbortSignal): Promise<SweepResult> {
    const opts = signal ? { signal } : {};
    // Interrupted uploads kept for resume first: their state names the upload, so it goes even where S3 cannot list
    // uploads by prefix (MinIO); then every other stale upload under the prefix.
    // A failing state sweep does not stop the upload sweep; its error is reported after it.
    const states = await sweepResumeStates(this.#client, this.#conn.bucket, prefix, maxAgeMs, opts).catch(
      (error: unknown) => ({ error }),
    );
    const uploads = await sweepIncompleteUploads(this.#client, this.#conn.bucket, prefix, maxAgeMs, opts);
    if ('error' in states) throw states.error;
    return { aborted: states.aborted + uploads.aborted, kept: uploads.kept, statesDeleted: states.statesDeleted };
  }

  measureUsage(prefixes: readonly string[], signal?: AbortSignal): Promise<MeasuredUsage> {
    return measurePrefixes(this.#client, this.#conn.bucket, prefixes, signal);
  }

  writeUsage(key: string, doc: UsageMeasurement, signal?: AbortSignal): Promise<void> {
    const enc = this.#conn.encryption;
    const extra = {
      ...(enc ? { ServerSideEncryption: enc.type } : {}),
      ...(enc?.kmsKeyId ? { SSEKMSKeyId: enc.kmsKeyId } : {}),
    };
    return writeMeasurement(this.#client, this.#conn.bucket, key, doc, extra, signal);
  }

  pruneUsage(podsPrefix: string, before: Date, signal?: AbortSignal): Promise<number> {
    return pruneStalePodUsage(this.#client, this.#conn.bucket, podsPrefix, before, signal);
  }

  ensureLifecycle(
    scope: LifecycleRuleScope,
    settings: LifecycleSettings,
    signal?: AbortSignal,
  ): Promise<{ changed: boolean }> {
    return this.#applyRule(scope, desiredLifecycleRule(scope, settings), signal);
  }

  removeLifecycle(scope: LifecycleRuleScope, signal?: AbortSignal): Promise<{ changed: boolean }> {
    return this.#applyRule(scope, undefined, signal);
  }

  /**
   * The zero-byte `<dir>/` marker exists. A marker seen or written is trusted for MARKER_TRUST_MS (no request); after
   * that the next call checks again, so one deleted behind the operator's back is written again by the first pass
   * after the trust ends (the informers' resync requeues every user at least that often). A home that the parent's
   * delimited listing (one per HOMES_LISTING_MS for all homes of a server) shows absent is written without a HEAD:
   * absent there means no key at all under it when the listing ran, and writing an empty marker twice is harmless.
   */
  async ensureMarker(dir: string, signal?: AbortSignal): Promise<{ created: boolean }> {
    const Key = dirKey(dir);
    if (Key === '' || (this.#markers.get(Key) ?? 0) > this.#timing.now()) return { created: false };
    const Bucket = this.#conn.bucket;
    const parent = Key.slice(0, Key.lastIndexOf('/', Key.length - 2) + 1);
    const listed = await this.#homesUnder(parent);
    if (listed === undefined || listed.has(Key)) {
      try {
        await this.#client.send(new HeadObjectCommand({ Bucket, Key }), opts(signal));
        this.#markers.set(Key, this.#timing.now() + this.#timing.markerTrustMs);
        return { created: false };
      } catch (err) {
        if (!isObjectNotFound(err)) throw classifyS3Error(err, `HeadObject s3://${Bucket}/${Key}`);
      }
    }
    const enc = this.#conn.encryption;
    await this.#send(`PutObject ${Key}`, () =>
      this.#client.send(
        new PutObjectCommand({
          Bucket,
          Key,
          Body: new Uint8Array(0),
          ...(enc ? { ServerSideEncryption: enc.type as ServerSideEncryption } : {}),
          ...(enc?.kmsKeyId ? { SSEKMSKeyId: enc.kmsKeyId } : {}),
        }),
        opts(signal),
      ),
    );
    this.#markers.set(Key, this.#timing.now() + this.#timing.markerTrustMs);
    return { created: true };
  }

  /**
   * The homes (`<parent><home>/`) a delimited listing of `parent` shows, shared by every call for HOMES_LISTING_MS;
   * undefined when the parent holds more than HOMES_LISTING_MAX_PAGES pages of them or the listing failed (the caller
   * then asks per marker, as without it). Never given a pass's signal: one aborted pass must not fail the others.
   */
  #homesUnder(parent: string): Promise<Set<string> | undefined> {
    const now = this.#timing.now();
    const hit = this.#homes.get(parent);
    if (hit && hit.until > now) return hit.homes;
    const homes = (async () => {
      const out = new Set<string>();
      let pages = 0;
      for await (const page of listObjectPages(this.#client, this.#conn.bucket, parent, undefined, '/')) {
        for (const p of page.CommonPrefixes ?? []) if (p.Prefix) out.add(p.Prefix);
        if (++pages >= HOMES_LISTING_MAX_PAGES && page.IsTruncated) return undefined;
      }
      return out;
    })().catch(() => {
      this.#homes.delete(parent);
      return undefined;
    });
    this.#homes.set(parent, { until: now + this.#timing.homesListingMs, homes });
    return homes;
  }

  async purge(dir: string, options: { maxBatches?: number; signal?: AbortSignal } = {}): Promise<PurgeProgress> {
    const Prefix = dirKey(dir);
    // An empty prefix would mean the whole bucket, which other servers may share: never.
    if (Prefix === '') {
      throw new S3ManagerError(
        'SFTPGATE_S3_PURGE_FAILED',
        'refusing to purge an empty prefix (the bucket root)',
        false,
      );
    }
    const Bucket = this.#conn.bucket;
    for (const m of this.#markers.keys()) if (m.startsWith(Prefix)) this.#markers.delete(m);
    const maxBatches = options.maxBatches ?? 20;
    const { signal } = options;
    let deleted = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      // Always list from the start: what we deleted is gone, so the first page is the next batch.
      const page = await this.#send(`ListObjectVersions ${Prefix}`, () =>
        this.#client.send(new ListObjectVersionsCommand({ Bucket, Prefix, MaxKeys: BATCH }), opts(signal)),
      );
      const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
        .filter((v) => v.Key !== undefined)
        .map((v) => ({ Key: v.Key as string, ...(v.VersionId ? { VersionId: v.VersionId } : {}) }))
        .slice(0, BATCH);
      if (objects.length === 0) return { deleted, remaining: false };
      const out = await this.#send(`DeleteObjects ${Prefix}`, () =>
        this.#client.send(
          new DeleteObjectsCommand({ Bucket, Delete: { Objects: objects, Quiet: true } }),
          opts(signal),
        ),
      );
      const errors = out.Errors ?? [];
      if (errors.length > 0) {
        const first = errors[0];
        throw new S3ManagerError(
          'SFTPGATE_S3_PURGE_FAILED',
          `DeleteObjects s3://${Bucket}/${Prefix}: ${errors.length} of ${objects.length} failed, first ${first?.Key}: ${first?.Code} ${first?.Message}`,
          true,
        );
      }
      deleted += objects.length;
      if (objects.length < BATCH && !page.IsTruncated) return { deleted, remaining: false };
    }
    return { deleted, remaining: true };
  }
}
