// READDIR with stored times: ListObjectsV2 returns no user metadata or tags, only LastModified (the time of the
// upload, not the time `put -p` or SETSTAT preserved). So each file of a listed page is looked up: HeadObject (its
// `mtime`/`atime` metadata and TagCount), plus GetObjectTagging when it has tags (s3-digests.ts). Cost: one request
// per file, two for a tagged file (a multipart upload or a retimed file), 16 in flight per page.
//
// Best effort: a file that vanished since the listing, or any failed lookup, keeps the listing's own values; a
// login that may not HeadObject (a session policy without s3:GetObject) stops asking after the first refusal.

import { isStorageError, StorageErrorCode } from './errors.ts';
import type { S3Context } from './s3-context.ts';
import { withTaggedTimes } from './s3-digests.ts';
import { fileInfo, head, subject } from './s3-probe.ts';
import type { FileInfo } from './types.ts';

const IN_FLIGHT = 16;

/** `page` (entries below `prefix`) with each file's stored times. Never throws for a lookup. */
export async function storedTimes(
  ctx: S3Context,
  prefix: string,
  page: readonly FileInfo[],
  signal?: AbortSignal,
): Promise<FileInfo[]> {
  const out = [...page];
  let refused = false;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!refused && next < out.length) {
      const i = next++;
      const entry = out[i] as FileInfo;
      if (entry.kind !== 'file') continue;
      const key = prefix + entry.name;
      const what = subject('list', key);
      try {
        const found = await head(ctx, key, what, signal);
        if (found === undefined) continue;
        const info = await withTaggedTimes(ctx, key, fileInfo(key, found), found, what, signal);
        out[i] = { ...entry, mtimeMs: info.mtimeMs, atimeMs: info.atimeMs };
      } catch (err) {
        if (isStorageError(err, StorageErrorCode.PermissionDenied)) refused = true;
        if (signal?.aborted) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, out.length) }, worker));
  return out;
}
