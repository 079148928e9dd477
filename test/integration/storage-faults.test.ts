// S3Storage against real MinIO behind the fault proxy: whatever S3 does wrong, commit() rejects, no object becomes
// visible and no multipart upload is left behind; a slow S3 under a fast writer keeps buffered bytes within budget.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Client as LeanS3Client } from '../../common/src/s3/client.ts';
import { ByteBudget } from '../../sftp-pod/src/storage/budget.ts';
import { commitsInFlight, settleCommits } from '../../sftp-pod/src/storage/commit-tracker.ts';
import { isStorageError, StorageErrorCode } from '../../sftp-pod/src/storage/errors.ts';
import { fairBudgetFor } from '../../sftp-pod/src/storage/fair-budget.ts';
import type { StorageMetrics } from '../../sftp-pod/src/storage/metrics.ts';
import { S3Storage, type S3StorageOptions } from '../../sftp-pod/src/storage/s3-storage.ts';
import type { WriteSink } from '../../sftp-pod/src/storage/types.ts';
import { type FaultProxy, type FaultRule, startFaultProxy } from '../infra/fault-proxy.ts';
import { type Minio, startMinio, waitUntil } from '../infra/index.ts';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const bucket = 'faults';

let minio: Minio;
let proxy: FaultProxy;
/** The AWS SDK on MinIO directly: checks what was stored. */
let direct: S3Client;
/** The pod's client (common/src/s3) on MinIO directly. */
let leanDirect: LeanS3Client;
let viaProxy: LeanS3Client;
/** Short deadline only where a stall must time out (S3Storage's requestTimeoutMs, the pod's own deadline). */
const HASTY = { requestTimeoutMs: 3000 };

