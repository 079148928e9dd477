// A counting semaphore: at most `limit` holders, the rest wait in arrival order. Caps concurrent password hashing
// (scrypt at ln=15 holds 32 MiB and a core for ~100 ms each; 128 unauthenticated connections hashing at once would
// need 4 GiB).
export class Semaphore {
  readonly #limit: number;
  #held = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs fn when a slot is free; the slot is released when fn settles. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#held >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#held++;
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#held--;
    }
  }
}
