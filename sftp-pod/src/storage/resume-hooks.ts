// What an upload sink (upload-sink.ts) needs from resumable uploads, and the S3Storage side that builds it for one
// upload: where its state lives, how to save it at an interruption, what to clean when it completes or when a fresh
// upload of the same path supersedes it (docs/storage.md "Resumable uploads"). No S3 request is made here unless an
// upload is interrupted, resumed, or grows into a multipart upload.

import {
  buildResumeState,
  contiguousParts,
  type ResumePart,
  type ResumeState,
  resumeStateKey,
} from './resume-state.ts';
import { deleteResumeState, discardResume, loadResumeState, rehashObject, saveResumeState } from './resume-store.ts';
import type { S3Context } from './s3-context.ts';
import type { UploadDigests } from './types.ts';

export interface ResumeHooks {
  /** Set when this sink continues an interrupted upload. */
  readonly from?: ResumeState;
  /** Saves the state of the confirmed parts; resolves false when there is nothing worth keeping. */
  readonly save?: (uploadId: string, confirmed: readonly ResumePart[]) => Promise<boolean>;
  /** A fresh multipart upload was created: an interrupted one of the same path is stale (fire and forget). */
  readonly started?: (uploadId: string) => void;
  /** The multipart upload completed; `saved`: a state object was written for it (it goes). */
  readonly committed?: (saved: boolean) => Promise<void>;
  /** The multipart upload was aborted after a state object was written for it (it goes). */
  readonly dropped?: () => Promise<void>;
  /** Save the state this often while parts are confirmed, so a pod crash loses little (0/undefined: never). */
  readonly checkpointMs?: number;
  /** A resumed upload's digests, by re-reading the stored object of `size` bytes. */
  readonly rehash?: (size: number, signal?: AbortSignal) => Promise<UploadDigests>;
}

/** Per-server settings: the pod flag --resume-retention and the server prefix the reserved root sits under. */
export interface ResumeSettings {
  readonly serverPrefix: string;
  /** How long an interrupted upload stays resumable (0 turns resume off: a lost session aborts, as before). */
  readonly retentionMs: number;
  /** --resume-checkpoint: save a running multipart upload's state this often (0: only when interrupted). */
  readonly checkpointMs?: number;
}

/** One upload's view of resume: its state key and the hooks for a sink. */
export class UploadResume {
  #stateKey: string | undefined;
  readonly #ctx: S3Context;
  readonly #s: ResumeSettings;
  readonly #user: string;
  readonly #key: string;
  readonly #basePartSize: number;
  readonly #md5: boolean;

  constructor(o: {
    ctx: S3Context;
    settings: ResumeSettings;
    user: string;
    key: string;
    basePartSize: number;
    md5: boolean;
  }) {
    this.#ctx = o.ctx;
    this.#s = o.settings;
    this.#user = o.user;
    this.#key = o.key;
    this.#basePartSize = o.basePartSize;
    this.#md5 = o.md5;
  }

  /** Where this upload's state lives; computed when first needed (most uploads never save, look up or delete one). */
  get stateKey(): string {
    this.#stateKey ??= resumeStateKey(this.#s.serverPrefix, this.#user, this.#key);
    return this.#stateKey;
  }

  /** The interrupted upload of this user and key, if one validates. One GetObject. */
  lookup(signal?: AbortSignal): Promise<ResumeState | undefined> {
    return loadResumeState(
      this.#ctx,
      { stateKey: this.stateKey, user: this.#user, key: this.#key, retentionMs: this.#s.retentionMs },
      signal,
    );
  }

  /** Aborts and forgets an interrupted upload that will not be resumed. Never throws. */
  discard(state: ResumeState): Promise<void> {
    return discardResume(this.#ctx, this.stateKey, state);
  }

  /** Hooks for a sink: a fresh upload (`from` undefined) or the continuation of `from`. */
  hooks(from?: ResumeState): ResumeHooks {
    const ctx = this.#ctx;
    const base = from?.basePartSize ?? this.#basePartSize;
    return {
      ...(from ? { from } : {}),
      save: async (uploadId, confirmed) => {
        const state = buildResumeState({
          user: this.#user,
          key: this.#key,
          uploadId,
          basePartSize: base,
          parts: contiguousParts(confirmed),
          savedAtMs: Date.now(),
        });
        if (state === undefined) return false;
        await saveResumeState(ctx, this.stateKey, state, AbortSignal.timeout(60_000));
        return true;
      },
      started: (uploadId) => {
        if (from) return;
        // Never our own checkpoint (the lookup may answer after this upload saved one).
        void this.lookup().then((stale) => (stale && stale.uploadId !== uploadId ? this.discard(stale) : undefined));
      },
      committed: (saved) => (from || saved ? deleteResumeState(ctx, this.stateKey) : Promise.resolve()),
      dropped: () => deleteResumeState(ctx, this.stateKey),
      ...(this.#s.checkpointMs ? { checkpointMs: this.#s.checkpointMs } : {}),
      rehash: (size, signal) => rehashObject(ctx, this.#key, this.#md5, size, signal),
    };
  }
}
