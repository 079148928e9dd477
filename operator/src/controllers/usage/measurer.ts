// Measures every SftpUser's usage from S3 (docs/operations.md "Quotas"): periodically (every `intervalMs`, jittered
// ±20 %) and on request (annotation sftpgate.io/measure-usage), at most `concurrency` users at a time. Each
// measurement lists the user's prefixes (cloud/s3/usage.ts), writes `<server prefix>/.sftpgate/usage/<user>/
// measured.json` for the pods, then merge-patches `status.usage` (only that field: the user reconciler's apply of the
// rest of the status is untouched) when the counts changed, a request is answered, or at least hourly — so 10,000
// users measured every 5 min cost the API server a write only for users whose usage moved. Requests are written by
// tenants, so they are bounded (request-gate.ts, plan.ts): per user, per namespace, and to half the workers; a
// request over a bound waits and `status.usage.requestDeferredUntil` says until when. New users without a quota
// join the periodic cycle instead of being measured at once (prefixes.ts firstDue). Runs on the leader only (a
// Manager runnable).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Registry } from 'prom-client';
import { measurementKey, podsPrefix } from '../../../../common/src/quota/usage-document.ts';
import type { SftpUser } from '../../api/types.generated.ts';
import type { KubeClient, KubeObject } from '../../runtime/kube-client.ts';
import { Resources } from '../../runtime/kube-client.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { ControllerContext } from '../context.ts';
import { allottedPlacement, bucketFor } from '../placement-of.ts';
import { usageMetrics } from './metrics.ts';
import { type PendingRequest, planScan } from './plan.ts';
import { firstDue, hasQuota, loginOf, nextDue, pendingRequest, statusDue, usagePrefixes } from './prefixes.ts';
import { DEFAULT_REQUEST_LIMITS, RequestGate, type RequestLimits } from './request-gate.ts';

export type MeasureTrigger = 'request' | 'periodic';

export interface UsageMeasurerOptions {
  readonly ctx: ControllerContext;
  readonly client: KubeClient;
  readonly logger: Logger;
  /** Periodic measurement of each user; default 5 min. */
  readonly intervalMs?: number;
  /** Users measured at once; default 4. */
  readonly concurrency?: number;
  /** Bounds on requested measurements; default DEFAULT_REQUEST_LIMITS. */
  readonly requestLimits?: RequestLimits;
  /** How often the user cache is scanned for due users and requests; default 1 s. */
  readonly scanMs?: number;
  /** The operator's metrics registry (sftpgate_operator_usage_*). */
  readonly registry?: Registry;
  /** Uniform in [0, 1): the jitter of due times (tests pin it). */
  readonly random?: () => number;
  /** Reports each measurement (tests, metrics). */
  readonly onMeasured?: (
    key: string,
    result: { bytes: number; files: number; requests: number; trigger: MeasureTrigger },
  ) => void;
}

export const DEFAULT_USAGE_INTERVAL_MS = 300_000;

/** A pod's usage object not written for this long is deleted at the next measurement. */
export const STALE_POD_USAGE_MS = 3_600_000;

/** A published deferral is rewritten only when the estimate moves by more than this (API writes stay rare). */
const DEFERRAL_SLACK_MS = 5_000;

type User = SftpUser & KubeObject;

