import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PodUsage, UsageMeasurement } from '../../../common/src/quota/usage-document.ts';
import { isStorageError, StorageErrorCode } from '../storage/errors.ts';
import { QuotaLedger, type UsageStore } from './ledger.ts';
import type { Limits } from './usage-math.ts';

/** A strongly consistent "bucket" shared by the pods of one test: what S3 gives the ledgers. */
class Bucket {
  measurement: UsageMeasurement | undefined = {
    version: 1,
    username: 'alice',
    bytes: 0,
    files: 0,
    startedAt: 1_000,
    measuredAt: 2_000,
  };
  readonly pods = new Map<string, PodUsage>();
  requests = 0;
  storeFor(pod: string): UsageStore {
    return {
      measurement: async () => {
        this.requests++;
        return this.measurement;
      },
      peers: async () => {
        this.requests++;
        return [...this.pods.values()].filter((p) => p.pod !== pod).map((p) => structuredClone(p));
      },
      publish: async (doc) => {
        this.requests++;
        // Let the other pod run between publishing and reading back (the race this protocol must survive).
        await new Promise((r) => setImmediate(r));
        this.pods.set(pod, structuredClone(doc));
      },
    };
  }
}

function ledger(bucket: Bucket, pod: string, limits: Limits, extra = {}): QuotaLedger {
  return new QuotaLedger({
    pod,
    username: 'alice',
    store: bucket.storeFor(pod),
    limits: () => limits,
    now: () => 10_000,
    ...extra,
  });
}

const refused = (err: unknown) => isStorageError(err, StorageErrorCode.QuotaExceeded);

describe('QuotaLedger', () => {
  it('a reservation aborted after its lease was published publishes the retraction (no lease left for others)', async () => {
    const bucket = new Bucket();
    const store = bucket.storeFor('a');
    const ac = new AbortController();
    // The session ends between publishing the lease and reading the totals back.
    const aborting: UsageStore = {
      ...store,
      peers: async (fresh, signal) => {
        if (fresh && !ac.signal.aborted) {
          ac.abort();
          throw Object.assign(new Error('aborted'), { name: 'AbortError' });
        }
        return store.peers(fresh, signal);
      },
    };
    const a = new QuotaLedger({
      pod: 'a',
      username: 'alice',
      store: aborting,
      limits: () => ({ maxBytes: 1000 }),
      now: () => 10_000,
    });
    await assert.rejects(a.reserve(500, 0, ac.signal));
    for (let i = 0; i < 5 && (bucket.pods.get('a')?.leaseBytes ?? 0) > 0; i++)
      await new Promise((r) => setImmediate(r));
    assert.equal(bucket.pods.get('a')?.leaseBytes, 0, 'the retraction reached the bucket');
  });

  it('refuses what the measurement already fills, before any lease is kept', async () => {
    const bucket = new Bucket();
    bucket.measurement = { ...(bucket.measurement as UsageMeasurement), bytes: 1000 };
    const a = ledger(bucket, 'a', { maxBytes: 1000 });
    await assert.rejects(a.reserve(1, 0), refused);
    assert.equal(bucket.pods.get('a')?.leaseBytes, 0, 'the refused lease is given back');
  });

  it('spends within a lease without S3 requests (small uploads cost nothing)', async () => {
    const bucket = new Bucket();
    const a = ledger(bucket, 'a', { maxBytes: 1_000_000 });
    await a.reserve(10, 0);
    const after = bucket.requests;
    for (let i = 0; i < 20; i++) {
      await a.reserve(1000, 0);
      a.commit({ bytes: 1000, files: 0 }, { bytes: 1000, files: 0 });
    }
    assert.equal(bucket.requests, after);
    await a.close();
  });

  it('two pods racing for the last bytes never both get them (publish, then check)', async () => {
    for (let round = 0; round < 20; round++) {
      const bucket = new Bucket();
      const a = ledger(bucket, 'a', { maxBytes: 100 });
      const b = ledger(bucket, 'b', { maxBytes: 100 });
      const results = await Promise.allSettled([a.reserve(60, 0), b.reserve(60, 0)]);
      const granted = results.filter((r) => r.status === 'fulfilled').length;
      assert.ok(granted <= 1, `round ${round}: ${granted} granted`);
      for (const r of results) if (r.status === 'rejected') assert.ok(refused(r.reason));
      const leased = [...bucket.pods.values()].reduce((n, p) => n + p.leaseBytes, 0);
      assert.ok(leased <= 100, `leases ${leased}`);
      await a.close();
      await b.close();
    }
  });

  it('a commit moves bytes from the lease into commits: other pods see the same total', async () => {
    const bucket = new Bucket();
    const a = ledger(bucket, 'a', { maxBytes: 100 });
    const b = ledger(bucket, 'b', { maxBytes: 100 });
    await a.reserve(70, 0);
    a.commit({ bytes: 70, files: 0 }, { bytes: 70, files: 0 });
    await a.close(); // publishes: lease 0, commits 70
    await assert.rejects(b.reserve(31, 0), refused);
    await b.reserve(30, 0);
    assert.deepEqual(await b.usage(), { bytes: 70, files: 0 }, 'statvfs reports what is stored, not leases');
  });

  it('the file limit refuses at the next open, and a released reservation is reusable', async () => {
    const bucket = new Bucket();
    bucket.measurement = { ...(bucket.measurement as UsageMeasurement), files: 2 };
    const a = ledger(bucket, 'a', { maxFiles: 3 });
    await a.reserve(0, 1);
    await assert.rejects(a.reserve(0, 1), refused);
    a.release(0, 1);
    await a.reserve(0, 1);
  });

  it('commits older than the measurement (minus the skew margin) are not counted twice', async () => {
    const bucket = new Bucket();
    bucket.pods.set('old', {
      version: 1,
      pod: 'old',
      username: 'alice',
      updatedAt: 0,
      leaseBytes: 50,
      leaseFiles: 0,
      leaseExpiresAt: 5_000, // expired at now = 10 s
      commits: [
        [500, 40, 1], // before startedAt - skew: in the measurement
        [9_000, 7, 1], // after: counted on top
      ],
    });
    bucket.measurement = { ...(bucket.measurement as UsageMeasurement), startedAt: 8_000, bytes: 40, files: 1 };
    const a = ledger(bucket, 'a', { maxBytes: 1000 }, { skewMs: 1_000 });
    assert.deepEqual(await a.usage(), { bytes: 47, files: 2 });
  });

  it('without a measurement, uploads are refused as unavailable (an unchecked quota is not waived)', async () => {
    const bucket = new Bucket();
    bucket.measurement = undefined;
    const a = ledger(bucket, 'a', { maxBytes: 1000 });
    await assert.rejects(a.reserve(1, 0), (err) => isStorageError(err, StorageErrorCode.Unavailable));
  });

  it('a released reservation is in S3 when release() resolves, so another pod can use the room at once', async () => {
    const bucket = new Bucket();
    const a = ledger(bucket, 'a', { maxBytes: 100 });
    const b = ledger(bucket, 'b', { maxBytes: 100 });
    await a.reserve(90, 1);
    await assert.rejects(b.reserve(20, 1), refused);
    // Several releases before the publish starts share one publish.
    const before = bucket.requests;
    await Promise.all([a.release(60, 0), a.release(30, 1)]);
    assert.equal(bucket.requests - before, 1, 'one publish for both releases');
    assert.equal(bucket.pods.get('a')?.leaseBytes, 0);
    await b.reserve(20, 1);
  });
});
