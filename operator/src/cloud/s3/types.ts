import type { UsageMeasurement } from '../../../../common/src/quota/usage-document.ts';
// The operator's view of an S3 bucket: what a reconciler needs, nothing more (Flux-style provider interface).

export type VersioningState = 'Enabled' | 'Suspended' | 'Unversioned';

export interface LifecycleSettings {
  /** 0 disables the action. */
  readonly abortIncompleteMultipartUploadDays: number;
  readonly noncurrentVersionExpirationDays: number;
  readonly expiredObjectDeleteMarker: boolean;
}

/** Our lifecycle rule for one server: an id the operator derives and owns, and the prefix it filters on. */
export interface LifecycleRuleScope {
  readonly id: string;
  readonly prefix: string;
}

export interface PurgeProgress {
  /** Object versions and delete markers removed by this call. */
  readonly deleted: number;
  /** True when the call stopped at its batch budget and more remain. */
  readonly remaining: boolean;
}

export interface BucketManager {
  /** HeadBucket + GetBucketVersioning. Throws S3ManagerError. */
  checkBucket(signal?: AbortSignal): Promise<{ versioning: VersioningState }>;
  /** Ensures our rule `scope.id` (id prefix `sftpgate-`), keeping every other rule. Idempotent; returns whether it wrote. */
  ensureLifecycle(
    scope: LifecycleRuleScope,
    settings: LifecycleSettings,
    signal?: AbortSignal,
  ): Promise<{ changed: boolean }>;
  /** Removes our rule `scope.id`, keeping every other rule. Idempotent. */
  removeLifecycle(scope: LifecycleRuleScope, signal?: AbortSignal): Promise<{ changed: boolean }>;
  /** Ensures a zero-byte directory marker `<dir>/`. HEAD first (once per manager), so a versioned bucket gains no versions. */
  ensureMarker(dir: string, signal?: AbortSignal): Promise<{ created: boolean }>;
  /** Deletes every version and delete marker under `<dir>/`, at most `maxBatches` batches of 1000 per call. */
  purge(dir: string, options?: { maxBatches?: number; signal?: AbortSignal }): Promise<PurgeProgress>;
  /** Aborts multipart uploads under `<prefix>/` open longer than `maxAgeMs` (multipart-sweeper.ts). */
  sweepIncompleteUploads?(
    prefix: string,
    maxAgeMs: number,
    signal?: AbortSignal,
  ): Promise<{ readonly aborted: number; readonly kept: number }>;
  /** Bytes and files of current versions under each prefix (usage.ts). */
  measureUsage?(
    prefixes: readonly string[],
    signal?: AbortSignal,
  ): Promise<{ readonly bytes: number; readonly files: number; readonly requests: number }>;
  /** Writes a user's measurement object for the pods (usage.ts). */
  writeUsage?(key: string, doc: UsageMeasurement, signal?: AbortSignal): Promise<void>;
  /** Deletes pods' usage objects not written since `before` (usage.ts). */
  pruneUsage?(podsPrefix: string, before: Date, signal?: AbortSignal): Promise<number>;
}
