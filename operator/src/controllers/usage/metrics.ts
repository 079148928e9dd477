// The usage measurer's metrics (docs/metrics.md), registered on the operator's registry. Labels are bounded: the
// trigger and the bound that deferred a request, never a namespace or user (those are tenant-chosen and unbounded).
import { Counter, type Registry } from 'prom-client';

export interface UsageMetrics {
  readonly measurements: Counter<'trigger' | 'result'>;
  readonly deferred: Counter;
}

export function usageMetrics(registry: Registry): UsageMetrics {
  const registers = [registry];
  const existing = (name: string) => registry.getSingleMetric(name) as Counter<string> | undefined;
  return {
    measurements:
      (existing('sftpgate_operator_usage_measurements_total') as Counter<'trigger' | 'result'> | undefined) ??
      new Counter({
        name: 'sftpgate_operator_usage_measurements_total',
        help: 'Usage measurements (S3 listings of a user) by trigger (request, periodic) and result (ok, error).',
        labelNames: ['trigger', 'result'],
        registers,
      }),
    deferred:
      existing('sftpgate_operator_usage_requests_deferred_total') ??
      new Counter({
        name: 'sftpgate_operator_usage_requests_deferred_total',
        help: "Measurement requests made to wait by the user's interval or the namespace's budget.",
        registers,
      }),
  };
}
