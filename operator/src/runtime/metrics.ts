// The operator's Prometheus metrics (names and labels: docs/metrics.md), on a registry of its own so tests can run
// several operators in one process. Label values are bounded: controller names, verbs, resource plurals, reasons.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RequestHook } from './kube-client.ts';
import type { WorkQueueHooks } from './work-queue.ts';

export type ReconcileResultLabel = 'success' | 'error' | 'requeue';

export class OperatorMetrics {
  readonly registry: Registry;
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller' | 'reason'>;
  readonly reconcileDuration: Histogram<'controller'>;
  readonly workqueueDepth: Gauge<'controller'>;
  readonly workqueueLatency: Histogram<'controller'>;
  readonly workqueueRetries: Counter<'controller'>;
  readonly leader: Gauge;
  readonly resources: Gauge<'kind' | 'ready'>;
  readonly apiRequests: Counter<'verb' | 'resource'>;

  readonly #readiness = new Map<string, () => { ready: number; notReady: number }>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registry = new Registry();
    const readiness = this.#readiness;
    this.registry = registry;
    const registers = [registry];
    this.reconcileTotal = new Counter({
      name: 'sftpgate_operator_reconcile_total',
      help: 'Reconcile passes by controller and result.',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'sftpgate_operator_reconcile_errors_total',
      help: 'Failed reconcile passes by typed error reason.',
      labelNames: ['controller', 'reason'],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'sftpgate_operator_reconcile_duration_seconds',
      help: 'Duration of one reconcile pass.',
      labelNames: ['controller'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.workqueueDepth = new Gauge({
      name: 'sftpgate_operator_workqueue_depth',
      help: 'Keys waiting in the work queue.',
      labelNames: ['controller'],
      registers,
    });
    this.workqueueLatency = new Histogram({
      name: 'sftpgate_operator_workqueue_latency_seconds',
      help: 'Time from enqueue to the start of work.',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
      registers,
    });
    this.workqueueRetries = new Counter({
      name: 'sftpgate_operator_workqueue_retries_total',
      help: 'Keys requeued with backoff.',
      labelNames: ['controller'],
      registers,
    });
    this.leader = new Gauge({
      name: 'sftpgate_operator_leader',
      help: '1 on the replica holding the leader Lease.',
      registers,
    });
    this.resources = new Gauge({
      name: 'sftpgate_operator_resources',
      help: 'SftpServers and SftpUsers by readiness.',
      labelNames: ['kind', 'ready'],
      registers,
      // Computed at scrape time from the informer caches: always current, no bookkeeping in reconcilers.
      collect() {
        for (const [kind, count] of readiness) {
          const { ready, notReady } = count();
          this.set({ kind, ready: 'true' }, ready);
          this.set({ kind, ready: 'false' }, notReady);
        }
      },
    });
    this.apiRequests = new Counter({
      name: 'sftpgate_operator_api_requests_total',
      help: 'Requests to the API server by verb and resource.',
      labelNames: ['verb', 'resource'],
      registers,
    });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'sftpgate_operator_' });
  }

  /** Reports `kind`'s objects by readiness in sftpgate_operator_resources (the Manager wires its informers). */
  trackReadiness(kind: string, count: () => { ready: number; notReady: number }): void {
    this.#readiness.set(kind, count);
  }

  /** Hooks for a controller's work queue. */
  queueHooks(controller: string): WorkQueueHooks {
    return {
      depth: (depth) => this.workqueueDepth.set({ controller }, depth),
      latency: (seconds) => this.workqueueLatency.observe({ controller }, seconds),
      retry: () => this.workqueueRetries.inc({ controller }),
    };
  }

  /** Hook for KubeClient: counts every request. */
  requestHook(): RequestHook {
    return (verb, resource) => this.apiRequests.inc({ verb, resource });
  }
}
