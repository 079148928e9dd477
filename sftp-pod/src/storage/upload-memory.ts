// The budget bookkeeping of one upload: parts reserved (the upload's own cap, then the session's and user's shares)
// and pod memory granted (slabs of parts being filled, bodies of sealed parts until S3 answers). The driver
// (upload-sink.ts) calls it; every byte taken here is given back exactly once.

import type { DrainedPart, SealedPart } from './part-assembler.ts';

/** Where an upload's part buffers are accounted (fair-budget.ts BudgetLease). */
export interface UploadBudget {
  /** The largest part that can ever be buffered (the pod budget). */
  readonly capacity: number;
  /** Reserves a whole part from the session's and user's shares (waits; BUSY past the deadline). */
  reservePart(size: number, signal?: AbortSignal): Promise<void>;
  releasePart(size: number): void;
  /** Registers a part being filled (its age decides who may use the pod's reserve), and unregisters it. */
  openPart(token: object, size: number): void;
  closePart(token: object): void;
  /** n bytes of the pod's memory for an open part (waits; BUSY past the deadline). */
  grant(token: object, n: number, signal?: AbortSignal): Promise<void>;
  release(n: number): void;
}

export class UploadMemory {
  readonly #budget: UploadBudget;
  readonly #onRelease: () => void;
  /** Bytes reserved (whole parts). */
  #held = 0;
  /** Pod memory granted. */
  #granted = 0;
  /** Parts being filled: their growth-gate tokens. */
  readonly #tokens = new Map<number, object>();
  #capWaiters: (() => void)[] = [];

  /** `onRelease` runs after every release (the driver checks whether it has settled). */
  constructor(budget: UploadBudget, onRelease: () => void) {
    this.#budget = budget;
    this.#onRelease = onRelease;
  }

  get reserved(): number {
    return this.#held;
  }
  get granted(): number {
    return this.#granted;
  }
  get capacity(): number {
    return this.#budget.capacity;
  }

  /** Resolves when `size` more reserved bytes fit `cap` (the upload's own cap); `check` runs after each wake-up. */
  async waitForCap(size: number, cap: number, check: () => void): Promise<void> {
    while (this.#held + size > cap) {
      await new Promise<void>((resolve) => this.#capWaiters.push(resolve));
      check();
    }
  }

  /** Reserves part n (`size` bytes) from the shares and registers it as being filled. Rejects ABORTED or BUSY. */
  async reserve(n: number, size: number, signal: AbortSignal): Promise<void> {
    await this.#budget.reservePart(size, signal);
    this.#held += size;
    const token = {};
    this.#tokens.set(n, token);
    this.#budget.openPart(token, size);
  }

  /** `bytes` of pod memory for part n (open). Rejects ABORTED or BUSY; nothing is held then. */
  async grant(n: number, bytes: number, signal: AbortSignal): Promise<void> {
    await this.#budget.grant(this.#tokens.get(n) as object, bytes, signal);
    this.#granted += bytes;
  }

  /** A part stops growing: it is sent from its slabs, which stay granted until S3 answers. */
  sealed(part: SealedPart): SealedPart {
    this.#close(part.n);
    return part;
  }

  /** A sealed part is done with (S3 answered, or it was dropped). */
  releaseSealed(part: SealedPart): void {
    this.releaseGranted(part.slabBytes);
    this.releaseReserved(part.size);
  }

  /** A part dropped unsent, and every part reserved but not opened. */
  releaseDrained(parts: readonly DrainedPart[]): void {
    for (const part of parts) {
      this.#close(part.n);
      this.releaseGranted(part.slabBytes);
      this.releaseReserved(part.size);
    }
    for (const n of [...this.#tokens.keys()]) this.#close(n);
    this.wakeAll();
  }

  releaseGranted(bytes: number): void {
    if (bytes <= 0) return;
    this.#granted -= bytes;
    this.#budget.release(bytes);
    this.#onRelease();
  }

  releaseReserved(bytes: number): void {
    this.#held -= bytes;
    this.#budget.releasePart(bytes);
    this.wakeAll();
    this.#onRelease();
  }

  /** Wakes every upload-cap waiter (they re-check, e.g. for a failure). */
  wakeAll(): void {
    const waiters = this.#capWaiters;
    this.#capWaiters = [];
    for (const w of waiters) w();
  }

  #close(n: number): void {
    const token = this.#tokens.get(n);
    if (token === undefined) return;
    this.#tokens.delete(n);
    this.#budget.closePart(token);
  }
}
