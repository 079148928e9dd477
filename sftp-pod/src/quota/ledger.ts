// One user's quota accounting in one pod, shared by all of the user's sessions on it (docs/operations.md "Quotas").
//
// Uploads spend from a LEASE: an allowance this pod published in its own usage object before using it. Getting or
// growing a lease is "publish, then check": the pod writes its larger lease, then re-reads the measurement and every
// other pod's object and keeps the lease only if the total still fits the quota. S3 is strongly consistent, so of two
// pods racing for the last bytes the later reader sees both leases: both may be refused, never both granted beyond
// the limit. Spending within a lease is local (no S3 request), so small uploads cost nothing but a cached read.
import { randomInt } from 'node:crypto';
import type { PodUsage, UsageMeasurement } from '../../../common/src/quota/usage-document.ts';
import { StorageError, StorageErrorCode } from '../storage/errors.ts';
import { addCommit, cutoff, type Limits, leaseExtra, type Usage, usedTotal, within } from './usage-math.ts';

/** S3 side of the ledger (s3-usage-store.ts); a fake in unit tests. */
export interface UsageStore {
  /** The operator's measurement; `fresh` bypasses the cache (a conditional GET either way). */
  measurement(fresh: boolean, signal?: AbortSignal): Promise<UsageMeasurement | undefined>;
  /** Every other pod's document; `fresh` re-lists. */
  peers(fresh: boolean, signal?: AbortSignal): Promise<PodUsage[]>;
  publish(doc: PodUsage, signal?: AbortSignal): Promise<void>;
}

export interface LedgerOptions {
  readonly pod: string;
  readonly username: string;
  readonly store: UsageStore;
  /** Read on every decision: a users-table change applies to live sessions. */
  readonly limits: () => Limits;
  readonly now?: () => number;
  /** Readers ignore a lease this long after its last renewal. Default 120 s. */
  readonly leaseTtlMs?: number;
  /** Tolerated clock difference between the operator and the pods (NTP-synchronised nodes). Default 2 s. */
  readonly skewMs?: number;
  /** The largest lease taken beyond the need. Default 256 MiB and 256 files. */
  readonly maxExtraBytes?: number;
  readonly maxExtraFiles?: number;
  /** A lease unused this long is given back. Default 10 s. */
  readonly idleMs?: number;
}

export class QuotaExceededError extends StorageError {
  constructor(message: string) {
    super(StorageErrorCode.QuotaExceeded, message);
  }
}

const MiB = 1024 * 1024;

export class QuotaLedger {
  readonly #o: LedgerOptions;
  readonly #now: () => number;
  readonly #ttl: number;
  readonly #skew: number;
  #leaseBytes = 0;
  #leaseFiles = 0;
  #spentBytes = 0;
  #spentFiles = 0;
  /** When the current lease was last published successfully (0: never). */
  #publishedAt = 0;
  #commits: [number, number, number][] = [];
  #measurement: UsageMeasurement | undefined;
  /** Serialises lease changes and publishes. */
  #chain: Promise<unknown> = Promise.resolve();
  #renewTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #publishTimer: NodeJS.Timeout | undefined;
  /** The prompt publish queued and not yet started (shared by the releases that come before it starts). */
  #prompt: Promise<void> | undefined;
  #closed = false;

  constructor(o: LedgerOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#ttl = o.leaseTtlMs ?? 120_000;
    this.#skew = o.skewMs ?? 2_000;
  }

  get limits(): Limits {
    return this.#o.limits();
  }

  /** This pod's document as others will read it. */
  ownDocument(): PodUsage {
    const now = this.#now();
    return {
      version: 1,
      pod: this.#o.pod,
      username: this.#o.username,
      updatedAt: now,
      leaseBytes: this.#leaseBytes,
      leaseFiles: this.#leaseFiles,
      leaseExpiresAt: this.#leaseBytes + this.#leaseFiles > 0 ? now + this.#ttl : 0,
      commits: this.#commits,
    };
  }

