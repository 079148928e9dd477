// The generic controller loop: informer events -> keys in a de-duplicating work queue -> `reconcile(key, signal)` on
// several workers, never two at once for one key. The reconcile function's outcome decides what happens next:
//   returns                      done; the backoff for the key is reset
//   returns { requeueAfterMs }   run again after that delay (polling something without watch events, e.g. S3)
//   throws StallingError         the spec cannot work: no retry until a watch event for the key arrives
//   throws WaitingError          run again after err.retryAfterMs
//   throws anything else         run again after an exponential backoff with jitter
// Reconcile is level-based: it receives only the key and reads the current state from the informer caches.
import type { BackoffOptions } from './backoff.ts';
import { classifyError } from './errors.ts';
import { type Informer, type InformerEventType, objectKey } from './informer.ts';
import type { KubeObject } from './kube-client.ts';
import { type Logger, silentLogger } from './logger.ts';
import type { OperatorMetrics } from './metrics.ts';
import { WorkQueue } from './work-queue.ts';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** Reconciles one key (`namespace/name`); must honour `signal` (shutdown, leadership loss, pass timeout). */
// biome-ignore lint/suspicious/noConfusingVoidType: reconcilers that return nothing are the common case.
export type ReconcileFunction = (key: string, signal: AbortSignal) => Promise<ReconcileResult | undefined | void>;

/** Maps an event on a secondary object (a Secret, another kind) to the primary keys it affects. */
export interface SecondaryWatch {
  informer: Informer<KubeObject>;
  map: (object: KubeObject, type: InformerEventType, old?: KubeObject) => Iterable<string>;
}

/** Typed constructor for a SecondaryWatch. */
export function watchSecondary<S extends KubeObject>(
  informer: Informer<S>,
  map: (object: S, type: InformerEventType, old?: S) => Iterable<string>,
): SecondaryWatch {
  return {
    informer: informer as unknown as Informer<KubeObject>,
    map: map as SecondaryWatch['map'],
  };
}

/** Which primary events enqueue the key; default: all. */
export type EventPredicate<T> = (type: InformerEventType, object: T, old?: T) => boolean;

/**
 * Enqueue on create/delete, spec changes (generation), deletion start, finalizer/label/annotation changes and
 * periodic resyncs; skip status-only updates (our own status writes would otherwise trigger a pass each).
 */
export function generationChangedPredicate<T extends KubeObject>(type: InformerEventType, object: T, old?: T): boolean {
  if (type !== 'update' || old === undefined || old === object) return true;
  const a = old.metadata ?? {};
  const b = object.metadata ?? {};
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    JSON.stringify(a.finalizers) !== JSON.stringify(b.finalizers) ||
    JSON.stringify(a.labels) !== JSON.stringify(b.labels) ||
    JSON.stringify(a.annotations) !== JSON.stringify(b.annotations)
  );
}

export interface ControllerOptions<T extends KubeObject> {
  /** Metric label and log field: `sftpserver`, `sftpuser`. */
  name: string;
  /** The primary kind's informer; its object keys are the queue keys. */
  informer: Informer<T>;
  reconcile: ReconcileFunction;
  watches?: SecondaryWatch[];
  predicate?: EventPredicate<T>;
  /** Default 4. */
  workers?: number;
  backoff?: BackoffOptions;
  /** A pass taking longer is aborted (its signal fires) and retried with backoff. Default 5 minutes. */
  reconcileTimeoutMs?: number;
  metrics?: OperatorMetrics;
  logger?: Logger;
}

export class Controller<T extends KubeObject> {
  readonly name: string;
  readonly #o: ControllerOptions<T>;
  readonly #logger: Logger;
  #queue: WorkQueue | undefined;
  /** Counters for tests. */
  readonly stats = { passes: 0, errors: 0, stalled: 0 };

  constructor(options: ControllerOptions<T>) {
    this.name = options.name;
    this.#o = options;
    this.#logger = (options.logger ?? silentLogger).child({ controller: options.name });
    const predicate = options.predicate ?? (() => true);
    options.informer.on((type, object, old) => {
      if (predicate(type, object, old)) this.enqueue(objectKey(object));
    });
    for (const watch of options.watches ?? []) {
      watch.informer.on((type, object, old) => {
        try {
          for (const key of watch.map(object, type, old)) this.enqueue(key);
        } catch (err) {
          this.#logger.error('watch mapping threw', { err, object: objectKey(object) });
        }
      });
    }
  }

