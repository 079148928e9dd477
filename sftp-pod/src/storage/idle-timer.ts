// A re-armable timer that never keeps the process alive: the upload sink's idle release (an upload holding budget
// without receiving data is failed so other uploads can have the memory).

export class IdleTimer {
  readonly #ms: number;
  readonly #onIdle: () => void;
  #timer: NodeJS.Timeout | undefined;

  /** `ms` <= 0 disables it. */
  constructor(ms: number, onIdle: () => void) {
    this.#ms = ms;
    this.#onIdle = onIdle;
  }

  /** (Re)starts the countdown. */
  arm(): void {
    if (this.#ms <= 0) return;
    this.stop();
    this.#timer = setTimeout(this.#onIdle, this.#ms);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
