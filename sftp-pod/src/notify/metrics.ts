// The notifier's Prometheus metrics (docs/metrics.md), registered on the pod's registry. No label carries a URL,
// a user or a delivery id: results and drop reasons only.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AttemptResult, NotifyMetrics } from './notifier.ts';
import type { DropReason } from './queue.ts';

/** Registers the webhook metrics on `registry` and returns the notifier's view of them. */
export function notifyMetrics(registry: Registry): NotifyMetrics {
  const registers = [registry];
  const attempts = new Counter({
    name: 'sftpgate_webhook_attempts_total',
    help: 'Webhook delivery attempts by result (delivered, failed, refused by the address guard)',
    labelNames: ['result'],
    registers,
  });
  const dropped = new Counter({
    name: 'sftpgate_webhook_dropped_total',
    help: 'Webhook deliveries given up by reason (overflow: queue full, oldest dropped; expired: older than the max age)',
    labelNames: ['reason'],
    registers,
  });
  const queued = new Gauge({
    name: 'sftpgate_webhook_queued',
    help: 'Webhook deliveries waiting or being retried',
    registers,
  });
  return {
    attempt: (result: AttemptResult) => attempts.inc({ result }),
    dropped: (reason: DropReason) => dropped.inc({ reason }),
    queued: (size: number) => queued.set(size),
  };
}