function lean(endpoint: string, maxAttempts?: number): LeanS3Client {
  return new LeanS3Client({
    endpoint,
    region: minio.region,
    forcePathStyle: true,
    credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
}

before(async () => {
  minio = await startMinio();
  await minio.createBucket(bucket);
  direct = minio.s3();
  proxy = await startFaultProxy(minio.endpoint);
  leanDirect = lean(minio.endpoint);
  // Two attempts: the client's retry is exercised, and a persistent fault still fails in bounded time.
  viaProxy = lean(proxy.url, 2);
});

after(async () => {
  await proxy?.close();
  await minio?.stop();
});

beforeEach(() => proxy.clear());

function storage(extra: Partial<S3StorageOptions> = {}): S3Storage {
  return new S3Storage({
    client: viaProxy,
    bucket,
    partSize: PART,
    uploadConcurrency: 2,
    downloadConcurrency: 2,
    podBudget: new ByteBudget(64 * MiB),
    maxRenameObjects: 10,
    ...extra,
  });
}

const W = { overwrite: false, user: 'alice', sessionId: 's1' };
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function writeAll(sink: WriteSink, data: Uint8Array, chunk = 256 * 1024): Promise<void> {
  for (let off = 0; off < data.length; off += chunk) await sink.write(off, data.subarray(off, off + chunk));
}

/** The pod's growth gate (where part memory waits) for a pod budget a storage was built on. */
function gate(podBudget: ByteBudget) {
  return fairBudgetFor(podBudget, { partSize: PART, perUploadBytes: PART }).gate;
}

async function exists(key: string): Promise<boolean> {
  try {
    await direct.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

async function pendingUploads(key: string): Promise<number> {
  const out = await direct.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
  return (out.Uploads ?? []).filter((u) => u.Key === key).length;
}

/**
 * Uploads `size` bytes the way the SFTP layer would: writes, then CLOSE → commit(). A write may already reject once
 * a part failed; the SFTP layer then still calls commit() on CLOSE, which must reject too.
 */
async function uploadExpectingFailure(s: S3Storage, key: string, size: number): Promise<unknown> {
  const sink = await s.openWrite(key, W);
  try {
    await writeAll(sink, randomBytes(size));
  } catch {
    // surfaced again by commit()
  }
  try {
    await sink.commit();
  } catch (err) {
    return err;
  }
  assert.fail('commit resolved although S3 failed');
}

/** Nothing visible and no multipart upload left (the abort is asynchronous after a part failure: poll). */
async function assertNothingLeft(key: string): Promise<void> {
  assert.equal(await exists(key), false, 'no object visible');
  await waitUntil(`no multipart upload left for ${key}`, async () => (await pendingUploads(key)) === 0, {
    timeoutMs: 20_000,
  });
}

describe('faults on upload', () => {
  const cases: { name: string; rules: FaultRule[]; size: number; code: StorageErrorCode; stall?: boolean }[] = [
    {
      name: '5xx on every UploadPart',
      rules: [{ op: 'UploadPart', fault: { kind: 'status', status: 503, code: 'SlowDown' } }],
      size: 2 * PART + 1,
      code: StorageErrorCode.Unavailable,
    },
    {
      name: 'stalled UploadPart (client timeout)',
      rules: [{ op: 'UploadPart', fault: { kind: 'stall' } }],
      size: PART + 1,
      code: StorageErrorCode.Unavailable,
      stall: true,
    },
    {
      name: 'dropped connection on UploadPart',
      rules: [{ op: 'UploadPart', fault: { kind: 'drop' } }],
      size: PART + 1,
      code: StorageErrorCode.Unavailable,
    },
    {
      name: '200 with an error body on CompleteMultipartUpload',
      rules: [{ op: 'CompleteMultipartUpload', fault: { kind: 'ok-with-error' } }],
      size: PART + 1,
      code: StorageErrorCode.Unavailable,
    },
    {
      name: '200 with an error body followed by a newline (the SDK does not spot it; the missing ETag does)',
      rules: [{ op: 'CompleteMultipartUpload', fault: { kind: 'ok-with-error', trailer: '\n\n  ' } }],
      size: PART + 1,
      code: StorageErrorCode.Unavailable,
    },
    {
      name: '5xx on CompleteMultipartUpload',
      rules: [{ op: 'CompleteMultipartUpload', fault: { kind: 'status', status: 500 } }],
      size: PART + 1,
      code: StorageErrorCode.Unavailable,
    },
    {
      name: 'stalled CompleteMultipartUpload',
      rules: [{ op: 'CompleteMultipartUpload', fault: { kind: 'stall' } }],
      size: PART + 1,
      code: StorageErrorCode.Unavailable,
      stall: true,
    },
    {
      name: 'CreateMultipartUpload refused',
      rules: [{ op: 'CreateMultipartUpload', fault: { kind: 'status', status: 403, code: 'AccessDenied' } }],
      size: PART + 1,
      code: StorageErrorCode.PermissionDenied,
    },
    {
      name: '5xx on the single PutObject of a small file',
      rules: [{ op: 'PutObject', fault: { kind: 'status', status: 500 } }],
      size: 1000,
      code: StorageErrorCode.Unavailable,
    },
    {
      name: 'stalled PutObject of a small file',
      rules: [{ op: 'PutObject', fault: { kind: 'stall' } }],
      size: 1000,
      code: StorageErrorCode.Unavailable,
      stall: true,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const key = `f/${c.name.replace(/\W+/g, '-')}`;
      for (const r of c.rules) proxy.inject(r);
      const abortsBefore = proxy.count('AbortMultipartUpload');
      const err = await uploadExpectingFailure(storage(c.stall ? HASTY : {}), key, c.size);
      assert.ok(isStorageError(err, c.code), `expected ${c.code}, got ${String(err)}`);
      proxy.clear();
      await assertNothingLeft(key);
      const created = c.rules.every((r) => r.op !== 'CreateMultipartUpload');
      if (c.size > PART && created) assert.ok(proxy.count('AbortMultipartUpload') > abortsBefore, 'abort attempted');
    });
  }

  test('a stall under a client without any timeout: the storage deadline fires', async () => {
    const naive = lean(proxy.url, 1);
    {
      proxy.inject({ op: 'PutObject', fault: { kind: 'stall' } });
      // 1 s plus the body allowance at 256 KiB/s (a few ms for 1000 bytes).
      const s = storage({ client: naive, requestTimeoutMs: 1000 });
      const err = await uploadExpectingFailure(s, 'f/deadline', 1000);
      assert.ok(isStorageError(err, StorageErrorCode.Unavailable), String(err));
      assert.match(String(err), /did not answer within/);
      proxy.clear();
      await assertNothingLeft('f/deadline');
    }
  });

  test('a single transient 503 on UploadPart is retried by the SDK and the upload succeeds', async () => {
    proxy.inject({ op: 'UploadPart', fault: { kind: 'status', status: 503, code: 'SlowDown' }, times: 1 });
    const data = randomBytes(2 * PART + 7);
    const sink = await storage().openWrite('f/transient', W);
    await writeAll(sink, data);
    await sink.commit();
    const out = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: 'f/transient' }));
    assert.equal(sha256((await out.Body?.transformToByteArray()) ?? new Uint8Array()), sha256(data));
  });

  test('a 200-with-error on the first CompleteMultipartUpload is retried and then confirmed', async () => {
    proxy.inject({ op: 'CompleteMultipartUpload', fault: { kind: 'ok-with-error' }, times: 1 });
    const sink = await storage().openWrite('f/complete-retry', W);
    await writeAll(sink, randomBytes(PART + 3));
    await sink.commit();
    assert.equal(await exists('f/complete-retry'), true);
    assert.equal(await pendingUploads('f/complete-retry'), 0);
  });

  test('commit aborted by its signal before the final request rejects and leaves nothing', async () => {
    proxy.inject({ op: 'UploadPart', fault: { kind: 'delay', ms: 3000 } });
    const sink = await storage().openWrite('f/signal', W);
    await writeAll(sink, randomBytes(PART + 3));
    const ac = new AbortController();
    const p = sink.commit(ac.signal);
    setTimeout(() => ac.abort(new Error('shutdown grace over')), 200);
    await assert.rejects(p, (err: unknown) => isStorageError(err, StorageErrorCode.Aborted));
    proxy.clear();
    await assertNothingLeft('f/signal');
  });

  test('an abort during CompleteMultipartUpload does not cancel it: S3 answers, the CLOSE is told the truth', async () => {
    // Before: the abort cancelled the Complete, commit() rejected, and the delayed Complete still reached S3 — a
    // stored file reported as failed. Now the final request runs to S3's answer and shutdown waits for it.
    proxy.inject({ op: 'CompleteMultipartUpload', fault: { kind: 'delay', ms: 2000 } });
    const podBudget = new ByteBudget(64 * MiB);
    const sink = await storage({ podBudget }).openWrite('f/final', W);
    const data = randomBytes(PART + 3);
    await writeAll(sink, data);
    const ac = new AbortController();
    const p = sink.commit(ac.signal);
    await waitUntil('the Complete is in flight', async () => commitsInFlight(podBudget) === 1, { timeoutMs: 10_000 });
    ac.abort(new Error('shutdown grace over'));
    const aborted = sink.abort('session closed'); // what session end does: waits for the final answer
    assert.equal(await settleCommits(podBudget, 30_000), 0, 'shutdown sees the answer');
    await p;
    await aborted;
    assert.equal(await exists('f/final'), true);
    const out = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: 'f/final' }));
    assert.equal(sha256((await out.Body?.transformToByteArray()) ?? new Uint8Array()), sha256(data));
    assert.equal(await pendingUploads('f/final'), 0);
    assert.equal(podBudget.used, 0);
  });

  test("an abort during a small file's PutObject does not cancel it either", async () => {
    proxy.inject({ op: 'PutObject', fault: { kind: 'delay', ms: 1500 } });
    const podBudget = new ByteBudget(64 * MiB);
    const sink = await storage({ podBudget }).openWrite('f/final-small', W);
    await sink.write(0, Buffer.from('small'));
    const ac = new AbortController();
    const p = sink.commit(ac.signal);
    await waitUntil('the PutObject is in flight', async () => commitsInFlight(podBudget) === 1, { timeoutMs: 10_000 });
    ac.abort(new Error('shutdown grace over'));
    await p;
    assert.equal(await exists('f/final-small'), true);
    assert.equal(await settleCommits(podBudget, 1000), 0);
  });

  test('faults on reads reject the read (5xx, stall), and a later read retries', async () => {
    const data = randomBytes(3 * MiB);
    const sink = await storage().openWrite('f/read', W);
    await writeAll(sink, data);
    await sink.commit();
    const src = await storage({ ...HASTY, readAheadChunkBytes: MiB }).openRead('f/read');
    proxy.inject({ op: 'GetObject', fault: { kind: 'status', status: 500 } });
    await assert.rejects(src.read(0, 1000), (err: unknown) => isStorageError(err, StorageErrorCode.Unavailable));
    proxy.clear();
    proxy.inject({ op: 'GetObject', fault: { kind: 'stall' } });
    await assert.rejects(src.read(MiB, 1000), (err: unknown) => isStorageError(err, StorageErrorCode.Unavailable));
    proxy.clear();
    assert.deepEqual(Buffer.from(await src.read(2 * MiB, 5000)), data.subarray(2 * MiB, 2 * MiB + 5000));
    await src.close();
  });
});

