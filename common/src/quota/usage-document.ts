// The quota usage objects the operator and the sftp pods exchange through S3, never through the users table
// (docs/operations.md "Quotas"). Both live under the server's reserved root `<server prefix>/.sftpgate/`, which no
// user's home or logical directory can reach (the path jail refuses the name):
//
//   <server prefix>/.sftpgate/usage/<username>/measured.json     written by the operator after each measurement
//   <server prefix>/.sftpgate/usage/<username>/pods/<pod>.json   written by each pod: its lease and recent commits
//
// Pure: key builders and parsers only. A document that does not parse is treated as absent by both sides.

/** The reserved root under every server prefix (also resumable-upload state); never a user-visible path. */
export const RESERVED_ROOT = '.sftpgate';

const join = (...parts: string[]): string => parts.filter((p) => p !== '').join('/');

/** `<server prefix>/.sftpgate/usage/<username>/` */
export function usagePrefix(serverPrefix: string, username: string): string {
  return `${join(serverPrefix, RESERVED_ROOT, 'usage', username)}/`;
}

export function measurementKey(serverPrefix: string, username: string): string {
  return `${usagePrefix(serverPrefix, username)}measured.json`;
}

export function podsPrefix(serverPrefix: string, username: string): string {
  return `${usagePrefix(serverPrefix, username)}pods/`;
}

export function podUsageKey(serverPrefix: string, username: string, pod: string): string {
  return `${podsPrefix(serverPrefix, username)}${pod}.json`;
}

/** What the operator measured: current object versions under the user's home and logical directories. */
export interface UsageMeasurement {
  readonly version: 1;
  readonly username: string;
  readonly bytes: number;
  /** Objects, not counting directory markers (keys ending in `/`). */
  readonly files: number;
  /** Epoch ms when the listing started: what was stored before this instant is in the counts. */
  readonly startedAt: number;
  /** Epoch ms when the listing ended. */
  readonly measuredAt: number;
}

/** One pod's view for one user: what it stored since recent measurements, and the allowance it holds. */
export interface PodUsage {
  readonly version: 1;
  readonly pod: string;
  readonly username: string;
  /** Epoch ms of this write (the pod's clock). */
  readonly updatedAt: number;
  /** Allowance the pod holds for uploads in flight or about to start; counts as used until it expires. */
  readonly leaseBytes: number;
  readonly leaseFiles: number;
  /** Epoch ms after which readers ignore the lease (the pod renews it while it holds one). */
  readonly leaseExpiresAt: number;
  /** Stored uploads, aggregated per second: [epoch ms, bytes, files]. */
  readonly commits: readonly (readonly [number, number, number])[];
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function object(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function parseMeasurement(text: string): UsageMeasurement | undefined {
  const o = object(text);
  if (o?.['version'] !== 1 || typeof o['username'] !== 'string') return undefined;
  const { bytes, files, startedAt, measuredAt } = o;
  if (!isCount(bytes) || !isCount(files) || !isCount(startedAt) || !isCount(measuredAt)) return undefined;
  return { version: 1, username: o['username'], bytes, files, startedAt, measuredAt };
}

export function parsePodUsage(text: string): PodUsage | undefined {
  const o = object(text);
  if (o?.['version'] !== 1 || typeof o['pod'] !== 'string' || typeof o['username'] !== 'string') return undefined;
  const { updatedAt, leaseBytes, leaseFiles, leaseExpiresAt, commits } = o;
  if (!isCount(updatedAt) || !isCount(leaseBytes) || !isCount(leaseFiles) || !isCount(leaseExpiresAt)) {
    return undefined;
  }
  if (!Array.isArray(commits)) return undefined;
  const parsed: [number, number, number][] = [];
  for (const c of commits) {
    if (!Array.isArray(c) || c.length !== 3) return undefined;
    const [at, bytes, files] = c as unknown[];
    if (!isCount(at) || !isCount(bytes) || !isCount(files)) return undefined;
    parsed.push([at, bytes, files]);
  }
  return {
    version: 1,
    pod: o['pod'],
    username: o['username'],
    updatedAt,
    leaseBytes,
    leaseFiles,
    leaseExpiresAt,
    commits: parsed,
  };
}
