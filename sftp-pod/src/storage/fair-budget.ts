// Fair shares of the pod's transfer budget. Every upload part is reserved whole from its session's and its user's
// share (in that order, so waits never form a cycle) when its first byte arrives; the pod's memory is granted in
// slabs as bytes arrive (growth-gate.ts). A user who opens uploads and writes one byte to each reserves at most their
// share, and holds one slab per part of the pod's memory. A wait longer than `waitMs` fails with BUSY instead of
// holding a client (and its budget) forever.
//
// Per-user and per-session budgets exist only while used (refcounted leases), so the maps stay as small as the set of
// users with transfers in progress.

import { ByteBudget, type ByteBudgetHooks } from './budget.ts';
import { StorageError, StorageErrorCode } from './errors.ts';
import { GrowthGate } from './growth-gate.ts';
import type { UploadBudget } from './upload-memory.ts';

export interface FairBudgetOptions {
  /** Most bytes one user's transfers may hold at once (all their sessions together). */
  readonly perUserBytes: number;
  /** Most bytes one session's transfers may hold at once. */
  readonly perSessionBytes: number;
  /** A wait for budget longer than this fails BUSY; 0 waits as long as the caller's signal allows. */
  readonly waitMs: number;
}

interface Entry {
  readonly budget: ByteBudget;
  refs: number;
}

type Level = 'session' | 'user' | 'pod';

/** Budget for read-ahead chunks: never waits. */
export interface ReadAheadBudget {
  /** Takes n bytes if free now (within the read-ahead ceiling and the pod budget); false otherwise. */
  tryAcquire(n: number): boolean;
  release(n: number): void;
  /** Bytes read-ahead holds now. */
  readonly used: number;
}

export class FairBudget {
  readonly pod: ByteBudget;
  /** The pod's memory, granted in slabs with the oldest-part-first rule. */
  readonly gate: GrowthGate;
  readonly options: FairBudgetOptions;
  readonly #users = new Map<string, Entry>();
  readonly #sessions = new Map<string, Entry>();
  /**
   * Read-ahead never holds more than half the pod budget: it is taken without waiting, and a reader that opens many
   * files and stops reading would otherwise hold budget every upload then waits for. Reads beyond it are direct GETs.
   */
  readonly readAhead: ReadAheadBudget;

  /** Throws RangeError when a share is not a positive integer or exceeds the pod budget. */
  constructor(pod: ByteBudget, options: FairBudgetOptions) {
    for (const [name, v] of [
      ['perUserBytes', options.perUserBytes],
      ['perSessionBytes', options.perSessionBytes],
    ] as const) {
      if (!Number.isSafeInteger(v) || v <= 0 || v > pod.capacity) {
        throw new RangeError(`${name} must be between 1 and the pod budget (${pod.capacity}), got ${v}`);
      }
    }
    if (!Number.isSafeInteger(options.waitMs) || options.waitMs < 0) throw new RangeError('waitMs must be >= 0');
    this.pod = pod;
    this.gate = new GrowthGate(pod);
    this.options = options;
    const ceiling = new ByteBudget(Math.max(1, Math.floor(pod.capacity / 2)));
    const gate = this.gate;
    this.readAhead = {
      tryAcquire: (n) => {
        if (n > ceiling.capacity || !ceiling.tryAcquire(n)) return false;
        if (gate.tryAcquireSpare(n)) return true;
        ceiling.release(n);
        return false;
      },
      release: (n) => {
        gate.release(n);
        ceiling.release(n);
      },
      get used() {
        return ceiling.used;
      },
    };
  }

  /** Users and sessions with a live lease (for tests and gauges). */
  get activeUsers(): number {
    return this.#users.size;
  }
  get activeSessions(): number {
    return this.#sessions.size;
  }

  /** Bytes one user holds now (0 when they hold nothing). */
  userUsed(user: string): number {
    return this.#users.get(user)?.budget.used ?? 0;
  }

