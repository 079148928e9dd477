// A tenant hammering the sftpgate.io/measure-usage annotation (docs/security.md), against a real API server and MinIO:
// tenant A re-sets it 50 times on each of 5 users as fast as the API server takes it. The S3 listings MinIO counts
// stay within what the bounds allow (per-user interval, per-namespace token bucket, half the workers), every user
// still gets its latest request answered (a request over a bound waits, status.usage.requestDeferredUntil says until
// when), and tenant B's request and periodic measurements keep their time. A control run with the bounds lifted
// shows the same attack lists far more, so the bound is what the assertions see.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type MeasureTrigger, runUsageMeasurer } from '../../operator/src/controllers/usage/measurer.ts';
import type { RequestLimits } from '../../operator/src/controllers/usage/request-gate.ts';
import { Resources } from '../../operator/src/runtime/kube-client.ts';
import { silentLogger } from '../../operator/src/runtime/logger.ts';
import { diffMinioCounters, readMinioCounters } from '../bench/lib/minio-metrics.ts';
import {
  createNamespace,
  getUser,
  type RunningOperator,
  serverConditionsTrue,
  serverManifest,
  startOperator,
  startTenantBed,
  type TestBed,
  userManifest,
  waitFor,
} from './operator-harness.ts';

const A = 'tenant-a';
const B = 'tenant-b';
const A_USERS = ['a0', 'a1', 'a2', 'a3', 'a4'];
const RESETS = 50;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@b';
const INTERVAL_MS = 15_000;
const LIMITS: RequestLimits = { userIntervalMs: 5_000, perMinute: 12, burst: 3 };
const ANNOTATION = 'sftpgate.io/measure-usage';

let bed: TestBed;
let op: RunningOperator;
const events: { key: string; trigger: MeasureTrigger; at: number }[] = [];

/** Runs a measurer with `limits` until the returned function is called. */
function measurer(limits: RequestLimits): () => Promise<void> {
  const stop = new AbortController();
  const done = runUsageMeasurer(
    {
      ctx: op.controllers.context,
      client: op.client,
      logger: silentLogger,
      intervalMs: INTERVAL_MS,
      concurrency: 4,
      requestLimits: limits,
      scanMs: 200,
      registry: op.manager.metrics.registry,
      onMeasured: (key, r) => events.push({ key, trigger: r.trigger, at: Date.now() }),
    },
    stop.signal,
  );
  return async () => {
    stop.abort();
    await done;
    // Let measurements already started finish before the next phase counts.
    await new Promise((r) => setTimeout(r, 1_000));
  };
}

const annotate = (ns: string, name: string, value: string) =>
  bed.admin.mergePatch(Resources.SftpUser, ns, name, { metadata: { annotations: { [ANNOTATION]: value } } });

/** Re-sets the annotation `RESETS` times on every user of tenant A, users in parallel, rounds one after another. */
async function attack(tag: string, during?: (round: number) => Promise<void>): Promise<void> {
  for (let round = 0; round < RESETS; round++) {
    await Promise.all(A_USERS.map((u) => annotate(A, u, `${tag}-${round}`)));
    await during?.(round);
  }
}

const count = (from: number, to: number, pred: (e: (typeof events)[number]) => boolean) =>
  events.filter((e) => e.at >= from && e.at <= to && pred(e)).length;
const inA = (e: { key: string }) => e.key.startsWith(`${A}/`);

/** What the token bucket lets one namespace start in `ms`: the burst, then perMinute. */
const budget = (limits: RequestLimits, ms: number) => limits.burst + Math.floor((limits.perMinute * ms) / 60_000);

before(async () => {
  bed = await startTenantBed(A);
  await createNamespace(bed, B);
  op = startOperator(bed);
  for (const ns of [A, B]) await bed.admin.apply(Resources.SftpServer, serverManifest(bed, ns, 'files'));
  await Promise.all([A, B].map((ns) => serverConditionsTrue(bed, ns, 'files', ['StorageReady'])));
  const quota = { serverRef: { name: 'files' }, authorizedKeys: [KEY], quota: { maxFiles: 1000 } };
  for (const u of A_USERS) await bed.admin.apply(Resources.SftpUser, userManifest(A, u, quota));
  await bed.admin.apply(Resources.SftpUser, userManifest(B, 'b0', quota));
});

after(async () => {
  await op?.stop();
  await bed?.stop();
});

