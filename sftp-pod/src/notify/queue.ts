// The pod's bounded retry queue of webhook deliveries: first in, first out; at most `capacity` entries (a new one
// pushes out the oldest, counted by the caller) and none older than `maxAgeMs` (expired ones are dropped when the
// sender looks at the head). Memory is bounded by capacity x the largest body (an audit event, < 8 KiB). Pure apart
// from the clock it is given.

export interface Delivery {
  /** Stable across retries: the receiver dedupes on it (`X-Sftpgate-Delivery`). */
  readonly id: string;
  /** The audit action notified (`upload`, ...), sent as `X-Sftpgate-Event`. */
  readonly event: string;
  /** The JSON body, identical on every attempt. */
  readonly body: string;
  /** When it was queued (ms since epoch). */
  readonly queuedAt: number;
  /** Failed attempts so far. */
  attempts: number;
  /** Why the last attempt failed ('' before the first). */
  lastError: string;
}

export type DropReason = 'overflow' | 'expired';

export class DeliveryQueue {
  readonly #items: Delivery[] = [];
  readonly #capacity: number;
  readonly #maxAgeMs: number;
  readonly #onDrop: (d: Delivery, why: DropReason) => void;

  constructor(capacity: number, maxAgeMs: number, onDrop: (d: Delivery, why: DropReason) => void) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity ${capacity} < 1`);
    this.#capacity = capacity;
    this.#maxAgeMs = maxAgeMs;
    this.#onDrop = onDrop;
  }

  get size(): number {
    return this.#items.length;
  }

  /** Appends; when full, the oldest entry is dropped first (reported as overflow). */
  push(d: Delivery): void {
    while (this.#items.length >= this.#capacity) {
      const oldest = this.#items.shift();
      if (oldest) this.#onDrop(oldest, 'overflow');
    }
    this.#items.push(d);
  }

  /** The oldest entry still within its age, dropping expired ones on the way (reported as expired). */
  head(now: number): Delivery | undefined {
    for (;;) {
      const first = this.#items[0];
      if (!first) return undefined;
      if (now - first.queuedAt <= this.#maxAgeMs) return first;
      this.#items.shift();
      this.#onDrop(first, 'expired');
    }
  }

  /** Removes `d` after it was delivered (a no-op if overflow already dropped it). */
  remove(d: Delivery): void {
    const i = this.#items.indexOf(d);
    if (i >= 0) this.#items.splice(i, 1);
  }
}