describe('backpressure', () => {
  test('slow S3, fast writers: buffered bytes stay within the pod budget and both uploads complete', async (t) => {
    const budgetBytes = 3 * PART + MiB; // room for three parts: two uploads must share it
    let buffered = 0;
    let maxBuffered = 0;
    const partSeconds: number[] = [];
    const ops = new Set<string>();
    const lags: string[] = [];
    const metrics: StorageMetrics = {
      bufferedBytes: (d) => {
        buffered += d;
        maxBuffered = Math.max(maxBuffered, buffered);
      },
      partUploaded: (s) => partSeconds.push(s),
      s3Request: (op) => ops.add(op),
      finalizeLag: (_s, result) => lags.push(result),
    };
    const podBudget = new ByteBudget(budgetBytes);
    // This test is about slowness, not timeouts: a client with a generous deadline.
    const patient = lean(proxy.url);
    const s = storage({ client: patient, podBudget, metrics, uploadConcurrency: 4 });
    // Slow S3: each part trickles upstream at 20 MiB/s; the writers are only limited by the budget.
    proxy.inject({ op: 'UploadPart', fault: { kind: 'throttle', bytesPerSecond: 20 * MiB } });
    const files = [randomBytes(6 * PART + 11), randomBytes(5 * PART + 3)];
    await Promise.all(
      files.map(async (data, i) => {
        // Two users (two clients): each may hold up to their share (three parts), together more than the pod has.
        const sink = await s.openWrite(`bp/${i}`, { ...W, user: `user${i}`, sessionId: `s${i}` });
        await writeAll(sink, data, 32 * 1024);
        await sink.commit();
      }),
    );
    for (const [i, data] of files.entries()) {
      const out = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: `bp/${i}` }));
      assert.equal(sha256((await out.Body?.transformToByteArray()) ?? new Uint8Array()), sha256(data));
    }
    t.diagnostic(
      `budget ${budgetBytes} B, max buffered ${maxBuffered} B, budget peak ${podBudget.peak} B, pauses ${gate(podBudget).pauses}, ` +
        `parts ${partSeconds.length}, slowest part ${Math.max(...partSeconds).toFixed(2)} s`,
    );
    assert.ok(maxBuffered <= budgetBytes, `max buffered ${maxBuffered} > budget ${budgetBytes}`);
    assert.ok(podBudget.peak <= budgetBytes, `budget peak ${podBudget.peak} > ${budgetBytes}`);
    assert.ok(gate(podBudget).pauses > 0, 'the writers were paused at least once (pod memory granted in slabs)');
    assert.equal(buffered, 0, 'everything confirmed, nothing counted as buffered');
    assert.equal(podBudget.used, 0, 'every byte of budget returned');
    assert.equal(partSeconds.length, 6 + 1 + 5 + 1);
    for (const op of ['UploadPart', 'CreateMultipartUpload', 'CompleteMultipartUpload']) assert.ok(ops.has(op), op);
    assert.deepEqual(lags, ['ok', 'ok']);
  });

  test('more uploads than the budget has parts, with writes straddling part boundaries: all complete', async () => {
    // Two parts of budget, four uploads, 100,000-byte writes (not aligned to the 5 MiB parts). An upload that held a
    // half-filled part while waiting for the next one would deadlock here.
    const podBudget = new ByteBudget(2 * PART);
    const s = storage({ client: leanDirect, podBudget });
    const files = Array.from({ length: 4 }, (_, i) => randomBytes(2 * PART + 1000 * i + 1));
    const run = Promise.all(
      files.map(async (data, i) => {
        const sink = await s.openWrite(`bp/many-${i}`, W);
        await writeAll(sink, data, 100_000);
        await sink.commit();
      }),
    );
    const guard = new Promise<never>((_, reject) => {
      const timer = setTimeout(() => reject(new Error('uploads stalled: budget deadlock')), 60_000);
      void run.finally(() => clearTimeout(timer)).catch(() => undefined);
    });
    await Promise.race([run, guard]);
    for (const [i, data] of files.entries()) {
      const out = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: `bp/many-${i}` }));
      assert.equal(sha256((await out.Body?.transformToByteArray()) ?? new Uint8Array()), sha256(data));
    }
    assert.ok(podBudget.peak <= 2 * PART);
    assert.equal(podBudget.used, 0);
  });

  test('abort() releases a write that waits for budget, and the budget', async () => {
    const podBudget = new ByteBudget(PART);
    const s = storage({ client: leanDirect, podBudget });
    const holder = await s.openWrite('bp/holder', W);
    await holder.write(0, Buffer.alloc(10)); // the oldest part being filled: the pod keeps its size free for it
    // Another user, so the wait is on the pod budget, not on alice's share.
    const waiter = await s.openWrite('bp/waiter', { ...W, user: 'bob', sessionId: 's2' });
    const pending = waiter.write(0, Buffer.alloc(10));
    await waitUntil('the second upload waits for budget', async () => gate(podBudget).waiting === 1, {
      timeoutMs: 10_000,
    });
    await waiter.abort('session closed');
    await assert.rejects(pending, (err: unknown) => isStorageError(err, StorageErrorCode.Aborted));
    assert.equal(gate(podBudget).waiting, 0);
    await holder.abort();
    assert.equal(podBudget.used, 0);
    assert.equal(await exists('bp/holder'), false);
    assert.equal(await exists('bp/waiter'), false);
  });

  test('a failed upload returns all its budget', async () => {
    const podBudget = new ByteBudget(4 * PART);
    proxy.inject({ op: 'UploadPart', fault: { kind: 'status', status: 500 } });
    await uploadExpectingFailure(storage({ podBudget }), 'bp/fail', 3 * PART);
    await waitUntil('budget returned', async () => podBudget.used === 0, { timeoutMs: 10_000 });
    // The user's and session's shares are dropped too (a lease per upload, closed when it settles).
    const fair = fairBudgetFor(podBudget, { partSize: PART, perUploadBytes: PART });
    await waitUntil('shares dropped', async () => fair.activeSessions === 0 && fair.activeUsers === 0, {
      timeoutMs: 10_000,
    });
  });
});

