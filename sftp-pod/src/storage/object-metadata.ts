// The user metadata every stored object carries, in one format for every Storage implementation: `mtime`/`atime`
// (seconds since the epoch with milliseconds, what rclone and s3fs read) and the audit fields `sftpgate-user` and
// `sftpgate-session`.

/** Seconds with millisecond precision, the `mtime` format rclone and s3fs also read. */
export function timeMetadata(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** The inverse of timeMetadata; undefined when absent or unparsable. */
export function parseTime(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = Math.round(Number.parseFloat(v) * 1000);
  return Number.isFinite(ms) ? ms : undefined;
}

/** ASCII only, at most 128 characters: S3 sends user metadata as HTTP headers. */
export function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '_').slice(0, 128);
}

/** The audit metadata of an upload. */
export function auditMetadata(user: string, sessionId: string): Record<string, string> {
  return { 'sftpgate-user': headerSafe(user), 'sftpgate-session': headerSafe(sessionId) };
}

/**
 * The times as object tags: what a multipart upload (whose metadata was fixed at CreateMultipartUpload) and a later
 * SETSTAT store instead of rewriting the object (docs/storage.md "Times and hashes after the first request").
 */
export const MTIME_TAG = 'sftpgate-mtime';
export const ATIME_TAG = 'sftpgate-atime';

export interface ObjectTimes {
  readonly atimeMs: number;
  readonly mtimeMs: number;
}

/** Tag key/value pairs for `t`. */
export function timeTags(t: ObjectTimes): { Key: string; Value: string }[] {
  return [
    { Key: MTIME_TAG, Value: timeMetadata(t.mtimeMs) },
    { Key: ATIME_TAG, Value: timeMetadata(t.atimeMs) },
  ];
}

/** The times among an object's tags (mtime required; atime defaults to it); undefined without a valid mtime tag. */
export function parseTagTimes(
  tags: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined,
): ObjectTimes | undefined {
  const get = (k: string) => tags?.find((t) => t.Key === k)?.Value;
  const mtimeMs = parseTime(get(MTIME_TAG));
  if (mtimeMs === undefined) return undefined;
  return { mtimeMs, atimeMs: parseTime(get(ATIME_TAG)) ?? mtimeMs };
}
