// Pure arithmetic of cluster-wide usage (docs/operations.md "Quotas"): what one pod believes a user has stored or
// may store right now, from the operator's last measurement and every pod's published lease and commits.
import type { PodUsage, UsageMeasurement } from '../../../common/src/quota/usage-document.ts';

export interface Limits {
  readonly maxBytes?: number | undefined;
  readonly maxFiles?: number | undefined;
}

export interface Usage {
  readonly bytes: number;
  readonly files: number;
}

/**
 * Commits stamped before `measurement.startedAt - skewMs` are in the measurement; later ones are counted on top (a
 * commit the listing also saw is counted twice until the next measurement: over, never under). Without a
 * measurement every commit counts.
 */
export function cutoff(measurement: UsageMeasurement | undefined, skewMs: number): number {
  return measurement ? measurement.startedAt - skewMs : Number.NEGATIVE_INFINITY;
}

/** A pod's commits at or after the cutoff. */
export function commitsSince(doc: Pick<PodUsage, 'commits'>, since: number): Usage {
  let bytes = 0;
  let files = 0;
  for (const [at, b, f] of doc.commits) {
    if (at < since) continue;
    bytes += b;
    files += f;
  }
  return { bytes, files };
}

/**
 * Used = measured + every pod's commits since the cutoff + every pod's unexpired lease. `pods` includes this pod's own
 * document (built from its live state). A lease whose expiry passed belongs to a pod that stopped renewing it.
 * Without `leases`: what is stored (statvfs), not what pods hold for uploads.
 */
export function usedTotal(
  measurement: UsageMeasurement | undefined,
  pods: readonly PodUsage[],
  now: number,
  skewMs: number,
  leases = true,
): Usage {
  const since = cutoff(measurement, skewMs);
  let bytes = measurement?.bytes ?? 0;
  let files = measurement?.files ?? 0;
  for (const p of pods) {
    const c = commitsSince(p, since);
    bytes += c.bytes;
    files += c.files;
    if (leases && p.leaseExpiresAt > now) {
      bytes += p.leaseBytes;
      files += p.leaseFiles;
    }
  }
  return { bytes, files };
}

/** Whether any limit is set (a user without one is never reserved for, published or read). */
export function hasLimits(limits: Limits): boolean {
  return limits.maxBytes !== undefined || limits.maxFiles !== undefined;
}

/** True when `used` fits the limits (an absent limit is unlimited). */
export function within(used: Usage, limits: Limits): boolean {
  return (
    (limits.maxBytes === undefined || used.bytes <= limits.maxBytes) &&
    (limits.maxFiles === undefined || used.files <= limits.maxFiles)
  );
}

/**
 * How much more than `need` to lease: a quarter of the headroom seen, at most `cap`, nothing without a limit. Far
 * from the limit a pod leases big and spends locally (no S3 request per upload); near it, leases shrink to the need.
 */
export function leaseExtra(limit: number | undefined, used: number, cap: number): number {
  if (limit === undefined) return 0;
  return Math.max(0, Math.min(cap, Math.floor((limit - used) / 4)));
}

/** Adds a commit to a per-second aggregated list, dropping entries before `since`. Pure: returns a new list. */
export function addCommit(
  commits: readonly (readonly [number, number, number])[],
  at: number,
  bytes: number,
  files: number,
  since: number,
): [number, number, number][] {
  const second = Math.floor(at / 1000) * 1000;
  const kept = commits.filter(([t]) => t >= since).map(([t, b, f]) => [t, b, f] as [number, number, number]);
  const last = kept.at(-1);
  if (last && last[0] === second) {
    last[1] += bytes;
    last[2] += files;
  } else {
    kept.push([second, bytes, files]);
  }
  return kept;
}
