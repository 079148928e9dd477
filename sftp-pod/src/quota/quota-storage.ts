// A Storage that enforces a user's quota around another Storage (docs/operations.md "Quotas"): OPEN for writing
// reserves one file (refused when the file limit is reached), each WRITE that extends the upload reserves the new
// bytes BEFORE they reach the inner sink, so a write that would cross the limit is refused before any of its bytes
// is sent to S3 and the upload is aborted (no object, no multipart upload left). CLOSE turns the reservation into a
// commit. Server-side copies (copy-data) reserve the source's size. Everything else is passed through.
import { StorageError, StorageErrorCode } from '../storage/errors.ts';
import type {
  FileInfo,
  ReadSource,
  Storage,
  StorageCapabilities,
  StorageUsage,
  UploadDigests,
  WriteOptions,
  WriteSink,
} from '../storage/types.ts';
import type { QuotaLedger } from './ledger.ts';
import { hasLimits } from './usage-math.ts';

export class QuotaStorage implements Storage {
  readonly #inner: Storage;
  readonly #ledger: QuotaLedger;

  constructor(inner: Storage, ledger: QuotaLedger) {
    this.#inner = inner;
    this.#ledger = ledger;
  }

  get capabilities(): StorageCapabilities {
    return this.#inner.capabilities;
  }

  /** Undefined while the user has no quota (statvfs then answers as without quotas). */
  async usage(signal?: AbortSignal): Promise<StorageUsage | undefined> {
    const limits = this.#ledger.limits;
    if (!hasLimits(limits)) return undefined;
    const used = await this.#ledger.usage(signal);
    return { maxBytes: limits.maxBytes, maxFiles: limits.maxFiles, usedBytes: used.bytes, usedFiles: used.files };
  }