  /** Queues a key for reconciliation (ignored while the controller is not running, e.g. on a standby replica). */
  enqueue(key: string): void {
    this.#queue?.add(key);
  }

  enqueueAfter(key: string, delayMs: number): void {
    this.#queue?.addAfter(key, delayMs);
  }

  /** The informers this controller reads (the manager starts them). */
  informers(): Informer<KubeObject>[] {
    return [this.#o.informer as unknown as Informer<KubeObject>, ...(this.#o.watches ?? []).map((w) => w.informer)];
  }

  /**
   * Waits for the caches, queues every primary key, and runs workers until `signal` aborts; then waits for
   * in-flight passes (which see the aborted signal) and resolves. Can be called again after it resolves (a new
   * leadership term starts with a fresh queue).
   */
  async run(signal: AbortSignal): Promise<void> {
    for (const informer of this.informers()) {
      try {
        await informer.waitForSync(signal);
      } catch {
        return;
      }
    }
    const metrics = this.#o.metrics;
    const queue = new WorkQueue({
      ...(this.#o.backoff !== undefined && { backoff: this.#o.backoff }),
      ...(metrics !== undefined && { hooks: metrics.queueHooks(this.name) }),
    });
    this.#queue = queue;
    const onAbort = (): void => queue.shutDown();
    signal.addEventListener('abort', onAbort, { once: true });
    for (const key of this.#o.informer.keys()) queue.add(key);
    const workers = Array.from({ length: this.#o.workers ?? 4 }, () => this.#worker(queue, signal));
    this.#logger.info('controller started', { workers: workers.length });
    await Promise.all(workers);
    signal.removeEventListener('abort', onAbort);
    if (this.#queue === queue) this.#queue = undefined;
    this.#logger.info('controller stopped');
  }

  async #worker(queue: WorkQueue, signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await queue.get(signal);
      if (key === undefined) return;
      try {
        await this.#process(queue, key, signal);
      } finally {
        queue.done(key);
      }
    }
  }

  async #process(queue: WorkQueue, key: string, signal: AbortSignal): Promise<void> {
    const metrics = this.#o.metrics;
    const controller = this.name;
    const passSignal = AbortSignal.any([signal, AbortSignal.timeout(this.#o.reconcileTimeoutMs ?? 300_000)]);
    const started = performance.now();
    this.stats.passes++;
    try {
      const result = await this.#o.reconcile(key, passSignal);
      queue.forget(key);
      const requeueAfter = result?.requeueAfterMs;
      if (requeueAfter !== undefined && !signal.aborted) {
        queue.addAfter(key, requeueAfter);
        metrics?.reconcileTotal.inc({ controller, result: 'requeue' });
      } else {
        metrics?.reconcileTotal.inc({ controller, result: 'success' });
      }
    } catch (err) {
      if (signal.aborted) return; // shutdown or leadership loss: the next leader picks the key up
      const decision = classifyError(err);
      metrics?.reconcileErrors.inc({ controller, reason: decision.reason });
      switch (decision.kind) {
        case 'stalling':
          this.stats.stalled++;
          queue.forget(key);
          metrics?.reconcileTotal.inc({ controller, result: 'error' });
          this.#logger.warn('reconcile stalled until the object changes', { key, reason: decision.reason, err });
          break;
        case 'waiting':
          queue.forget(key);
          queue.addAfter(key, decision.delayMs);
          metrics?.reconcileTotal.inc({ controller, result: 'requeue' });
          this.#logger.info('reconcile waiting', { key, reason: decision.reason, retryInMs: decision.delayMs });
          break;
        default: {
          this.stats.errors++;
          const delay = queue.addRateLimited(key);
          metrics?.reconcileTotal.inc({ controller, result: 'error' });
          this.#logger.warn('reconcile failed, retrying', {
            key,
            err,
            retryInMs: delay,
            failures: queue.failures(key),
          });
        }
      }
    } finally {
      metrics?.reconcileDuration.observe({ controller }, (performance.now() - started) / 1000);
    }
  }
}
