// The shape every reconcile shares (Flux's bucket_controller: get → defer summarize+patch → ordered sub-reconcilers):
// work on a copy, run the steps in order until one throws or ends the pass, then summarise the conditions and write
// status once, only when it changed. Controllers supply the steps and the two status hooks; nothing else differs.
import { statusEqual } from './conditions.ts';

/** What every step reads and writes: the object's working status, and whether the pass is over (e.g. deleted). */
export interface PassRun<S> {
  readonly status: S;
  /** A step sets this to end the pass after it without running the remaining steps (not an error). */
  done: boolean;
}

/** One sub-reconciler. One signature for all, so the order is data (a list) and each is unit-tested alone. */
export type Step<R> = (run: R) => Promise<void>;

export interface PassHooks<R extends PassRun<S>, S> {
  /** Derives the summary conditions (Ready, observedGeneration) from what the steps recorded. Pure. */
  summarize(run: R, failure: unknown): void;
  /** Writes the status; called only when it differs from `before`. */
  write(run: R): Promise<void>;
  /** False skips summary and write (an object whose finalizer was just released may already be gone). */
  writesStatus?(run: R): boolean;
  /** A status write failing after a step failed is reported here instead of hiding the step's error. */
  onWriteError(err: unknown): void;
}

/**
 * Runs `steps` in order, stopping at the first that throws (rethrown: its type decides the retry) or that sets
 * `run.done`; then summarises and writes status if it changed. `before` is the status as read.
 */
export async function runPass<R extends PassRun<S>, S>(
  run: R,
  before: S,
  steps: readonly Step<R>[],
  hooks: PassHooks<R, S>,
): Promise<void> {
  let failure: unknown;
  try {
    for (const step of steps) {
      await step(run);
      if (run.done) break;
    }
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    if (hooks.writesStatus?.(run) ?? true) {
      hooks.summarize(run, failure);
      if (!statusEqual(before, run.status)) {
        await hooks.write(run).catch((err: unknown) => {
          // The step's error wins: the retry it causes rewrites the status anyway.
          if (failure === undefined) throw err;
          hooks.onWriteError(err);
        });
      }
    }
  }
}