  /**
   * Reserves room for `bytes` more bytes and `files` more files for an upload. Local when the lease covers it;
   * otherwise grows the lease (publish, then check). Throws QuotaExceededError, or StorageError UNAVAILABLE when S3
   * cannot be asked (an unknown usage refuses: a quota that cannot be checked is not waived).
   */
  async reserve(bytes: number, files: number, signal?: AbortSignal): Promise<void> {
    if (this.#fitsLease(bytes, files)) {
      this.#spend(bytes, files);
      return;
    }
    await this.#serial(async () => {
      if (this.#fitsLease(bytes, files)) {
        this.#spend(bytes, files);
        return;
      }
      await this.#grow(bytes, files, signal);
      this.#spend(bytes, files);
    });
  }

  /**
   * An upload ended without storing (refused, aborted, failed): its reservation leaves the lease too, published
   * promptly, so the room it held is free for every pod at once (a refused upload would otherwise keep the last bytes
   * of the quota leased until the idle release).
   */
  release(bytes: number, files: number): Promise<void> {
    this.#spentBytes = Math.max(0, this.#spentBytes - bytes);
    this.#spentFiles = Math.max(0, this.#spentFiles - files);
    // Nothing else in flight here: the whole lease goes (aborts are rare; near the limit they are the refusals).
    const idle = this.#spentBytes + this.#spentFiles === 0;
    this.#leaseBytes = idle ? 0 : Math.max(this.#spentBytes, this.#leaseBytes - bytes);
    this.#leaseFiles = idle ? 0 : Math.max(this.#spentFiles, this.#leaseFiles - files);
    this.#armIdle();
    return bytes + files > 0 ? this.#publishPromptly() : Promise.resolve();
  }

  /**
   * An upload was stored: `stored` moves from the lease into this pod's commits (the total others see does not
   * change), the rest of the reservation returns to the lease. Published promptly, off the upload's path.
   */
  commit(reserved: Usage, stored: Usage): void {
    this.#spentBytes = Math.max(0, this.#spentBytes - reserved.bytes);
    this.#spentFiles = Math.max(0, this.#spentFiles - reserved.files);
    this.#leaseBytes = Math.max(0, this.#leaseBytes - stored.bytes);
    this.#leaseFiles = Math.max(0, this.#leaseFiles - stored.files);
    this.#commits = addCommit(
      this.#commits,
      this.#now(),
      stored.bytes,
      stored.files,
      cutoff(this.#measurement, this.#skew),
    );
    this.#schedulePublish(200);
    this.#armIdle();
  }

  /**
   * What statvfs reports: bytes and files stored cluster-wide (the measurement plus every pod's commits since), from
   * reads at most a few seconds old. Leases are room held for uploads, not use, and are left out.
   */
  async usage(signal?: AbortSignal): Promise<Usage> {
    const [measurement, peers] = await Promise.all([
      this.#o.store.measurement(false, signal),
      this.#o.store.peers(false, signal),
    ]);
    this.#measurement = measurement;
    return usedTotal(measurement, [...peers, this.ownDocument()], this.#now(), this.#skew, false);
  }

  /** Stops timers and gives the lease back (best effort). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of [this.#renewTimer, this.#idleTimer, this.#publishTimer]) if (t) clearTimeout(t);
    this.#leaseBytes = this.#spentBytes;
    this.#leaseFiles = this.#spentFiles;
    await this.#serial(() => this.#publish()).catch(() => undefined);
  }

  #fitsLease(bytes: number, files: number): boolean {
    const limits = this.limits;
    if (limits.maxBytes === undefined && limits.maxFiles === undefined) return true;
    // A lease whose renewal failed for too long may be ignored by other pods: do not spend from it.
    const valid = this.#publishedAt > 0 && this.#now() < this.#publishedAt + this.#ttl / 2;
    const bytesOk = limits.maxBytes === undefined || this.#spentBytes + bytes <= this.#leaseBytes;
    const filesOk = limits.maxFiles === undefined || this.#spentFiles + files <= this.#leaseFiles;
    return valid && bytesOk && filesOk;
  }

  #spend(bytes: number, files: number): void {
    this.#spentBytes += bytes;
    this.#spentFiles += files;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  async #grow(bytes: number, files: number, signal?: AbortSignal): Promise<void> {
    const limits = this.limits;
    const needBytes = limits.maxBytes === undefined ? 0 : Math.max(0, this.#spentBytes + bytes - this.#leaseBytes);
    const needFiles = limits.maxFiles === undefined ? 0 : Math.max(0, this.#spentFiles + files - this.#leaseFiles);
    // Size the extra from the cached view; the decision itself is made on fresh reads.
    const seen = await this.#total(false, signal);
    const extraBytes = leaseExtra(limits.maxBytes, seen.bytes + needBytes, this.#o.maxExtraBytes ?? 256 * MiB);
    const extraFiles = leaseExtra(limits.maxFiles, seen.files + needFiles, this.#o.maxExtraFiles ?? 256);
    // With room to spare, lease more than the need; refused, ask for the need alone; refused again (two pods may
    // refuse each other), once more after a random pause.
    const attempts = [
      ...(extraBytes + extraFiles > 0 ? [{ addBytes: needBytes + extraBytes, addFiles: needFiles + extraFiles }] : []),
      { addBytes: needBytes, addFiles: needFiles },
      { addBytes: needBytes, addFiles: needFiles, pause: true },
    ];
    let used: Usage = seen;
    for (const { addBytes, addFiles, pause } of attempts) {
      if (pause) await sleep(50 + randomInt(150), signal);
      this.#leaseBytes += addBytes;
      this.#leaseFiles += addFiles;
      try {
        await this.#publish(signal);
        used = await this.#total(true, signal);
      } catch (err) {
        this.#leaseBytes -= addBytes;
        this.#leaseFiles -= addFiles;
        // The lease may have reached S3 before the failure (the session aborted between the publish and the read):
        // publish the retraction too, or other pods would count it until it expires.
        void this.#publishPromptly();
        throw unavailable(err);
      }
      if (within(used, limits)) {
        this.#armRenew();
        return;
      }
      this.#leaseBytes -= addBytes;
      this.#leaseFiles -= addFiles;
      used = { bytes: used.bytes - addBytes, files: used.files - addFiles };
    }
    // Give the refused lease back; if this request's signal cuts that short, right after it without the signal.
    await this.#publish(signal).catch(() => void this.#publishPromptly());
    throw new QuotaExceededError(refusal(limits, used, needBytes, needFiles));
  }

  async #total(fresh: boolean, signal?: AbortSignal): Promise<Usage> {
    const [measurement, peers] = await Promise.all([
      this.#o.store.measurement(fresh, signal),
      this.#o.store.peers(fresh, signal),
    ]);
    if (!measurement) {
      throw new StorageError(
        StorageErrorCode.Unavailable,
        "quota: this user's usage has not been measured yet; try again in a minute",
      );
    }
    this.#measurement = measurement;
    return usedTotal(measurement, [...peers, this.ownDocument()], this.#now(), this.#skew);
  }

  async #publish(signal?: AbortSignal): Promise<void> {
    await this.#o.store.publish(this.ownDocument(), signal);
    this.#publishedAt = this.#now();
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn, fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Publishes the lease as it is when the publish starts, queued behind the operation in progress and without any
   * request's signal; changes made before it starts share it. Resolves when it is in S3 (or failed and was
   * rescheduled): never rejects.
   */
  #publishPromptly(): Promise<void> {
    if (this.#prompt) return this.#prompt;
    const run = this.#serial(async () => {
      this.#prompt = undefined;
      await this.#publish();
    }).catch(() => this.#schedulePublish(5_000));
    this.#prompt = run;
    return run;
  }

  #schedulePublish(delayMs: number): void {
    if (this.#publishTimer || this.#closed) return;
    this.#publishTimer = setTimeout(() => {
      this.#publishTimer = undefined;
      void this.#serial(() => this.#publish()).catch(() => this.#schedulePublish(5_000));
    }, delayMs);
    this.#publishTimer.unref();
  }

  /** While a lease is held, renew it before readers would ignore it. */
  #armRenew(): void {
    if (this.#renewTimer || this.#closed) return;
    this.#renewTimer = setTimeout(() => {
      this.#renewTimer = undefined;
      if (this.#leaseBytes + this.#leaseFiles === 0) return;
      void this.#serial(() => this.#publish()).catch(() => undefined);
      this.#armRenew();
    }, this.#ttl / 4);
    this.#renewTimer.unref();
  }

  /** Nothing in flight for a while: give the unspent lease back so other pods can use the room. */
  #armIdle(): void {
    if (this.#spentBytes + this.#spentFiles > 0 || this.#closed) return;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#spentBytes + this.#spentFiles > 0) return;
      if (this.#leaseBytes + this.#leaseFiles === 0) return;
      this.#leaseBytes = 0;
      this.#leaseFiles = 0;
      void this.#serial(() => this.#publish()).catch(() => undefined);
    }, this.#o.idleMs ?? 10_000);
    this.#idleTimer.unref();
  }
}

function refusal(limits: Limits, used: Usage, needBytes: number, needFiles: number): string {
  if (limits.maxFiles !== undefined && needFiles > 0 && used.files > limits.maxFiles) {
    return `quota exceeded: the file limit (${limits.maxFiles} files) is reached`;
  }
  return `quota exceeded: ${used.bytes} of ${limits.maxBytes} bytes are stored or reserved, this upload needs ${needBytes} more; nothing was stored`;
}

function unavailable(err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  return new StorageError(StorageErrorCode.Unavailable, 'quota: usage could not be read or written', { cause: err });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new StorageError(StorageErrorCode.Aborted, 'aborted'));
      },
      { once: true },
    );
  });
}
