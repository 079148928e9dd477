// One scan of the usage measurer: which measurements start now and which requests wait, and until when. Requests
// (annotation sftpgate.io/measure-usage) go first but may hold at most half the workers (`requestWorkers`), so
// periodic measurements always keep the rest; among namespaces the one running the fewest requests goes next, and
// each request passes its user's interval and its namespace's token bucket (request-gate.ts) or waits. Pure apart
// from the gate, which records the requests started.
import type { RequestGate } from './request-gate.ts';

export interface PendingRequest {
  readonly key: string;
  readonly namespace: string;
  /** When the user's current request was first seen pending. */
  readonly since: number;
}

export interface ScanInput {
  readonly now: number;
  readonly concurrency: number;
  /** Measurements running, of which requested ones by namespace. */
  readonly running: number;
  readonly runningRequests: ReadonlyMap<string, number>;
  /** Pending requests of users not being measured. */
  readonly requests: readonly PendingRequest[];
  /** Users due a periodic measurement, most overdue first. */
  readonly periodic: readonly string[];
  /** With one worker, requests and periodic measurements take turns: whether the last start was a request. */
  readonly lastWasRequest: boolean;
}

export interface ScanPlan {
  readonly start: readonly { readonly key: string; readonly trigger: 'request' | 'periodic' }[];
  /** Requests over a bound and the earliest time each can start (Infinity: the namespace gets no tokens). */
  readonly deferred: readonly { readonly key: string; readonly until: number }[];
}

/** Workers requests may hold at once: half of them (one when there is only one, taking turns with periodic ones). */
export function requestWorkers(concurrency: number): number {
  return concurrency <= 1 ? 1 : Math.floor(concurrency / 2);
}

export function planScan(gate: RequestGate, input: ScanInput): ScanPlan {
  const { now } = input;
  const deferred: { key: string; until: number }[] = [];
  // Per namespace, in the order requests became eligible (a request held by its user's interval joins the queue
  // when that ends), so the times published for waiting requests stay put as the queue drains.
  const queues = new Map<string, { key: string; eligible: number }[]>();
  for (const r of input.requests) {
    const userAt = gate.userReadyAt(r.key);
    if (userAt > now) {
      deferred.push({ key: r.key, until: userAt });
      continue;
    }
    const q = queues.get(r.namespace) ?? [];
    q.push({ key: r.key, eligible: Math.max(r.since, userAt) });
    queues.set(r.namespace, q);
  }
  const ready = new Map<string, { key: string; eligible: number }[]>();
  for (const [ns, q] of queues) {
    q.sort((a, b) => a.eligible - b.eligible || (a.key < b.key ? -1 : 1));
    const go: { key: string; eligible: number }[] = [];
    q.forEach((r, ahead) => {
      const at = gate.namespaceReadyAt(ns, now, ahead);
      if (at <= now) go.push(r);
      else deferred.push({ key: r.key, until: at });
    });
    if (go.length > 0) ready.set(ns, go);
  }

  const start: { key: string; trigger: 'request' | 'periodic' }[] = [];
  let free = input.concurrency - input.running;
  const runningByNs = new Map(input.runningRequests);
  let requestsRunning = [...runningByNs.values()].reduce((a, b) => a + b, 0);
  const takeTurn = input.concurrency <= 1 && input.lastWasRequest && input.periodic.length > 0;
  while (!takeTurn && free > 0 && requestsRunning < requestWorkers(input.concurrency)) {
    let best: string | undefined;
    for (const [ns, q] of ready) {
      if (q.length === 0) continue;
      if (best === undefined) {
        best = ns;
        continue;
      }
      const a = runningByNs.get(ns) ?? 0;
      const b = runningByNs.get(best) ?? 0;
      if (a < b || (a === b && (q[0]?.eligible ?? 0) < (ready.get(best)?.[0]?.eligible ?? 0))) best = ns;
    }
    const next = best === undefined ? undefined : ready.get(best)?.shift();
    if (best === undefined || next === undefined) break;
    gate.take(next.key, best, now);
    runningByNs.set(best, (runningByNs.get(best) ?? 0) + 1);
    requestsRunning++;
    free--;
    start.push({ key: next.key, trigger: 'request' });
  }
  for (const key of input.periodic) {
    if (free <= 0) break;
    start.push({ key, trigger: 'periodic' });
    free--;
  }
  return { start, deferred };
}
