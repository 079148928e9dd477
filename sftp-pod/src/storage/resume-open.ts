// S3Storage's two entry points into resumable uploads (docs/storage.md "Resumable uploads"):
// - openWrite: a truncating open (or a path with a complete object) gets a plain sink whose hooks can save its state
//   if the session is lost; only a NON-truncating open of a path without an object looks for an interrupted upload
//   (one GetObject), and gets a ResumableSink when one validates.
// - STAT of a path with no object: this user's interrupted upload answers as a file of its committed size.
import { StorageError, StorageErrorCode } from './errors.ts';
import type { ResumeHooks } from './resume-hooks.ts';
import { type ResumeSettings, UploadResume } from './resume-hooks.ts';
import { ResumableSink, type SuspendableSink } from './resume-sink.ts';
import { partsStillThere } from './resume-store.ts';
import type { S3Context } from './s3-context.ts';
import type { FileInfo, WriteOptions } from './types.ts';

export type { ResumeSettings };

export interface ResumeOpen {
  readonly ctx: S3Context;
  readonly settings: ResumeSettings;
  readonly key: string;
  readonly what: string;
  readonly options: WriteOptions;
  /** A complete object is at the key (then nothing is resumed). */
  readonly exists: boolean;
  readonly basePartSize: number;
  readonly md5: boolean;
}

export async function openResumable(
  o: ResumeOpen,
  signal: AbortSignal | undefined,
  make: (hooks: ResumeHooks) => SuspendableSink,
): Promise<SuspendableSink> {
  const r = new UploadResume({
    ctx: o.ctx,
    settings: o.settings,
    user: o.options.user,
    key: o.key,
    basePartSize: o.basePartSize,
    md5: o.md5,
  });
  const candidate = o.options.resumable && !o.exists ? await r.lookup(signal) : undefined;
  if (candidate === undefined) {
    if (o.options.append) throw appendUnsupported(o.what);
    return make(r.hooks());
  }
  return new ResumableSink({
    candidate,
    verify: (state) => partsStillThere(o.ctx, state, signal),
    discard: (state) => r.discard(state),
    open: (from) => make(r.hooks(from)),
  });
}

export async function resumableStat(
  o: {
    readonly ctx: S3Context;
    readonly settings: ResumeSettings;
    readonly key: string;
    readonly user: string;
    readonly basePartSize: number;
  },
  signal?: AbortSignal,
): Promise<FileInfo | undefined> {
  const r = new UploadResume({ ...o, md5: false });
  const state = await r.lookup(signal);
  if (state === undefined || !(await partsStillThere(o.ctx, state, signal))) return undefined;
  return { name: o.key, kind: 'file', size: state.committedBytes, mtimeMs: state.savedAtMs, atimeMs: state.savedAtMs };
}

export function appendUnsupported(what: string): StorageError {
  return new StorageError(
    StorageErrorCode.Unsupported,
    `${what}: append is not supported (an object can only be replaced as a whole); only an interrupted upload can be resumed`,
  );
}