  async openWrite(key: string, options: WriteOptions, signal?: AbortSignal): Promise<WriteSink> {
    if (!hasLimits(this.#ledger.limits)) return this.#inner.openWrite(key, options, signal);
    await this.#ledger.reserve(0, 1, signal);
    let sink: WriteSink;
    try {
      sink = await this.#inner.openWrite(key, options, signal);
    } catch (err) {
      void this.#ledger.release(0, 1);
      throw err;
    }
    return new QuotaSink(sink, this.#ledger, key);
  }

  async copy(fromKey: string, toKey: string, options: { overwrite: boolean }, signal?: AbortSignal): Promise<void> {
    if (!hasLimits(this.#ledger.limits)) return this.#inner.copy(fromKey, toKey, options, signal);
    const { size } = await this.#inner.stat(fromKey, signal);
    await this.#ledger.reserve(size, 1, signal);
    try {
      await this.#inner.copy(fromKey, toKey, options, signal);
    } catch (err) {
      void this.#ledger.release(size, 1);
      throw err;
    }
    this.#ledger.commit({ bytes: size, files: 1 }, { bytes: size, files: 1 });
  }

  stat(key: string, signal?: AbortSignal): Promise<FileInfo> {
    return this.#inner.stat(key, signal);
  }
  list(dirKey: string, signal?: AbortSignal, user?: string): AsyncIterable<readonly FileInfo[]> {
    return this.#inner.list(dirKey, signal, user);
  }
  openRead(key: string, signal?: AbortSignal): Promise<ReadSource> {
    return this.#inner.openRead(key, signal);
  }
  mkdir(dirKey: string, signal?: AbortSignal): Promise<void> {
    return this.#inner.mkdir(dirKey, signal);
  }
  remove(key: string, signal?: AbortSignal): Promise<void> {
    return this.#inner.remove(key, signal);
  }
  rmdir(dirKey: string, signal?: AbortSignal): Promise<void> {
    return this.#inner.rmdir(dirKey, signal);
  }
  rename(fromKey: string, toKey: string, options: { overwrite: boolean }, signal?: AbortSignal): Promise<void> {
    return this.#inner.rename(fromKey, toKey, options, signal);
  }
  digests(key: string, signal?: AbortSignal): Promise<UploadDigests | undefined> {
    if (!this.#inner.digests) return Promise.resolve(undefined);
    return this.#inner.digests(key, signal);
  }
  /** Resumable uploads (docs/storage.md): an interrupted upload's parts are not usage until its CLOSE stores it. */
  resumableStat(key: string, user: string, signal?: AbortSignal): Promise<FileInfo | undefined> {
    if (!this.#inner.resumableStat) return Promise.resolve(undefined);
    return this.#inner.resumableStat(key, user, signal);
  }
  setTimes(key: string, atimeMs: number, mtimeMs: number, signal?: AbortSignal): Promise<void> {
    return this.#inner.setTimes(key, atimeMs, mtimeMs, signal);
  }
}

/** One upload under a quota: reservations ahead of the inner sink, released or committed exactly once. */
class QuotaSink implements WriteSink {
  readonly #inner: WriteSink;
  readonly #ledger: QuotaLedger;
  readonly #name: string;
  #reservedBytes = 0;
  #settled = false;
  #refused: StorageError | undefined;
  /** The give-back of this upload's reservation, once settled without storing (never rejects). */
  #released: Promise<void> = Promise.resolve();
  /** The reservation in progress: WRITEs reserve one after the other. */
  #reserving: Promise<void> = Promise.resolve();
  /** The refused upload's abort followed by that give-back; every later request waits for it. */
  #givenBack: Promise<void> = Promise.resolve();

  constructor(inner: WriteSink, ledger: QuotaLedger, key: string) {
    this.#inner = inner;
    this.#ledger = ledger;
    this.#name = key.slice(key.lastIndexOf('/') + 1);
  }

  get bytesReceived(): number {
    return this.#inner.bytesReceived;
  }

  get digests(): UploadDigests | undefined {
    return this.#inner.digests;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    if (this.#refused) return this.#refusedAgain();
    const end = offset + data.byteLength;
    if (end > this.#reservedBytes) {
      // One reservation at a time per upload, in request order: a WRITE pipelined behind a refused one sees the
      // refusal instead of taking the room the refused upload just gave back.
      const turn = this.#reserving.then(() => this.#reserveUpTo(end));
      this.#reserving = turn.catch(() => undefined);
      await turn;
    }
    await this.#inner.write(offset, data);
  }

  async #reserveUpTo(end: number): Promise<void> {
    if (this.#refused) return this.#refusedAgain();
    const need = end - this.#reservedBytes;
    if (need <= 0) return;
    try {
      await this.#ledger.reserve(need, 0);
    } catch (err) {
      this.#refused =
        err instanceof StorageError && err.code === StorageErrorCode.QuotaExceeded
          ? new StorageError(err.code, `${this.#name}: ${err.message}`)
          : (err as StorageError);
      // The client hears of the refusal only once the room this upload held is given back in S3, so its next
      // request (through any pod) sees it free.
      this.#givenBack = this.abort(this.#refused.message).finally(() => this.#released);
      await this.#givenBack;
      throw this.#refused;
    }
    if (this.#settled) {
      // Granted after the upload ended (a CLOSE or abort while this WRITE waited): nothing would give it back.
      await this.#ledger.release(need, 0);
      return;
    }
    this.#reservedBytes = end;
  }

  setTimes(atimeMs: number, mtimeMs: number): void {
    this.#inner.setTimes(atimeMs, mtimeMs);
  }

  async commit(signal?: AbortSignal): Promise<void> {
    if (this.#refused) return this.#refusedAgain();
    try {
      await this.#inner.commit(signal);
    } catch (err) {
      this.#settle(false);
      throw err;
    }
    this.#settle(true);
  }

  async abort(reason?: string): Promise<void> {
    try {
      await this.#inner.abort(reason);
    } finally {
      this.#settle(false);
    }
  }

  /**
   * Kept for a resume (or aborted by a store without resumes): nothing is stored, so the reservation is released; a
   * resume reserves the whole file again from its first write (offset + length covers the committed bytes).
   */
  async suspend(reason?: string): Promise<void> {
    try {
      await (this.#inner.suspend ? this.#inner.suspend(reason) : this.#inner.abort(reason));
    } finally {
      this.#settle(false);
    }
  }

  /**
   * WRITEs pipelined behind the refused one, and the CLOSE, fail the same way, and also only once the room is given
   * back: the client may act on whichever failure it reads first.
   */
  async #refusedAgain(): Promise<never> {
    await this.#givenBack.catch(() => undefined);
    throw this.#refused;
  }

  #settle(stored: boolean): void {
    if (this.#settled) return;
    this.#settled = true;
    const reserved = { bytes: this.#reservedBytes, files: 1 };
    if (stored) this.#ledger.commit(reserved, reserved);
    else this.#released = this.#ledger.release(reserved.bytes, reserved.files);
  }
}
