// A byte budget: a counting semaphore over bytes, FIFO-fair, with exact accounting. The pod has one (every upload's
// buffers and read-ahead draw from it); an upload that must wait for it stalls its SFTP channel, which closes the
// client's SSH window — that is the backpressure. Pure and synchronous apart from the waiting, so it is unit-tested.

import { StorageError, StorageErrorCode } from './errors.ts';

export interface ByteBudgetHooks {
  /** An acquire had to wait (one pause per waiting acquire): feeds sftpgate_backpressure_pauses_total. */
  onPause?: () => void;
  /** Bytes held changed: feeds a gauge. */
  onUsedChange?: (used: number) => void;
}

interface Waiter {
  readonly n: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

export class ByteBudget {
  readonly capacity: number;
  #used = 0;
  #pauses = 0;
  #peak = 0;
  readonly #waiters: Waiter[] = [];
  readonly #hooks: ByteBudgetHooks;

  constructor(capacity: number, hooks: ByteBudgetHooks = {}) {
    if (!Number.isSafeInteger(capacity) || capacity <= 0) throw new RangeError(`budget capacity ${capacity} invalid`);
    this.capacity = capacity;
    this.#hooks = hooks;
  }

  get used(): number {
    return this.#used;
  }
  get available(): number {
    return this.capacity - this.#used;
  }
  /** The pause hook, for budgets nested inside this one (fair shares): a wait at any level is a backpressure pause. */
  get onPause(): (() => void) | undefined {
    return this.#hooks.onPause;
  }
  /** Acquires that had to wait, since construction. */
  get pauses(): number {
    return this.#pauses;
  }
  /** Highest `used` ever observed (for tests and the memory-bound benchmark). */
  get peak(): number {
    return this.#peak;
  }
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Takes n bytes now if they are free and nobody is queued ahead (FIFO); never waits. */
  tryAcquire(n: number): boolean {
    this.#check(n);
    if (this.#waiters.length > 0 || this.#used + n > this.capacity) return false;
    this.#take(n);
    return true;
  }

  /**
   * Resolves once n bytes are held for the caller. Waiters are served in order, so a large request is not starved by
   * small ones. Rejects with StorageError ABORTED when the signal fires (nothing is held then), and at once with a
   * RangeError if n exceeds the capacity (it could never be served).
   */
  acquire(n: number, signal?: AbortSignal): Promise<void> {
    this.#check(n);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.tryAcquire(n)) return Promise.resolve();
    this.#pauses++;
    this.#hooks.onPause?.();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        n,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(abortError(signal));
          // The head may have been the blocker for smaller requests behind it.
          this.#drain();
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Returns n bytes. Releasing more than is held is an accounting bug and throws. */
  release(n: number): void {
    this.#check(n);
    if (n > this.#used) throw new RangeError(`budget release of ${n} bytes exceeds the ${this.#used} held`);
    this.#used -= n;
    this.#hooks.onUsedChange?.(this.#used);
    this.#drain();
  }

  #check(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`budget amount ${n} invalid`);
    if (n > this.capacity) {
      throw new RangeError(`${n} bytes can never fit a budget of ${this.capacity} bytes`);
    }
  }

  #take(n: number): void {
    this.#used += n;
    if (this.#used > this.#peak) this.#peak = this.#used;
    this.#hooks.onUsedChange?.(this.#used);
  }

  #drain(): void {
    for (;;) {
      const head = this.#waiters[0];
      if (head === undefined || this.#used + head.n > this.capacity) return;
      this.#waiters.shift();
      head.signal?.removeEventListener('abort', head.onAbort);
      this.#take(head.n);
      head.resolve();
    }
  }
}

function abortError(signal: AbortSignal | undefined): StorageError {
  return new StorageError(StorageErrorCode.Aborted, 'operation aborted', { cause: signal?.reason });
}
