// "What has this name?" in ONE listing, for OPEN-for-write and MKDIR: ListObjectsV2 `prefix=key delimiter=/` returns
// the object `key` itself (if any) and the common prefix `key/` (a directory) in one page, because every name between
// them is `key` followed by a character below `/` (`key.txt`, `key-1`, `key 2`), and those are few. Only when that
// first page is truncated before reaching `key/` does a second listing (`prefix=key/ max-keys=1`) decide the
// directory. Needs only s3:ListBucket (an upload-only or mkdir-only session policy has no s3:GetObject).
//
// An OPEN that may replace a file (overwrite permitted, no append, no resume) does not need to know whether a file
// has the name, only whether a directory has it: probeDirectory asks just that (`prefix=key/ max-keys=1`), which costs
// the store the same however many siblings the name has. The name listing above makes MinIO read the whole parent
// directory: at 2,000 siblings it cost MinIO ~3.2 CPU-ms against ~2.1 for the directory listing or a HeadObject
// (docs/benchmarks.md, "Small files, session 18").
//
// Known store difference: the test bed's MinIO omits the common prefix `key/` from such a listing when an object
// `key` also exists (a file and a directory with one name, possible only through another tool). The file is then
// what the probe reports, which is also what `stat` reports for that name.

import type { S3Context } from './s3-context.ts';
import { dirProbe } from './s3-probe.ts';

/** Entries asked for in the one listing: enough for the usual siblings that sort between `key` and `key/`. */
const PROBE_PAGE = 100;

export interface NameProbe {
  /** The object `key` exists (a file). */
  readonly file: boolean;
  /** Something lies below `key/` (a directory: a marker or any key). */
  readonly directory: boolean;
}

/** One ListObjectsV2 (two only in the rare case above). Throws StorageError. */
export async function probeName(ctx: S3Context, key: string, what: string, signal?: AbortSignal): Promise<NameProbe> {
  const dirPrefix = `${key}/`;
  const out = await ctx.send('ListObjectsV2', what, signal, (o) =>
    ctx.client.listObjectsV2({ Bucket: ctx.bucket, Prefix: key, Delimiter: '/', MaxKeys: PROBE_PAGE }, o),
  );
  const file = (out.Contents ?? []).some((c) => c.Key === key);
  if ((out.CommonPrefixes ?? []).some((p) => p.Prefix === dirPrefix)) return { file, directory: true };
  // Listings are sorted: once an entry at or past `key/` was returned, or nothing more exists, `key/` is not there.
  const names = [
    ...(out.Contents ?? []).map((c) => c.Key ?? ''),
    ...(out.CommonPrefixes ?? []).map((p) => p.Prefix ?? ''),
  ];
  const passed = names.some((n) => n >= dirPrefix);
  if (!out.IsTruncated || passed) return { file, directory: false };
  return { file, directory: (await dirProbe(ctx, key, signal, false)) !== undefined };
}

/** Whether something lies below `key/` (a directory: a marker or any key). One ListObjectsV2. Throws StorageError. */
export async function probeDirectory(ctx: S3Context, key: string, signal?: AbortSignal): Promise<boolean> {
  return (await dirProbe(ctx, key, signal, false)) !== undefined;
}
