// The state of an interrupted upload that another session (on any pod) may resume: kept in S3 as one JSON object at
// `<server prefix>/.sftpgate/uploads/<user>/<sha256(key)>.json` (resume-reserved.ts; docs/storage.md "Resumable
// uploads"). Pure: building, naming and validating it. A state object is read back from S3, so it is treated as
// hostile: it is believed only when it names this user and exactly the key the jail derived for the request, and its
// parts are the contiguous first parts of the part-size ladder (part-size.ts) — anything else is ignored (a fresh
// upload starts).
import { createHash } from 'node:crypto';
import { MAX_PART_BYTES, MAX_PARTS, MIN_PART_BYTES, partSize, partStart } from './part-size.ts';
import { reservedRoot } from './resume-reserved.ts';

/** One part S3 confirmed. */
export interface ResumePart {
  readonly n: number;
  readonly etag: string;
  readonly size: number;
}

export interface ResumeState {
  readonly v: 1;
  readonly user: string;
  /** The object key the upload will complete to (the jail's key for the path). */
  readonly key: string;
  readonly uploadId: string;
  /** The part-size ladder's base (the next parts continue it). */
  readonly basePartSize: number;
  /** Parts 1..k, all confirmed by S3, in order. */
  readonly parts: readonly ResumePart[];
  /** Bytes in `parts`: where the client must continue (what STAT answers). */
  readonly committedBytes: number;
  /** When the state was saved (the interruption): resumable until savedAtMs + retention. */
  readonly savedAtMs: number;
}

/** Where the state of `user`'s upload to `key` lives. */
export function resumeStateKey(serverPrefix: string, user: string, key: string): string {
  const digest = createHash('sha256').update(key).digest('hex');
  return `${reservedRoot(serverPrefix)}uploads/${encodeURIComponent(user)}/${digest}.json`;
}

/** The state prefix the operator's sweeper cleans (`<server prefix>/.sftpgate/uploads/`). */
export function resumeStatePrefix(serverPrefix: string): string {
  return `${reservedRoot(serverPrefix)}uploads/`;
}

/** The state of parts 1..k (k = parts.length); undefined when nothing is committed. */
export function buildResumeState(
  o: Omit<ResumeState, 'v' | 'committedBytes' | 'parts'> & { readonly parts: readonly ResumePart[] },
): ResumeState | undefined {
  if (o.parts.length === 0) return undefined;
  const parts = [...o.parts].sort((a, b) => a.n - b.n);
  return { v: 1, ...o, parts, committedBytes: partStart(o.basePartSize, parts.length + 1) };
}

/** Confirmed parts → the contiguous run from part 1 (parts after a gap are lost: S3 drops them at Complete). */
export function contiguousParts(confirmed: readonly ResumePart[]): ResumePart[] {
  const byN = new Map(confirmed.map((p) => [p.n, p]));
  const out: ResumePart[] = [];
  for (let n = 1; byN.has(n); n++) out.push(byN.get(n) as ResumePart);
  return out;
}

const MAX_TEXT = 64;
const ETAG = /^"?[0-9A-Za-z-]{1,128}"?$/;
const UPLOAD_ID = /^[\x21-\x7e]{1,1024}$/;

/**
 * A state object's text → the state, only if it is well-formed, names `expect.user` and `expect.key` exactly, and is
 * not older than `retentionMs` at `nowMs`. Never throws: anything else is undefined (not resumable).
 */
export function parseResumeState(
  text: string,
  expect: { readonly user: string; readonly key: string; readonly nowMs: number; readonly retentionMs: number },
): ResumeState | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const s = raw as Record<string, unknown>;
  if (s['v'] !== 1 || s['user'] !== expect.user || s['key'] !== expect.key) return undefined;
  const { uploadId, basePartSize: base, parts, committedBytes, savedAtMs } = s;
  if (typeof uploadId !== 'string' || !UPLOAD_ID.test(uploadId)) return undefined;
  if (!Number.isSafeInteger(base) || (base as number) < MIN_PART_BYTES || (base as number) > MAX_PART_BYTES) {
    return undefined;
  }
  if (typeof savedAtMs !== 'number' || !Number.isFinite(savedAtMs)) return undefined;
  if (savedAtMs > expect.nowMs + 60_000 || savedAtMs + expect.retentionMs < expect.nowMs) return undefined;
  if (!Array.isArray(parts) || parts.length === 0 || parts.length >= MAX_PARTS) return undefined;
  const checked: ResumePart[] = [];
  for (const [i, p] of (parts as unknown[]).entries()) {
    if (typeof p !== 'object' || p === null) return undefined;
    const { n, etag, size } = p as Record<string, unknown>;
    if (n !== i + 1 || typeof etag !== 'string' || etag.length > MAX_TEXT * 2 || !ETAG.test(etag)) return undefined;
    if (size !== partSize(base as number, i + 1)) return undefined;
    checked.push({ n, etag, size });
  }
  if (committedBytes !== partStart(base as number, checked.length + 1)) return undefined;
  return {
    v: 1,
    user: expect.user,
    key: expect.key,
    uploadId,
    basePartSize: base as number,
    parts: checked,
    committedBytes,
    savedAtMs,
  };
}