describe('measure-usage annotation abuse', () => {
  it('bounds the listings one tenant causes, answers every latest request, and keeps the other tenant on time', async () => {
    const stop = measurer(LIMITS);
    // Users with a quota are measured at once on creation (their uploads wait for it).
    for (const [ns, u] of [...A_USERS.map((u) => [A, u]), [B, 'b0']] as [string, string][]) {
      await waitFor(`${ns}/${u} measured`, async () => (await getUser(bed, ns, u))?.status?.usage?.measuredAt);
    }
    const minioBefore = await readMinioCounters(bed.minio);
    const t0 = Date.now();
    let bAsked = 0;
    await attack('r', async (round) => {
      if (round === 10) {
        bAsked = Date.now();
        await annotate(B, 'b0', 'b-1');
      }
    });
    const attackMs = Date.now() - t0;

    // Tenant B's request is answered promptly although A's requests were there first.
    const bAnswered = await waitFor('b0 answered', async () => {
      const u = (await getUser(bed, B, 'b0'))?.status?.usage;
      return u?.request === 'b-1' ? Date.now() : undefined;
    });
    assert.ok(bAnswered - bAsked < 10_000, `b0's request took ${bAnswered - bAsked} ms`);

    // A's waiting requests say when they run.
    const shown = await waitFor('a deferral shown', async () => {
      for (const u of A_USERS) {
        const usage = (await getUser(bed, A, u))?.status?.usage;
        if (usage?.request !== `r-${RESETS - 1}` && usage?.requestDeferredUntil) return usage.requestDeferredUntil;
      }
      return undefined;
    });
    assert.ok(Date.parse(shown) > t0, `deferred until ${shown}`);

    // Not dropped: every A user gets its latest value answered, and the deferral is cleared.
    for (const u of A_USERS) {
      await waitFor(
        `${A}/${u} answers r-${RESETS - 1}`,
        async () => {
          const usage = (await getUser(bed, A, u))?.status?.usage;
          return usage?.request === `r-${RESETS - 1}` && usage.requestDeferredUntil === undefined;
        },
        120_000,
      );
    }
    const aDone = Date.now();
    // B's next periodic measurement comes on its interval (A's requests may all be answered sooner than that).
    await waitFor(
      'b0 measured periodically',
      () => events.some((e) => e.key === `${B}/b0` && e.at > bAnswered),
      1.2 * INTERVAL_MS + 10_000,
    );
    const t1 = Date.now();
    await stop();
    const minio = diffMinioCounters(await readMinioCounters(bed.minio), minioBefore);
    const listings = minio.requestsByApi['listobjectsv2'] ?? 0;
    const windowMs = Date.now() - t0;

    const aRequests = count(t0, t1 + 1_000, (e) => inA(e) && e.trigger === 'request');
    const allMeasurements = count(t0, t1 + 1_000, () => true);
    const aBound = budget(LIMITS, t1 - t0);
    const periodicBound = (A_USERS.length + 1) * (1 + Math.ceil(windowMs / (0.8 * INTERVAL_MS)));
    process.stdout.write(
      `# attack ${A_USERS.length}x${RESETS} re-sets in ${attackMs} ms; A answered after ${aDone - t0} ms; window ${t1 - t0} ms; ` +
        `A requested measurements ${aRequests} (bound ${aBound}); all measurements ${allMeasurements}; ` +
        `MinIO ListObjectsV2 ${listings}\n`,
    );
    assert.ok(aRequests <= aBound, `A's requested measurements ${aRequests} > bound ${aBound}`);
    // Each measurement lists the user's one prefix and its pods' usage objects: two ListObjectsV2 (small prefixes).
    assert.ok(listings <= 2 * allMeasurements, `MinIO saw ${listings} listings for ${allMeasurements} measurements`);
    assert.ok(
      listings <= 2 * (aBound + 1 + periodicBound),
      `MinIO saw ${listings} listings; the bounds allow ${2 * (aBound + 1 + periodicBound)}`,
    );

    // B's periodic measurements kept their interval (±20 % jitter, plus scan and measurement time).
    const bTimes = events.filter((e) => e.key === `${B}/b0`).map((e) => e.at);
    for (let i = 1; i < bTimes.length; i++) {
      const gap = (bTimes[i] ?? 0) - (bTimes[i - 1] ?? 0);
      assert.ok(gap <= 1.2 * INTERVAL_MS + 5_000, `b0 waited ${gap} ms between measurements`);
    }

    // The operator's own metrics agree with what was observed.
    const text = await op.manager.metrics.registry.metrics();
    const requested = /sftpgate_operator_usage_measurements_total\{trigger="request",result="ok"\} (\d+)/.exec(text);
    assert.ok(Number(requested?.[1]) >= aRequests, `metric ${requested?.[1]} vs ${aRequests} seen`);
    assert.match(text, /sftpgate_operator_usage_requests_deferred_total [1-9]/);
  });

  it('control: with the bounds lifted the same attack makes far more requested measurements', async () => {
    const stop = measurer({ userIntervalMs: 0, perMinute: 6000, burst: 1000 });
    const t0 = Date.now();
    await attack('c');
    await waitFor(
      'answered',
      async () => {
        for (const u of A_USERS)
          if ((await getUser(bed, A, u))?.status?.usage?.request !== `c-${RESETS - 1}`) return false;
        return true;
      },
      60_000,
    );
    const t1 = Date.now();
    await stop();
    const unbounded = count(t0, t1 + 1_000, (e) => inA(e) && e.trigger === 'request');
    process.stdout.write(`# unbounded: ${unbounded} requested measurements in ${t1 - t0} ms\n`);
    assert.ok(
      unbounded > budget(LIMITS, t1 - t0),
      `${unbounded} requested measurements unbounded vs ${budget(LIMITS, t1 - t0)} bounded`,
    );
  });
});
