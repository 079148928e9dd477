import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PodUsage, UsageMeasurement } from '../../../common/src/quota/usage-document.ts';
import { MemoryStorage } from '../sftp/testing/memory-storage.ts';
import { isStorageError, StorageErrorCode } from '../storage/errors.ts';
import { QuotaLedger, type UsageStore } from './ledger.ts';
import { QuotaStorage } from './quota-storage.ts';
import type { Limits } from './usage-math.ts';

function setup(limits: Limits, measured = { bytes: 0, files: 0 }, calls = { n: 0 }) {
  const measurement: UsageMeasurement = { version: 1, username: 'u', ...measured, startedAt: 0, measuredAt: 0 };
  let own: PodUsage | undefined;
  const store: UsageStore = {
    measurement: async () => {
      calls.n++;
      return measurement;
    },
    peers: async () => [],
    publish: async (doc) => {
      calls.n++;
      own = doc;
    },
  };
  const ledger = new QuotaLedger({ pod: 'p', username: 'u', store, limits: () => limits, now: () => 1_000_000 });
  const inner = new MemoryStorage();
  return { storage: new QuotaStorage(inner, ledger), inner, ledger, own: () => own };
}

const opts = { overwrite: true, user: 'u', sessionId: 's' };
const quota = (err: unknown) => isStorageError(err, StorageErrorCode.QuotaExceeded);

describe('QuotaStorage', () => {
  it('a write that would cross the limit is refused before it reaches the sink; the upload is aborted, nothing stored', async () => {
    const { storage, inner, own } = setup({ maxBytes: 1000 });
    const sink = await storage.openWrite('srv/u/a.bin', opts);
    await sink.write(0, new Uint8Array(600));
    await assert.rejects(
      sink.write(600, new Uint8Array(500)),
      (err) => quota(err) && /a\.bin: quota exceeded/.test(String(err)),
    );
    assert.equal(sink.bytesReceived, 600, 'the refused bytes never reached the inner sink');
    await assert.rejects(sink.write(600, new Uint8Array(1)), quota);
    await assert.rejects(sink.commit(), quota);
    assert.deepEqual([...inner.objects.keys()], []);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(own()?.leaseBytes, 0, 'the refused upload gave its reservation back');
  });

  it('writes pipelined behind a refused one, and the CLOSE, fail only once the reservation is back in S3', async () => {
    const measurement: UsageMeasurement = {
      version: 1,
      username: 'u',
      bytes: 0,
      files: 0,
      startedAt: 0,
      measuredAt: 0,
    };
    let own: PodUsage | undefined;
    let slow = false;
    const store: UsageStore = {
      measurement: async () => measurement,
      peers: async () => [],
      publish: async (doc) => {
        if (slow) await new Promise((r) => setTimeout(r, 50));
        own = doc;
      },
    };
    const ledger = new QuotaLedger({
      pod: 'p',
      username: 'u',
      store,
      limits: () => ({ maxBytes: 1000 }),
      now: () => 0,
    });
    const sink = await new QuotaStorage(new MemoryStorage(), ledger).openWrite('srv/u/a.bin', opts);
    await sink.write(0, new Uint8Array(600));
    slow = true; // the refusal's publishes take a while
    // Pipelined as OpenSSH does: the second WRITE is sent before the first is answered.
    const refused = sink.write(600, new Uint8Array(500));
    const behind = sink.write(1100, new Uint8Array(10));
    for (const p of [() => behind, () => refused, () => sink.commit()]) {
      await assert.rejects(p, quota);
      assert.equal(own?.leaseBytes, 0, 'the room was given back before this failure was answered');
    }
  });

  it('an upload within the limit commits and counts; the next one sees it', async () => {
    const { storage, ledger } = setup({ maxBytes: 1000 });
    const sink = await storage.openWrite('srv/u/a.bin', opts);
    await sink.write(0, new Uint8Array(700));
    await sink.commit();
    assert.deepEqual(await ledger.usage(), { bytes: 700, files: 1 });
    const second = await storage.openWrite('srv/u/b.bin', opts);
    await assert.rejects(second.write(0, new Uint8Array(301)), quota);
    await ledger.close();
  });

  it('the file limit refuses at OPEN; a failed open returns its file', async () => {
    const { storage, ledger, inner } = setup({ maxFiles: 2 }, { bytes: 0, files: 1 });
    await inner.mkdir('srv/u/dir');
    await assert.rejects(storage.openWrite('srv/u/dir', opts), (err) => !quota(err)); // a directory: the inner open fails
    const sink = await storage.openWrite('srv/u/a.bin', opts);
    await assert.rejects(storage.openWrite('srv/u/b.bin', opts), quota);
    await sink.abort();
    await storage.openWrite('srv/u/b.bin', opts);
    await ledger.close();
  });

  it('statvfs usage: limits and stored bytes', async () => {
    const { storage, ledger } = setup({ maxBytes: 5000, maxFiles: 9 }, { bytes: 1234, files: 3 });
    assert.deepEqual(await storage.usage(), { maxBytes: 5000, maxFiles: 9, usedBytes: 1234, usedFiles: 3 });
    await ledger.close();
  });

  it('without a quota everything passes through with no S3 request; a quota added later applies at the next OPEN', async () => {
    const limits: { maxBytes?: number } = {};
    const calls = { n: 0 };
    const { storage, inner, ledger } = setup(limits, { bytes: 0, files: 0 }, calls);
    const sink = await storage.openWrite('srv/u/a.bin', opts);
    await sink.write(0, new Uint8Array(5000));
    await sink.commit();
    assert.equal(await storage.usage(), undefined, 'statvfs answers as without quotas');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(calls.n, 0);
    assert.equal(inner.objects.get('srv/u/a.bin')?.data.byteLength, 5000);
    limits.maxBytes = 100;
    const next = await storage.openWrite('srv/u/b.bin', opts);
    await assert.rejects(next.write(0, new Uint8Array(101)), quota);
    await ledger.close();
  });
});
