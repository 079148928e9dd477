// READDIR with stored times: ListObjectsV2 returns no user metadata or tags, only LastModified (the time of the
// upload, not the time `put -p` or SETSTAT preserved). So each file of a listed page is looked up: HeadObject (its
// `mtime`/`atime` metadata and TagCount), plus GetObjectTagging when it has tags (s3-digests.ts), 16 in flight.
//
// Bounded, because one READDIR packet is all a user sends for it (docs/decisions.md "Listing times, bounded"):
//  - an S3 page is answered in READDIR replies of at most `maxPerPage` entries, so one packet costs at most
//    2 × maxPerPage lookups and its reply waits for no more than that;
//  - every lookup spends one token of the user's budget (listing-times-budget.ts); once it is spent, the rest of the
//    listing shows LastModified (in one reply: nothing is looked up), never an error, never a wait.
// Nothing in a listing proves an object has no stored times (any object may carry `mtime` metadata or tags), so no
// file is skipped on its size or ETag.
//
// Best effort: a file that vanished since the listing, or any failed lookup, keeps the listing's own values; a
// login that may not HeadObject (a session policy without s3:GetObject) stops asking after the first refusal.

import type { ByteBudget } from './budget.ts';
import { isStorageError, StorageErrorCode } from './errors.ts';
import { DEFAULT_LISTING_TIMES_LIMITS, type ListingTimesLimits, LookupBudget } from './listing-times-budget.ts';
import type { S3Context } from './s3-context.ts';
import { withTaggedTimes } from './s3-digests.ts';
import { fileInfo, head, subject } from './s3-probe.ts';
import type { FileInfo } from './types.ts';

const IN_FLIGHT = 16;

// One lookup budget per pod budget: per-login storages (STS/AWS modes) share the pod's budget, so a user's logins
// and sessions share one bucket. The first storage built on a pod budget decides the limits (as fair-budget.ts).
const budgets = new WeakMap<ByteBudget, LookupBudget>();
export function lookupBudgetFor(
  pod: ByteBudget,
  limits: ListingTimesLimits = DEFAULT_LISTING_TIMES_LIMITS,
): LookupBudget {
  let budget = budgets.get(pod);
  if (budget === undefined) {
    budget = new LookupBudget(limits);
    budgets.set(pod, budget);
  }
  return budget;
}

/** `page` (entries below `prefix`) in READDIR replies, each file with its stored times while `user`'s budget lasts. */
export async function* withStoredTimes(
  ctx: S3Context,
  prefix: string,
  page: readonly FileInfo[],
  budget: LookupBudget,
  user: string,
  signal?: AbortSignal,
): AsyncGenerator<readonly FileInfo[]> {
  const n = budget.limits.maxPerPage;
  for (let i = 0; i < page.length; i += n) {
    if (budget.available(user) < 1) {
      yield page.slice(i);
      return;
    }
    yield await storedTimes(ctx, prefix, page.slice(i, i + n), () => budget.take(user), signal);
  }
}

/** `page` with each file's stored times, each S3 request paid by `take` (false: keep the listing's values). */
async function storedTimes(
  ctx: S3Context,
  prefix: string,
  page: readonly FileInfo[],
  take: () => boolean,
  signal?: AbortSignal,
): Promise<FileInfo[]> {
  const out = [...page];
  let stop = false;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!stop && next < out.length) {
      const i = next++;
      const entry = out[i] as FileInfo;
      if (entry.kind !== 'file') continue;
      if (!take()) {
        stop = true;
        return;
      }
      const key = prefix + entry.name;
      const what = subject('list', key);
      try {
        const found = await head(ctx, key, what, signal);
        if (found === undefined) continue;
        // A tagged object's times may live in its tags: without a token for them, the listing's values stay.
        if ((found.TagCount ?? 0) > 0 && !take()) {
          stop = true;
          return;
        }
        const info = await withTaggedTimes(ctx, key, fileInfo(key, found), found, what, signal);
        out[i] = { ...entry, mtimeMs: info.mtimeMs, atimeMs: info.atimeMs };
      } catch (err) {
        if (isStorageError(err, StorageErrorCode.PermissionDenied)) stop = true;
        if (signal?.aborted) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, out.length) }, worker));
  return out;
}
