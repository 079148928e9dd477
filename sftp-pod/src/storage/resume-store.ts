// The S3 side of resumable uploads (docs/storage.md "Resumable uploads"): the state object (GetObject / PutObject /
// DeleteObject under the reserved root), the check that the multipart upload still holds exactly the saved parts
// (ListParts), and the re-read that hashes a resumed object at CLOSE. Resume is best effort: a lookup that fails for
// any reason means "nothing to resume" (a fresh upload starts), never a failed STAT or OPEN.
import { createHash } from 'node:crypto';
import { readText } from '../../../common/src/s3/transport.ts';
import type { ListPartsOutput } from '../../../common/src/s3/types.ts';
import { parseResumeState, type ResumeState } from './resume-state.ts';
import type { S3Context } from './s3-context.ts';
import { abortUpload } from './s3-multipart.ts';
import type { UploadDigests } from './types.ts';

/** 10,000 parts of ~90 bytes each fit well below this; a bigger state object is not ours. */
const MAX_STATE_BYTES = 2 * 1024 * 1024;

export interface ResumeLookup {
  readonly stateKey: string;
  readonly user: string;
  readonly key: string;
  readonly retentionMs: number;
}

/** The saved state for `l`, if one exists and validates (resume-state.ts); undefined otherwise. Never throws. */
export async function loadResumeState(
  ctx: S3Context,
  l: ResumeLookup,
  signal?: AbortSignal,
): Promise<ResumeState | undefined> {
  try {
    const out = await ctx.send('GetObject', 'resume lookup', signal, (o) =>
      ctx.client.getObject({ Bucket: ctx.bucket, Key: l.stateKey }, o),
    );
    if ((out.ContentLength ?? 0) > MAX_STATE_BYTES) {
      out.Body.destroy();
      return undefined;
    }
    const text = await readText(out.Body);
    return parseResumeState(text, { user: l.user, key: l.key, nowMs: Date.now(), retentionMs: l.retentionMs });
  } catch {
    return undefined; // NoSuchKey (the common answer), AccessDenied, an outage: nothing to resume
  }
}

/** Writes the state object. Throws StorageError. */
export async function saveResumeState(
  ctx: S3Context,
  stateKey: string,
  state: ResumeState,
  signal?: AbortSignal,
): Promise<void> {
  const body = Buffer.from(JSON.stringify(state));
  await ctx.send(
    'PutObject',
    'resume state',
    signal,
    (o) =>
      ctx.client.putObject(
        {
          Bucket: ctx.bucket,
          Key: stateKey,
          Body: body,
          ContentLength: body.length,
          ContentType: 'application/json',
          ...ctx.writeHeaders,
        },
        o,
      ),
    body.length,
  );
}

/** Deletes the state object. Never throws (the operator's sweeper removes what is left after the retention). */
export async function deleteResumeState(ctx: S3Context, stateKey: string): Promise<void> {
  await ctx
    .send('DeleteObject', 'resume state', AbortSignal.timeout(60_000), (o) =>
      ctx.client.deleteObject({ Bucket: ctx.bucket, Key: stateKey }, o),
    )
    .catch(() => undefined);
}

/** Drops a stale interrupted upload: aborts its multipart upload and deletes its state. Never throws. */
export async function discardResume(ctx: S3Context, stateKey: string, state: ResumeState): Promise<void> {
  await abortUpload({ ctx, key: state.key, what: 'stale resumable upload' }, state.uploadId);
  await deleteResumeState(ctx, stateKey);
}

/**
 * Does the multipart upload still exist and hold every saved part with the same ETag and size? (ListParts, one
 * request per 1,000 parts.) False on any difference or error: the caller then starts fresh.
 */
export async function partsStillThere(ctx: S3Context, state: ResumeState, signal?: AbortSignal): Promise<boolean> {
  const want = new Map(state.parts.map((p) => [p.n, p]));
  let marker: string | undefined;
  try {
    for (;;) {
      const page: ListPartsOutput = await ctx.send('ListParts', 'resume check', signal, (o) =>
        ctx.client.listParts(
          {
            Bucket: ctx.bucket,
            Key: state.key,
            UploadId: state.uploadId,
            ...(marker === undefined ? {} : { PartNumberMarker: marker }),
          },
          o,
        ),
      );
      for (const p of page.Parts ?? []) {
        const w = p.PartNumber === undefined ? undefined : want.get(p.PartNumber);
        if (w === undefined) continue; // a part past the committed run (in flight at the interruption): replaced
        if (unquote(p.ETag) !== unquote(w.etag) || p.Size !== w.size) return false;
        want.delete(w.n);
      }
      if (!page.IsTruncated || page.NextPartNumberMarker === undefined) break;
      marker = page.NextPartNumberMarker;
    }
  } catch {
    return false;
  }
  return want.size === 0;
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replaceAll('"', '');
}

/**
 * The digests of a stored object, by reading it once (one streamed GetObject). Used at the CLOSE of a resumed upload:
 * the streaming hash of the interrupted session could not travel to this one (docs/decisions.md). Throws StorageError.
 */
export async function rehashObject(
  ctx: S3Context,
  key: string,
  md5: boolean,
  size: number,
  signal?: AbortSignal,
): Promise<UploadDigests> {
  // `size` extends the request's own deadline to cover streaming the body (s3-context.ts).
  const out = await ctx.send(
    'GetObject',
    'resume rehash',
    signal,
    (o) => ctx.client.getObject({ Bucket: ctx.bucket, Key: key }, o),
    size,
  );
  const sha256 = createHash('sha256');
  const md5h = md5 ? createHash('md5') : undefined;
  for await (const chunk of out.Body as AsyncIterable<Uint8Array>) {
    sha256.update(chunk);
    md5h?.update(chunk);
  }
  return { sha256: sha256.digest('hex'), ...(md5h ? { md5: md5h.digest('hex') } : {}) };
}