describe('fair shares at the storage level', () => {
  test('an upload that stops writing is released (IDLE) and gives its budget back', async () => {
    const podBudget = new ByteBudget(64 * MiB);
    const sink = await storage({ client: leanDirect, podBudget, idleReleaseMs: 300 }).openWrite('fair/idle', W);
    await sink.write(1, Buffer.from('x'));
    assert.equal(podBudget.used, 256 * 1024, 'one slab of pod memory for one byte');
    await waitUntil('the idle upload is released', async () => podBudget.used === 0, { timeoutMs: 10_000 });
    await assert.rejects(sink.write(0, Buffer.from('y')), (err: unknown) => {
      assert.ok(isStorageError(err, StorageErrorCode.Idle), String(err));
      assert.match(err.message, /no data for 0.3 s while holding upload memory; the upload was released/);
      return true;
    });
    await assert.rejects(sink.commit(), (err: unknown) => isStorageError(err, StorageErrorCode.Idle));
    assert.equal(await exists('fair/idle'), false);
  });

  test("a write waiting longer than budgetWaitMs for the user's share fails BUSY; another user is not held up", async () => {
    const podBudget = new ByteBudget(64 * MiB);
    const s = storage({ client: leanDirect, podBudget, perUserBudgetBytes: 3 * PART, budgetWaitMs: 300 });
    const held = [];
    for (let i = 0; i < 3; i++) {
      const sink = await s.openWrite(`fair/pin${i}`, { ...W, sessionId: `pin${i}` });
      await sink.write(1, Buffer.from('x'));
      held.push(sink);
    }
    const fourth = await s.openWrite('fair/pin3', { ...W, sessionId: 'pin3' });
    await assert.rejects(fourth.write(1, Buffer.from('x')), (err: unknown) => {
      assert.ok(isStorageError(err, StorageErrorCode.Busy), String(err));
      assert.match(err.message, /the user's share \(15728640 bytes\) stayed full/);
      return true;
    });
    const bob = await s.openWrite('fair/bob', { ...W, user: 'bob', sessionId: 'bob' });
    const data = randomBytes(PART + 7);
    await writeAll(bob, data);
    await bob.commit();
    const out = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: 'fair/bob' }));
    assert.equal(sha256((await out.Body?.transformToByteArray()) ?? new Uint8Array()), sha256(data));
    await Promise.all([...held, fourth].map((sink) => sink.abort()));
    assert.equal(podBudget.used, 0);
  });
});
