// Measures every SftpUser's usage from S3 (docs/operations.md "Quotas"): periodically (every `intervalMs`, jittered
// ±20 %) and on request (annotation sftpgate.io/measure-usage), at most `concurrency` users at a time. Each
// measurement lists the user's prefixes (cloud/s3/usage.ts), writes `<server prefix>/.sftpgate/usage/<user>/
// measured.json` for the pods, then merge-patches `status.usage` (only that field: the user reconciler's apply of the
// rest of the status is untouched) when the counts changed, a request is answered, or at least hourly — so 10,000
// users measured every 5 min cost the API server a write only for users whose usage moved. Runs on the leader only
// (a Manager runnable).
import { measurementKey, podsPrefix } from '../../../../common/src/quota/usage-document.ts';
import type { SftpUser } from '../../api/types.generated.ts';
import type { KubeClient, KubeObject } from '../../runtime/kube-client.ts';
import { Resources } from '../../runtime/kube-client.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { ControllerContext } from '../context.ts';
import { allottedPlacement, bucketFor } from '../placement-of.ts';
import { loginOf, nextDue, pendingRequest, statusDue, usagePrefixes } from './prefixes.ts';

export interface UsageMeasurerOptions {
  readonly ctx: ControllerContext;
  readonly client: KubeClient;
  readonly logger: Logger;
  /** Periodic measurement of each user; default 5 min. */
  readonly intervalMs?: number;
  /** Users measured at once; default 4. */
  readonly concurrency?: number;
  /** How often the user cache is scanned for due users and requests; default 1 s. */
  readonly scanMs?: number;
  /** Reports each measurement (tests, metrics). */
  readonly onMeasured?: (key: string, result: { bytes: number; files: number; requests: number }) => void;
}

export const DEFAULT_USAGE_INTERVAL_MS = 300_000;

/** A pod's usage object not written for this long is deleted at the next measurement. */
export const STALE_POD_USAGE_MS = 3_600_000;

/** Runs until `signal` aborts. */
export async function runUsageMeasurer(o: UsageMeasurerOptions, signal: AbortSignal): Promise<void> {
  const interval = o.intervalMs ?? DEFAULT_USAGE_INTERVAL_MS;
  const concurrency = Math.max(1, o.concurrency ?? 4);
  const due = new Map<string, number>();
  /** Requests already answered, until the cache shows the answer. */
  const answered = new Map<string, string>();
  const running = new Set<string>();
  const log = o.logger;

  const measureOne = async (key: string, user: SftpUser & KubeObject, request: string | undefined) => {
    const server = o.ctx.servers.get(`${user.metadata.namespace}/${user.spec.serverRef.name}`);
    const placement = server ? allottedPlacement(o.ctx, server) : undefined;
    if (!server || !placement) return false;
    const bucket = bucketFor(o.ctx, server, placement);
    if (!bucket.measureUsage || !bucket.writeUsage) return false;
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
    if (!statusDue(user.status?.usage, measured, request, measuredAt)) {
      o.onMeasured?.(key, measured);
      return true;
    }
    await o.client.mergePatch(
      Resources.SftpUser,
      user.metadata.namespace,
      user.metadata.name ?? '',
      {
        status: {
          usage: {
            bytes: measured.bytes,
            files: measured.files,
            measuredAt: new Date(measuredAt).toISOString(),
            ...(request !== undefined ? { request } : {}),
          },
        },
      },
      { subresource: 'status', signal },
    );
    o.onMeasured?.(key, measured);
    return true;
  };

  const start = (key: string, user: SftpUser & KubeObject, request: string | undefined) => {
    running.add(key);
    void measureOne(key, user, request)
      .then(
        (done) => {
          if (request !== undefined && done) answered.set(key, request);
          due.set(key, done ? nextDue(Date.now(), interval, Math.random()) : Date.now() + 30_000);
        },
        (err: unknown) => {
          if (signal.aborted) return;
          log.warn('usage measurement failed', { sftpuser: key, err: String(err) });
          due.set(key, Date.now() + Math.min(interval, 60_000));
        },
      )
      .finally(() => running.delete(key));
  };

  while (!signal.aborted) {
    const now = Date.now();
    const seen = new Set<string>();
    // On-demand requests first, then the most overdue periodic ones.
    const requests: [string, SftpUser & KubeObject, string][] = [];
    const periodic: [number, string, SftpUser & KubeObject][] = [];
    for (const u of o.ctx.users.list() as (SftpUser & KubeObject)[]) {
      const key = `${u.metadata.namespace}/${u.metadata.name}`;
      seen.add(key);
      if (running.has(key) || u.metadata.deletionTimestamp) continue;
      const request = pendingRequest(u);
      if (request !== undefined && answered.get(key) !== request) {
        requests.push([key, u, request]);
        continue;
      }
      if (request === undefined) answered.delete(key);
      // A user never measured (or not since this operator started) is due soon, spread over the first scans.
      if (!due.has(key)) due.set(key, u.status?.usage ? nextDue(now, interval, Math.random()) : now);
      const at = due.get(key) ?? now;
      if (at <= now) periodic.push([at, key, u]);
    }
    for (const key of due.keys()) if (!seen.has(key)) due.delete(key);
    periodic.sort((a, b) => a[0] - b[0]);
    for (const [key, u, request] of requests) {
      if (running.size >= concurrency) break;
      start(key, u, request);
    }
    for (const [, key, u] of periodic) {
      if (running.size >= concurrency) break;
      start(key, u, undefined);
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, o.scanMs ?? 1_000);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  }
}
