// Fair shares of the pod's transfer budget. Every upload's part buffers are taken from three ByteBudgets at once: its
// session's, its user's and the pod's, always in that order (so waits never form a cycle). A user who opens uploads
// and writes one byte to each can hold at most their share; other users keep the rest of the pod. A wait longer than
// `waitMs` fails with BUSY instead of holding a client (and its budget) forever.
//
// Per-user and per-session budgets exist only while used (refcounted leases), so the maps stay as small as the set of
// users with transfers in progress.

import { ByteBudget, type ByteBudgetHooks } from './budget.ts';
import { StorageError, StorageErrorCode } from './errors.ts';
import type { UploadBudget } from './upload-sink.ts';

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
    this.options = options;
    const ceiling = new ByteBudget(Math.max(1, Math.floor(pod.capacity / 2)));
    this.readAhead = {
      tryAcquire: (n) => {
        if (n > ceiling.capacity || !ceiling.tryAcquire(n)) return false;
        if (pod.tryAcquire(n)) return true;
        ceiling.release(n);
        return false;
      },
      release: (n) => {
        pod.release(n);
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
      ['pod', fair.pod],
    ];
    // A part can outgrow the shares (parts double every 900: 64 MiB at ~105 GiB with 8 MiB parts). Such a part is
    // charged the whole share at the session and user levels and in full at the pod, so very large files still upload
    // (one such part at a time per session) and the pod budget stays exact.
    this.capacity = fair.pod.capacity;
    this.#onClose = onClose;
  }

  /**
   * Takes n bytes from the session's, the user's and the pod's budget, in that order. Rejects ABORTED when the
   * signal fires, BUSY when the wait outlasts the fair budget's waitMs (naming the share that stayed full); nothing is
   * held after a rejection.
   */
  async acquire(n: number, signal?: AbortSignal): Promise<void> {
    const { waitMs } = this.#fair.options;
    const deadline = waitMs > 0 ? AbortSignal.timeout(waitMs) : undefined;
    const combined = deadline && signal ? AbortSignal.any([signal, deadline]) : (deadline ?? signal);
    const taken: ByteBudget[] = [];
    for (const [level, budget] of this.#levels) {
      try {
        await budget.acquire(charge(budget, n), combined);
      } catch (err) {
        for (const b of taken) b.release(charge(b, n));
        if (deadline?.aborted && !signal?.aborted) {
          throw new StorageError(
            StorageErrorCode.Busy,
            `waited ${Number((waitMs / 1000).toFixed(1))} s for upload memory: the ${level}'s share ` +
              `(${budget.capacity} bytes) stayed full; try again later or with fewer transfers at once`,
            { cause: err },
          );
        }
        throw err;
      }
      taken.push(budget);
    }
  }

  /** Takes n bytes only if every level has them free now (read-ahead: never waits). */
  tryAcquire(n: number): boolean {
    const taken: ByteBudget[] = [];
    for (const [, budget] of this.#levels) {
      if (!budget.tryAcquire(charge(budget, n))) {
        for (const b of taken) b.release(charge(b, n));
        return false;
      }
      taken.push(budget);
    }
    return true;
  }

  release(n: number): void {
    for (let i = this.#levels.length - 1; i >= 0; i--) {
      const budget = (this.#levels[i] as readonly [Level, ByteBudget])[1];
      budget.release(charge(budget, n));
    }
  }

  /** Idempotent. The caller holds nothing any more (every acquire was released). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
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
