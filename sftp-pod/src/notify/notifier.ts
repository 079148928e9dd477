// Webhook notifications (docs/audit.md "Notifications"): the audit events a server selected (by default the
// successful `upload`, i.e. "upload completed") become signed HTTP POSTs to the one destination the platform's
// profile allowed. At least once: every event is queued (bounded: capacity and age, oldest dropped first and
// counted) and retried with exponential backoff and jitter until a 2xx; retries carry the same delivery id and body
// so the receiver dedupes. Deliveries go one at a time, in order. The notifier is an AuditLog: the pod tees its audit
// events into it, so no request handler knows about webhooks.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Backoff, sleep } from '../../../common/src/kube/backoff.ts';
import { type AllowedDestination, matchDestination } from '../../../common/src/notify/destination.ts';
import type { AuditEvent, AuditLog } from '../audit/event.ts';
import { notifyEvent } from '../audit/event.ts';
import type { Logger } from '../telemetry/log.ts';
import type { PostOutcome, PostRequest } from './post.ts';
import { postOnce } from './post.ts';
import { type Delivery, DeliveryQueue, type DropReason } from './queue.ts';
import { HEADER_DELIVERY, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP, signatureHeader } from './sign.ts';

export interface NotifyConfig {
  readonly url: string;
  /** The profile's entry that allows `url` (the operator passes the one that matched). */
  readonly allowed: AllowedDestination;
  /** Audit actions notified when they succeed. */
  readonly events: readonly string[];
  /** File holding the HMAC key (a mounted Secret key); re-read on every attempt, so a rotation needs no restart. */
  readonly hmacKeyFile: string;
  readonly queueSize: number;
  readonly maxAgeMs: number;
  readonly timeoutMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

export type AttemptResult = 'delivered' | 'failed' | 'refused';

export interface NotifyMetrics {
  attempt(result: AttemptResult): void;
  dropped(reason: DropReason): void;
  queued(size: number): void;
}

export interface NotifierDeps {
  /** Where the notifier's own failure events go (the audit log itself, never the tee, so no loop). */
  readonly audit: AuditLog;
  readonly metrics: NotifyMetrics;
  readonly log: Logger;
  readonly now?: () => number;
  readonly post?: (req: PostRequest) => Promise<PostOutcome>;
  readonly random?: () => number;
}

/**
 * The retry schedule: retry n waits about base x 2^(n-1), capped at max, each delay drawn from ±50 % around it so
 * the pods of a server (and servers sharing a receiver) do not retry in step after an outage.
 */
export function retryBackoff(config: Pick<NotifyConfig, 'retryBaseMs' | 'retryMaxMs'>, random?: () => number): Backoff {
  return new Backoff({
    baseMs: config.retryBaseMs,
    maxMs: config.retryMaxMs,
    jitter: 0.5,
    ...(random ? { random } : {}),
  });
}

export class Notifier implements AuditLog {
  readonly #config: NotifyConfig;
  readonly #url: URL;
  readonly #deps: NotifierDeps;
  readonly #events: ReadonlySet<string>;
  readonly #queue: DeliveryQueue;
  readonly #backoff: Backoff;
  /** The notified event of each queued delivery, for the failure audit events. */
  readonly #origin = new WeakMap<Delivery, AuditEvent>();
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;

  /** Throws RangeError when the URL is not one `config.allowed` allows (the pod re-checks what the operator did). */
  constructor(config: NotifyConfig, deps: NotifierDeps) {
    const match = matchDestination(config.url, [config.allowed]);
    if (!match.ok) throw new RangeError(match.reason);
    this.#config = config;
    this.#url = match.url;
    this.#deps = deps;
    this.#events = new Set(config.events);
    this.#backoff = retryBackoff(config, deps.random);
    this.#queue = new DeliveryQueue(config.queueSize, config.maxAgeMs, (d, why) => this.#dropped(d, why));
  }

  /** Pending deliveries (tests, metrics). */
  get pending(): number {
    return this.#queue.size;
  }

