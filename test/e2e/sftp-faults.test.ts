// S3 faults seen through the whole SFTP path: the test bed's fault proxy sits between the pod and MinIO. A failing
// or lying CompleteMultipartUpload makes the client's CLOSE fail (OpenSSH reports it), nothing becomes visible, no
// multipart upload is left, and the session goes on. A slow S3 with a fast client: backpressure holds the pod's
// buffered bytes within its budget and the transfer completes intact.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Harness, PREFIX, sha256, startHarness } from './sftp-harness.ts';

const MiB = 1024 * 1024;
const BUDGET = 16 * MiB;
let h: Harness;

before(async () => {
  h = await startHarness({
    faultProxy: true,
    args: ['--part-size=5MiB', `--memory-budget=${BUDGET}`, '--upload-concurrency=2'],
  });
});
after(async () => {
  await h?.stop();
});

function file(name: string, size: number): { path: string; sha: string } {
  const data = randomBytes(size);
  const path = join(h.dir, name);
  writeFileSync(path, data);
  return { path, sha: sha256(data) };
}

async function metric(name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${h.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}}` : `${name} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('S3 faults at CLOSE', () => {
  for (const [name, fault] of [
    ['CompleteMultipartUpload answers 500', { kind: 'status', status: 500, code: 'InternalError' }],
    ['CompleteMultipartUpload answers 200 with an error body', { kind: 'ok-with-error', code: 'InternalError' }],
  ] as const) {
    test(`${name}: CLOSE fails, nothing visible, no multipart upload left, the session continues`, async () => {
      const proxy = h.proxy;
      assert.ok(proxy);
      const big = file(`big-${name.length}`, 7 * MiB);
      const small = file('small', 1000);
      proxy.inject({ op: 'CompleteMultipartUpload', fault });
      try {
        const r = await h.sftp('alice', `-put ${big.path} /failed.bin\nput ${small.path} /after.bin\n`);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /close remote "\/failed\.bin"|Failure|Couldn't/);
      } finally {
        proxy.clear();
      }
      const keys = await h.listAll();
      assert.ok(!keys.includes(`${PREFIX}/alice/failed.bin`), 'the failed object is not visible');
      assert.ok(keys.includes(`${PREFIX}/alice/after.bin`), 'the same session stored the next file');
      assert.deepEqual(await h.inProgressUploads(), []);
      assert.ok(proxy.count('AbortMultipartUpload') >= 1);
    });
  }
});

describe('slow S3, fast client', () => {
  test('backpressure keeps buffered bytes within the pod budget and the upload completes', async () => {
    const proxy = h.proxy;
    assert.ok(proxy);
    const f = file('slow', 40 * MiB);
    const pausesBefore = await metric('sftpgate_backpressure_pauses_total');
    // 2 MiB/s per part, 2 parts in flight: S3 drains 4 MiB/s, slower than any client here even on a loaded machine (at
    // 6 MiB/s a client slowed by a load average of 25 never outran S3, and no write ever waited).
    proxy.inject({ op: 'UploadPart', fault: { kind: 'throttle', bytesPerSecond: 2 * MiB } });
    let peak = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        peak = Math.max(peak, await metric('sftpgate_upload_buffered_bytes'));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      const r = await h.sftp('alice', `put ${f.path} /slow.bin\n`);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      polling = false;
      await poller;
      proxy.clear();
    }
    assert.equal(await h.sha256Of(`${PREFIX}/alice/slow.bin`), f.sha);
    assert.ok((await metric('sftpgate_backpressure_pauses_total')) > pausesBefore, 'the client was slowed down');
    assert.ok(peak > 0, 'buffered bytes were observed');
    assert.ok(peak <= BUDGET, `peak buffered ${peak} > budget ${BUDGET}`);
    assert.equal(await metric('sftpgate_upload_buffered_bytes'), 0, 'everything confirmed or released');
  });
});

describe('readiness', () => {
  test('/readyz fails while S3 is unreachable and recovers after (ListObjectsV2 on the server prefix, cached 10 s)', async () => {
    const proxy = h.proxy;
    assert.ok(proxy);
    const status = async () => (await fetch(`${h.metricsUrl}/readyz`)).status;
    assert.equal(await status(), 200);
    proxy.inject({ op: 'ListObjectsV2', fault: { kind: 'status', status: 503, code: 'ServiceUnavailable' } });
    try {
      const deadline = Date.now() + 30_000;
      while ((await status()) !== 503) {
        assert.ok(Date.now() < deadline, 'readyz never failed');
        await new Promise((r) => setTimeout(r, 250));
      }
      const body = await (await fetch(`${h.metricsUrl}/readyz`)).text();
      assert.match(body, /not ready: s3/);
    } finally {
      proxy.clear();
    }
    const deadline = Date.now() + 30_000;
    while ((await status()) !== 200) {
      assert.ok(Date.now() < deadline, 'readyz never recovered');
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal((await fetch(`${h.metricsUrl}/healthz`)).status, 200);
  });
});
