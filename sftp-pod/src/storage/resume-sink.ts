// An upload opened without truncation while an interrupted upload of the same user and path exists: the FIRST write
// decides. At exactly the saved committed size, and with every saved part still in S3 (ListParts), the interrupted
// multipart upload continues; anything else (another offset, parts gone, no write at all before CLOSE) starts a fresh
// upload and aborts the stale one. Either way nothing is visible before CLOSE (docs/storage.md "Resumable uploads").
import type { ResumeState } from './resume-state.ts';
import type { UploadDigests, WriteSink } from './types.ts';

/** A sink that can also keep its upload for a later resume (upload-sink.ts). */
export interface SuspendableSink extends WriteSink {
  suspend(reason?: string): Promise<void>;
}

export interface ResumableSinkOptions {
  readonly candidate: ResumeState;
  /** Do the saved parts still stand (resume-store.ts partsStillThere)? */
  readonly verify: (state: ResumeState) => Promise<boolean>;
  readonly discard: (state: ResumeState) => Promise<void>;
  /** Opens the real sink: continuing `from`, or fresh. */
  readonly open: (from: ResumeState | undefined) => SuspendableSink;
}

export class ResumableSink implements SuspendableSink {
  readonly #o: ResumableSinkOptions;
  #sink: Promise<SuspendableSink> | undefined;
  #opened: SuspendableSink | undefined;
  #times: { atimeMs: number; mtimeMs: number } | undefined;
  /** Did the first write continue the interrupted upload? (undefined until decided) */
  resumed: boolean | undefined;

  constructor(options: ResumableSinkOptions) {
    this.#o = options;
  }

  get bytesReceived(): number {
    return this.#opened?.bytesReceived ?? 0;
  }

  get digests(): UploadDigests | undefined {
    return this.#opened?.digests;
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    this.#sink ??= this.#decide(offset);
    return this.#sink.then((s) => s.write(offset, data));
  }

  setTimes(atimeMs: number, mtimeMs: number): void {
    this.#times = { atimeMs, mtimeMs };
    this.#opened?.setTimes(atimeMs, mtimeMs);
  }

  async commit(signal?: AbortSignal): Promise<void> {
    this.#sink ??= this.#decide(-1); // no write at all: a fresh (empty) file
    return (await this.#sink).commit(signal);
  }

  async abort(reason?: string): Promise<void> {
    // Before the first write nothing was decided: the interrupted upload stays resumable.
    if (this.#sink) await (await this.#sink.catch(() => undefined))?.abort(reason);
  }

  async suspend(reason?: string): Promise<void> {
    if (this.#sink) await (await this.#sink.catch(() => undefined))?.suspend(reason);
  }

  async #decide(offset: number): Promise<SuspendableSink> {
    const c = this.#o.candidate;
    const resume = offset === c.committedBytes && (await this.#o.verify(c));
    this.resumed = resume;
    if (!resume) await this.#o.discard(c);
    const sink = this.#o.open(resume ? c : undefined);
    if (this.#times) sink.setTimes(this.#times.atimeMs, this.#times.mtimeMs);
    this.#opened = sink;
    return sink;
  }
}