  /** Queues a selected, successful event; never throws, never blocks. */
  emit(event: AuditEvent): void {
    if (event.status !== 'ok' || !this.#events.has(event.action)) return;
    const id = randomUUID();
    const delivery: Delivery = {
      id,
      event: event.action,
      body: JSON.stringify({ id, type: event.action, event }),
      queuedAt: this.#now(),
      attempts: 0,
      lastError: '',
    };
    this.#origin.set(delivery, event);
    this.#queue.push(delivery);
    this.#deps.metrics.queued(this.#queue.size);
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
  }

  /** Gives the queue up to `graceMs` to drain, then stops; what is left is dropped (logged). Idempotent. */
  async close(graceMs = 0): Promise<void> {
    const deadline = this.#now() + graceMs;
    while (this.#queue.size > 0 && this.#running && this.#now() < deadline && !this.#stop.signal.aborted) {
      await new Promise((r) => setTimeout(r, 50));
    }
    this.#stop.abort(new Error('notifier closed'));
    await this.#running;
    if (this.#queue.size > 0) {
      this.#deps.log.warn('webhook deliveries not sent before shutdown', { pending: this.#queue.size });
    }
  }

  #now(): number {
    return (this.#deps.now ?? Date.now)();
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    for (;;) {
      if (signal.aborted) return;
      const d = this.#queue.head(this.#now());
      this.#deps.metrics.queued(this.#queue.size);
      if (!d) return;
      const outcome = await this.#attempt(d, signal);
      this.#deps.metrics.attempt(outcome.ok ? 'delivered' : outcome.kind === 'refused' ? 'refused' : 'failed');
      if (outcome.ok) {
        this.#queue.remove(d);
        continue;
      }
      if (signal.aborted) return;
      d.attempts++;
      d.lastError = outcome.error;
      if (d.attempts === 1) this.#auditFailure(d, `webhook delivery failed, will retry: ${outcome.error}`);
      this.#deps.log.warn('webhook delivery failed', {
        deliveryId: d.id,
        attempts: d.attempts,
        error: outcome.error,
      });
      try {
        await sleep(this.#backoff.delay(d.attempts), signal);
      } catch {
        return;
      }
    }
  }

  async #attempt(d: Delivery, signal: AbortSignal): Promise<PostOutcome> {
    let key: Buffer;
    try {
      key = await readFile(this.#config.hmacKeyFile);
    } catch (err) {
      return { ok: false, kind: 'failed', error: `cannot read the HMAC key: ${(err as { code?: string }).code}` };
    }
    if (key.length === 0) return { ok: false, kind: 'failed', error: 'the HMAC key is empty' };
    const timestamp = Math.floor(this.#now() / 1000);
    const post = this.#deps.post ?? postOnce;
    return post({
      url: this.#url,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'sftpgate-webhook/1',
        [HEADER_DELIVERY]: d.id,
        [HEADER_EVENT]: d.event,
        [HEADER_TIMESTAMP]: String(timestamp),
        [HEADER_SIGNATURE]: signatureHeader(key, timestamp, d.body),
      },
      body: d.body,
      timeoutMs: this.#config.timeoutMs,
      allowPrivateAddresses: this.#config.allowed.allowPrivateAddresses === true,
      signal,
    });
  }

  #dropped(d: Delivery, why: DropReason): void {
    this.#deps.metrics.dropped(why);
    const what = why === 'overflow' ? 'the retry queue was full' : `older than ${this.#config.maxAgeMs} ms`;
    const last = d.lastError === '' ? '' : ` (last error: ${d.lastError})`;
    this.#auditFailure(d, `webhook delivery dropped after ${d.attempts} attempts: ${what}${last}`);
    this.#deps.log.warn('webhook delivery dropped', { deliveryId: d.id, reason: why, attempts: d.attempts });
  }

  #auditFailure(d: Delivery, message: string): void {
    const origin = this.#origin.get(d);
    if (origin) this.#deps.audit.emit(notifyEvent(origin, d, message));
  }
}
