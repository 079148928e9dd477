// The pod budget for part buffers that grow: slabs are granted as data arrives instead of a whole part at its first
// byte, so a client that writes one byte at each part offset holds a slab, not a part. Growing alone could deadlock
// (every upload holding a half-filled part, waiting for memory the others hold), so one rule keeps it live:
//
//   a grant must leave at least R bytes free, R = the largest part size among parts being filled — except for the
//   OLDEST part being filled, which may use that reserve.
//
// The oldest part can therefore always complete: what it still needs is at most R, and the reserve is either free or
// held by parts already sealed, which S3 always releases (an answer or our deadline). When it seals, the next oldest
// takes over. Waiters are served oldest part first. Read-ahead (which never waits) leaves the reserve alone too.

import type { ByteBudget } from './budget.ts';
import { StorageError, StorageErrorCode } from './errors.ts';

interface Waiter {
  readonly token: object;
  readonly n: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

export class GrowthGate {
  readonly pod: ByteBudget;
  /** Parts being filled, oldest first, with their sizes. */
  readonly #parts = new Map<object, number>();
  #waiters: Waiter[] = [];
  #pauses = 0;

  constructor(pod: ByteBudget) {
    this.pod = pod;
  }

  /** Grants that had to wait (backpressure on the pod budget). */
  get pauses(): number {
    return this.#pauses;
  }
  get waiting(): number {
    return this.#waiters.length;
  }
  /** Parts being filled. */
  get growing(): number {
    return this.#parts.size;
  }

  /** Bytes kept free for the oldest part being filled: the largest part size among them. */
  get reserve(): number {
    let r = 0;
    for (const size of this.#parts.values()) if (size > r) r = size;
    return r;
  }

  /** A part starts being filled (its age counts from here). */
  open(token: object, size: number): void {
    this.#parts.set(token, size);
  }

  /** A part is sealed or dropped: it grows no more. */
  close(token: object): void {
    if (this.#parts.delete(token)) this.#drain();
  }

  /** Read-ahead: n bytes now if they leave the reserve free; never waits. */
  tryAcquireSpare(n: number): boolean {
    return this.#waiters.length === 0 && this.pod.available - n >= this.reserve && this.pod.tryAcquire(n);
  }

  /** n bytes for the part `token` now if acquire() would grant them without waiting; never waits. */
  tryAcquire(token: object, n: number): boolean {
    if (n > this.pod.capacity) return false;
    // Waiters are served oldest part first: a request jumps the queue only when no one waits or it is the oldest.
    return (this.#waiters.length === 0 || token === this.#parts.keys().next().value) && this.#grant(token, n);
  }

  /**
   * n bytes for the part `token` (open). Rejects ABORTED when the signal fires (nothing held then), at once with a
   * RangeError when n exceeds the pod budget.
   */
  acquire(token: object, n: number, signal?: AbortSignal): Promise<void> {
    if (n > this.pod.capacity) return Promise.reject(new RangeError(`${n} bytes can never fit the pod budget`));
    if (signal?.aborted) return Promise.reject(aborted(signal));
    if (this.tryAcquire(token, n)) return Promise.resolve();
    this.#pauses++;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        token,
        n,
        resolve,
        reject,
        signal,
        onAbort: () => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(aborted(signal));
          this.#drain();
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#drain();
    });
  }

  release(n: number): void {
    this.pod.release(n);
    this.#drain();
  }

  #grant(token: object, n: number): boolean {
    const oldest = this.#parts.keys().next().value;
    const keep = token === oldest ? 0 : this.reserve;
    return this.pod.available - n >= keep && this.pod.tryAcquire(n);
  }

  /** Serves waiters oldest part first; a waiter that cannot be served does not block younger ones that can. */
  #drain(): void {
    if (this.#waiters.length === 0) return;
    const age = new Map<object, number>();
    let i = 0;
    for (const token of this.#parts.keys()) age.set(token, i++);
    const ordered = [...this.#waiters].sort((a, b) => (age.get(a.token) ?? i) - (age.get(b.token) ?? i));
    for (const w of ordered) {
      if (!this.#grant(w.token, w.n)) continue;
      this.#waiters = this.#waiters.filter((x) => x !== w);
      w.signal?.removeEventListener('abort', w.onAbort);
      w.resolve();
    }
  }
}

function aborted(signal: AbortSignal | undefined): StorageError {
  return new StorageError(StorageErrorCode.Aborted, 'operation aborted', { cause: signal?.reason });
}