/** Runs until `signal` aborts. */
export async function runUsageMeasurer(o: UsageMeasurerOptions, signal: AbortSignal): Promise<void> {
  const interval = o.intervalMs ?? DEFAULT_USAGE_INTERVAL_MS;
  const concurrency = Math.max(1, o.concurrency ?? 4);
  const gate = new RequestGate(o.requestLimits ?? DEFAULT_REQUEST_LIMITS);
  const metrics = o.registry ? usageMetrics(o.registry) : undefined;
  const random = o.random ?? Math.random;
  const due = new Map<string, number>();
  /** Users first seen without a quota and not measured yet: a quota added later brings their measurement forward. */
  const joined = new Set<string>();
  /** Requests already answered, until the cache shows the answer. */
  const answered = new Map<string, string>();
  /** When each user's pending request was first seen. */
  const since = new Map<string, number>();
  /** The deferral last published per user (ms). */
  const published = new Map<string, number>();
  const running = new Map<string, MeasureTrigger>();
  const runningRequests = new Map<string, number>();
  let lastWasRequest = false;
  const log = o.logger;

  const measureOne = async (user: User, request: string | undefined, deferralShown: boolean) => {
    const server = o.ctx.servers.get(`${user.metadata.namespace}/${user.spec.serverRef.name}`);
    const placement = server ? allottedPlacement(o.ctx, server) : undefined;
    if (!server || !placement) return undefined;
    const bucket = bucketFor(o.ctx, server, placement);
    if (!bucket.measureUsage || !bucket.writeUsage) return undefined;
    const { username } = loginOf(user);
    const startedAt = Date.now();
    const measured = await bucket.measureUsage(usagePrefixes(placement.prefix, user), signal);
    const measuredAt = Date.now();
    await bucket.writeUsage(
      measurementKey(placement.prefix, username),
      { version: 1, username, bytes: measured.bytes, files: measured.files, startedAt, measuredAt },
      signal,
    );
    // Pods' objects untouched for an hour hold nothing this measurement lacks (their leases expired long ago).
    await bucket.pruneUsage?.(podsPrefix(placement.prefix, username), new Date(startedAt - STALE_POD_USAGE_MS), signal);
    // A published deferral goes with the request it announced (or with the annotation, if that was removed).
    const current = user.status?.usage;
    const clearDeferral = deferralShown && (request !== undefined || pendingRequest(user) === undefined);
    if (!statusDue(current, measured, request, measuredAt, clearDeferral)) return measured;
    await patchUsage(user, {
      bytes: measured.bytes,
      files: measured.files,
      measuredAt: new Date(measuredAt).toISOString(),
      ...(request !== undefined ? { request } : {}),
      ...(clearDeferral ? { requestDeferredUntil: null } : {}),
    });
    return measured;
  };

  const patchUsage = (user: User, usage: Record<string, unknown>) =>
    o.client.mergePatch(
      Resources.SftpUser,
      user.metadata.namespace,
      user.metadata.name ?? '',
      { status: { usage } },
      { subresource: 'status', signal },
    );

  /** A periodic measurement may answer a request (`request` set); a requested one always does. */
  const start = (key: string, user: User, request: string | undefined, trigger: MeasureTrigger) => {
    const ns = user.metadata.namespace ?? '';
    running.set(key, trigger);
    if (trigger === 'request') runningRequests.set(ns, (runningRequests.get(ns) ?? 0) + 1);
    lastWasRequest = trigger === 'request';
    const deferralShown = published.delete(key) || user.status?.usage?.requestDeferredUntil !== undefined;
    void measureOne(user, request, deferralShown)
      .then(
        (measured) => {
          if (measured) {
            metrics?.measurements.inc({ trigger, result: 'ok' });
            o.onMeasured?.(key, { ...measured, trigger });
            joined.delete(key);
          }
          if (request !== undefined && measured) answered.set(key, request);
          due.set(key, measured ? nextDue(Date.now(), interval, random()) : Date.now() + 30_000);
        },
        (err: unknown) => {
          if (signal.aborted) return;
          metrics?.measurements.inc({ trigger, result: 'error' });
          log.warn('usage measurement failed', { sftpuser: key, err: String(err) });
          due.set(key, Date.now() + Math.min(interval, 60_000));
        },
      )
      .finally(() => {
        running.delete(key);
        if (trigger === 'request') {
          const n = (runningRequests.get(ns) ?? 1) - 1;
          if (n > 0) runningRequests.set(ns, n);
          else runningRequests.delete(ns);
        }
      });
  };

  /** Tells the user when its waiting request will run (once per wait, and again only if the estimate moves). */
  const publishDeferral = (user: User, key: string, until: number) => {
    if (!Number.isFinite(until)) return;
    const last = published.get(key);
    if (last !== undefined && Math.abs(last - until) <= DEFERRAL_SLACK_MS) return;
    published.set(key, until);
    metrics?.deferred.inc();
    patchUsage(user, { requestDeferredUntil: new Date(until).toISOString() }).catch((err: unknown) => {
      if (signal.aborted) return;
      published.delete(key);
      log.warn('usage request deferral not published', { sftpuser: key, err: String(err) });
    });
  };

  while (!signal.aborted) {
    const now = Date.now();
    const users = new Map<string, { user: User; request: string | undefined }>();
    const requests: PendingRequest[] = [];
    const periodic: [number, string][] = [];
    // Over the cache's own keys: building `namespace/name` anew for every user (and hashing it in the first lookup)
    // was most of a scan's CPU at 10,000 users, once a second.
    for (const key of o.ctx.users.keys()) {
      const u = o.ctx.users.get(key) as User | undefined;
      if (u === undefined) continue;
      if (running.has(key) || u.metadata.deletionTimestamp) continue;
      const request = pendingRequest(u);
      const asked = request !== undefined && answered.get(key) !== request;
      if (!asked) since.delete(key);
      if (request === undefined) answered.delete(key);
      if (!due.has(key)) {
        const at = firstDue(u, now, interval, random());
        due.set(key, at);
        if (at > now && u.status?.usage?.measuredAt === undefined) joined.add(key);
      } else if (joined.has(key) && hasQuota(u)) {
        // A quota added before the first measurement: uploads wait for it now.
        due.set(key, now);
        joined.delete(key);
      }
      const at = due.get(key) ?? now;
      // A periodic measurement that comes due answers a waiting request too (no token spent: it would run anyway),
      // so a request held back never holds back the user's periodic measurement.
      if (at <= now || asked) users.set(key, { user: u, request: asked ? request : undefined });
      if (at <= now) periodic.push([at, key]);
      else if (asked) {
        if (!since.has(key)) since.set(key, now);
        requests.push({ key, namespace: u.metadata.namespace ?? '', since: since.get(key) ?? now });
      }
    }
    // Users gone from the cache are forgotten. Asking the cache (its keys and these maps' keys keep their hashes)
    // instead of collecting this scan's keys in a Set: building that Set was half of a scan's CPU at 10,000 users.
    const seen = { has: (key: string) => o.ctx.users.get(key) !== undefined };
    for (const map of [due, since, published, answered])
      for (const key of map.keys()) if (!seen.has(key)) map.delete(key);
    for (const key of joined) if (!seen.has(key)) joined.delete(key);
    gate.retain(seen, now);
    periodic.sort((a, b) => a[0] - b[0]);
    const plan = planScan(gate, {
      now,
      concurrency,
      running: running.size,
      runningRequests,
      requests,
      periodic: periodic.map(([, key]) => key),
      lastWasRequest,
    });
    for (const { key, until } of plan.deferred) {
      const u = users.get(key);
      if (u) publishDeferral(u.user, key, until);
    }
    for (const { key, trigger } of plan.start) {
      const u = users.get(key);
      if (u) start(key, u.user, u.request, trigger);
    }
    // Removes its abort listener when the time is up (a listener added per scan and never removed grew the
    // manager's signal by one closure a second for as long as the operator ran).
    await sleep(o.scanMs ?? 1_000, undefined, { signal }).catch(() => undefined);
  }
}