  /** A lease for one transfer; `close()` it once the transfer holds nothing. */
  lease(user: string, sessionId: string): BudgetLease {
    const hooks = this.pod.onPause ? { onPause: this.pod.onPause } : {};
    const u = ref(this.#users, user, this.options.perUserBytes, hooks);
    const s = ref(this.#sessions, sessionId, Math.min(this.options.perSessionBytes, this.options.perUserBytes), hooks);
    return new BudgetLease(this, s.budget, u.budget, () => {
      unref(this.#users, user);
      unref(this.#sessions, sessionId);
    });
  }
}

export class BudgetLease implements UploadBudget {
  readonly capacity: number;
  readonly #fair: FairBudget;
  readonly #levels: readonly (readonly [Level, ByteBudget])[];
  readonly #onClose: () => void;
  #closed = false;

  constructor(fair: FairBudget, session: ByteBudget, user: ByteBudget, onClose: () => void) {
    this.#fair = fair;
    this.#levels = [
      ['session', session],
      ['user', user],
    ];
    // A part can outgrow the shares (parts double every 900: 64 MiB at ~105 GiB with 8 MiB parts). Such a part is
    // charged the whole share at the session and user levels, so very large files still upload (one such part at a
    // time per session); the pod's memory is granted exactly.
    this.capacity = fair.pod.capacity;
    this.#onClose = onClose;
  }

  /**
   * Reserves a part of `size` bytes from the session's and the user's share, in that order. Rejects ABORTED when the
   * signal fires, BUSY when the wait outlasts waitMs (naming the share that stayed full); nothing is held after a
   * rejection.
   */
  async reservePart(size: number, signal?: AbortSignal): Promise<void> {
    // Free shares (the usual case): no deadline timer and no combined signal for a wait that does not happen.
    if (!signal?.aborted && this.tryReservePart(size)) return;
    const { deadline, combined } = this.#deadline(signal);
    const taken: ByteBudget[] = [];
    for (const [level, budget] of this.#levels) {
      try {
        await budget.acquire(charge(budget, size), combined);
      } catch (err) {
        for (const b of taken) b.release(charge(b, size));
        throw this.#busy(err, deadline, signal, `the ${level}'s share (${budget.capacity} bytes)`);
      }
      taken.push(budget);
    }
  }

  /** Takes a part's reservation only if both shares have it free now (never waits). */
  tryReservePart(size: number): boolean {
    const taken: ByteBudget[] = [];
    for (const [, budget] of this.#levels) {
      if (!budget.tryAcquire(charge(budget, size))) {
        for (const b of taken) b.release(charge(b, size));
        return false;
      }
      taken.push(budget);
    }
    return true;
  }

  releasePart(size: number): void {
    for (let i = this.#levels.length - 1; i >= 0; i--) {
      const budget = (this.#levels[i] as readonly [Level, ByteBudget])[1];
      budget.release(charge(budget, size));
    }
  }

  openPart(token: object, size: number): void {
    this.#fair.gate.open(token, size);
  }

  closePart(token: object): void {
    this.#fair.gate.close(token);
  }

  /** n bytes of the pod's memory for the open part `token` (slabs as data arrives). Rejects ABORTED or BUSY. */
  async grant(token: object, n: number, signal?: AbortSignal): Promise<void> {
    if (!signal?.aborted && this.#fair.gate.tryAcquire(token, n)) return;
    const { deadline, combined } = this.#deadline(signal);
    try {
      await this.#fair.gate.acquire(token, n, combined);
    } catch (err) {
      throw this.#busy(err, deadline, signal, `the pod's memory (${this.#fair.pod.capacity} bytes)`);
    }
  }

  /** Returns pod memory granted by `grant`. */
  release(n: number): void {
    this.#fair.gate.release(n);
  }

  /** Idempotent. The caller holds nothing any more (every reservation and grant was released). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
  }

  #deadline(signal: AbortSignal | undefined): { deadline?: AbortSignal; combined?: AbortSignal } {
    const { waitMs } = this.#fair.options;
    const deadline = waitMs > 0 ? AbortSignal.timeout(waitMs) : undefined;
    const combined = deadline && signal ? AbortSignal.any([signal, deadline]) : (deadline ?? signal);
    return { ...(deadline ? { deadline } : {}), ...(combined ? { combined } : {}) };
  }

  #busy(err: unknown, deadline: AbortSignal | undefined, signal: AbortSignal | undefined, what: string): unknown {
    if (!deadline?.aborted || signal?.aborted) return err;
    const { waitMs } = this.#fair.options;
    return new StorageError(
      StorageErrorCode.Busy,
      `waited ${Number((waitMs / 1000).toFixed(1))} s for upload memory: ${what} stayed full; ` +
        'try again later or with fewer transfers at once',
      { cause: err },
    );
  }
}

/** What n bytes cost at one level: at most its whole capacity (the pod's capacity bounds n itself). */
function charge(budget: ByteBudget, n: number): number {
  return Math.min(n, budget.capacity);
}

function ref(map: Map<string, Entry>, key: string, capacity: number, hooks: ByteBudgetHooks): Entry {
  let e = map.get(key);
  if (e === undefined) {
    e = { budget: new ByteBudget(capacity, hooks), refs: 0 };
    map.set(key, e);
  }
  e.refs++;
  return e;
}

function unref(map: Map<string, Entry>, key: string): void {
  const e = map.get(key);
  if (e === undefined) return;
  e.refs--;
  if (e.refs <= 0) map.delete(key);
}

/** What a pod's configuration says about shares (0 or absent: derived from the pod budget). */
export interface ShareSettings {
  readonly partSize: number;
  readonly perUploadBytes: number;
  readonly perUserBytes?: number;
  readonly perSessionBytes?: number;
  readonly waitMs?: number;
}

/**
 * The shares a pod uses: per user a quarter of the pod budget, per session an eighth, each at least what one upload
 * needs to progress out of order (3 parts) and what one upload may hold, and never more than the pod budget.
 */
export function fairShares(podCapacity: number, s: ShareSettings): FairBudgetOptions {
  const window = 3 * s.partSize;
  const clamp = (v: number) => Math.min(podCapacity, Math.max(window, v));
  const perUserBytes = s.perUserBytes ? Math.min(podCapacity, s.perUserBytes) : clamp(Math.floor(podCapacity / 4));
  const perSessionBytes = Math.min(
    perUserBytes,
    s.perSessionBytes ? s.perSessionBytes : clamp(Math.max(s.perUploadBytes, Math.floor(podCapacity / 8))),
  );
  return { perUserBytes, perSessionBytes, waitMs: s.waitMs ?? 60_000 };
}

// One FairBudget per pod budget: per-login storages (STS/AWS modes) share the pod's budget and so its shares. The
// first storage built on a pod budget decides the settings (every login of a pod has the same configuration).
const fairs = new WeakMap<ByteBudget, FairBudget>();
export function fairBudgetFor(pod: ByteBudget, settings: ShareSettings): FairBudget {
  let fair = fairs.get(pod);
  if (fair === undefined) {
    fair = new FairBudget(pod, fairShares(pod.capacity, settings));
    fairs.set(pod, fair);
  }
  return fair;
}
