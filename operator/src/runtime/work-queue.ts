// A work queue with client-go's semantics: a key is queued at most once however many events arrive (de-duplication),
// a key being processed is never handed to a second worker (serialised per key; an add during processing queues it
// again once done), and failed keys come back after an exponential backoff with jitter. Waiting keys are handed out
// fairly across namespaces (fair-queue.ts): one tenant's churn never delays another tenant's changes.
import { Backoff, type BackoffOptions } from './backoff.ts';
import { FairQueue } from './fair-queue.ts';

export interface WorkQueueHooks {
  /** Keys waiting (not counting those being processed). */
  depth?: (depth: number) => void;
  /** Seconds from enqueue to a worker picking the key up. */
  latency?: (seconds: number) => void;
  /** A key was requeued with backoff. */
  retry?: () => void;
}

export interface WorkQueueOptions {
  backoff?: BackoffOptions;
  hooks?: WorkQueueHooks;
  now?: () => number;
}

export class WorkQueue {
  readonly #queue = new FairQueue();
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #enqueuedAt = new Map<string, number>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];
  readonly #backoff: Backoff;
  readonly #hooks: WorkQueueHooks;
  readonly #now: () => number;
  #shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#backoff = new Backoff(options.backoff);
    this.#hooks = options.hooks ?? {};
    this.#now = options.now ?? Date.now;
  }

  /** Queues `key` now unless it is already waiting. Safe to call at any time; ignored after shutDown. */
  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (!this.#enqueuedAt.has(key)) this.#enqueuedAt.set(key, this.#now());
    if (this.#processing.has(key)) return; // re-queued by done()
    this.#push(key);
  }

  /** Queues `key` after `delayMs`; an earlier pending deadline for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.#now() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending !== undefined) {
      if (pending.at <= at) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#delayed.set(key, { at, timer });
  }

  /** Queues `key` after its next backoff delay (failures count up until forget). Returns the delay. */
  addRateLimited(key: string): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    const delay = this.#backoff.delay(failures);
    this.#hooks.retry?.();
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the backoff of `key` (after a success, or when the key no longer needs work). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Failures of `key` since the last forget. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /**
   * Waits for the next key and marks it processing; the caller must call done(key). Resolves undefined once the
   * queue shuts down or `signal` aborts.
   */
  get(signal?: AbortSignal): Promise<string | undefined> {
    if (this.#shuttingDown || signal?.aborted) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) return Promise.resolve(this.#take(key));
    return new Promise((resolve) => {
      const waiter = (k: string | undefined): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(k === undefined ? undefined : this.#take(k));
      };
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        resolve(undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Marks `key` finished; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shuttingDown) this.#push(key);
  }

  /** Keys waiting to be processed. */
  get length(): number {
    return this.#queue.length;
  }

  /** Keys waiting or scheduled for later. */
  pendingKeys(): string[] {
    return [...new Set([...this.#queue.keys(), ...this.#delayed.keys()])];
  }

  isProcessing(key: string): boolean {
    return this.#processing.has(key);
  }

  /** Stops handing out keys; waiting get() calls resolve undefined; delayed adds are dropped. */
  shutDown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }

  #push(key: string): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter(key);
      return;
    }
    this.#queue.push(key);
    this.#hooks.depth?.(this.#queue.length);
  }

  #take(key: string): string {
    this.#dirty.delete(key);
    this.#processing.add(key);
    const at = this.#enqueuedAt.get(key);
    this.#enqueuedAt.delete(key);
    if (at !== undefined) this.#hooks.latency?.((this.#now() - at) / 1000);
    this.#hooks.depth?.(this.#queue.length);
    return key;
  }
}
