// Wiring of the notifier into the pod (main.ts calls this once): the audit events the pod emits go to the audit
// log and, when --notify-url is set, into the notifier too.
import type { Registry } from 'prom-client';
import type { AuditLog } from '../audit/event.ts';
import { noAudit } from '../audit/event.ts';
import type { Logger } from '../telemetry/log.ts';
import { notifyMetrics } from './metrics.ts';
import { Notifier, type NotifyConfig } from './notifier.ts';

export interface StartedNotifier {
  /** The audit log to hand to the SSH server: the audit log itself, plus the notifier. */
  readonly audit: AuditLog;
  readonly notifier: Notifier;
  close(graceMs: number): Promise<void>;
}

/** The notifier for `config.notify`, or undefined without one. Throws RangeError for a URL its entry does not allow. */
export function startNotifier(
  config: { readonly notify?: NotifyConfig },
  audit: AuditLog | undefined,
  registry: Registry,
  log: Logger,
): StartedNotifier | undefined {
  if (!config.notify) return undefined;
  const base = audit ?? noAudit;
  const notifier = new Notifier(config.notify, { audit: base, metrics: notifyMetrics(registry), log });
  log.info('webhook notifications on', {
    destination: new URL(config.notify.url).origin,
    events: config.notify.events,
  });
  return {
    audit: {
      emit(event) {
        base.emit(event);
        notifier.emit(event);
      },
    },
    notifier,
    close: (graceMs) => notifier.close(graceMs),
  };
}
