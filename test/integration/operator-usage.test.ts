// The operator's usage measurement (docs/operations.md "Quotas") against a real API server and MinIO: every user is
// measured from S3 (current versions only, no directory markers, no incomplete multipart uploads, logical
// directories included), the measurement object the pods read is written under the reserved root, status.usage is
// published with its printer column, the sftpgate.io/measure-usage annotation measures again on demand, and only new
// users with a quota are measured at once (others join the periodic cycle, so a bulk create lists nothing at once).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { measurementKey, parseMeasurement, podsPrefix } from '../../common/src/quota/usage-document.ts';
import { pruneStalePodUsage } from '../../operator/src/cloud/s3/usage.ts';
import { runUsageMeasurer } from '../../operator/src/controllers/usage/measurer.ts';
import { Resources } from '../../operator/src/runtime/kube-client.ts';
import { silentLogger } from '../../operator/src/runtime/logger.ts';
import {
  getUser,
  type RunningOperator,
  serverManifest,
  startOperator,
  startTenantBed,
  type TestBed,
  userManifest,
  waitFor,
} from './operator-harness.ts';

const NS = 'usage';
const PREFIX = `servers/${NS}/files`;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@b';

let bed: TestBed;
let op: RunningOperator;
const stop = new AbortController();
let measurer: Promise<void>;
const measured: string[] = [];

async function put(key: string, bytes: number): Promise<void> {
  await bed.minio.s3().send(new PutObjectCommand({ Bucket: 'sftp', Key: key, Body: Buffer.alloc(bytes, 1) }));
}

before(async () => {
  bed = await startTenantBed(NS);
  op = startOperator(bed, { namespace: NS });
  measurer = runUsageMeasurer(
    {
      ctx: op.controllers.context,
      client: op.client,
      logger: silentLogger,
      intervalMs: 3_600_000, // periodic passes out of the way: the first pass and requests are what is tested
      scanMs: 200,
      random: () => 0.5, // a new user without a quota is first measured one and a half intervals (90 min) after it appears
      onMeasured: (key) => measured.push(key),
    },
    stop.signal,
  );
  // Data first, so the very first measurement already sees it.
  await put(`${PREFIX}/alice/a.bin`, 1000);
  await put(`${PREFIX}/alice/sub/b.bin`, 2000);
  await put(`${PREFIX}/alice/sub/`, 0); // a directory marker: not a file
  await put(`${PREFIX}/alice/a.bin`, 1500); // a new version: only the current one counts (bucket is versioned)
  await bed.minio.s3().send(new CreateMultipartUploadCommand({ Bucket: 'sftp', Key: `${PREFIX}/alice/partial.bin` }));
  await put(`${PREFIX}/shared/c.bin`, 500); // a logical directory of alice's
  await put(`${PREFIX}/alice2/d.bin`, 7000); // a sibling prefix: not alice's
  await bed.admin.apply(Resources.SftpServer, serverManifest(bed, NS, 'files'));
  await bed.admin.apply(
    Resources.SftpUser,
    userManifest(NS, 'alice', {
      serverRef: { name: 'files' },
      authorizedKeys: [KEY],
      quota: { maxBytes: '1Mi' },
      logicalDirectories: [{ path: '/shared', prefix: 'shared' }],
    }),
  );
});

after(async () => {
  stop.abort();
  await measurer;
  await op?.stop();
  await bed?.stop();
});

describe('usage measurement', () => {
  it('publishes current versions under the home and logical directories, and the object the pods read', async () => {
    const user = await waitFor('status.usage', async () => (await getUser(bed, NS, 'alice'))?.status?.usage);
    assert.equal(user.bytes, 1500 + 2000 + 500);
    assert.equal(user.files, 3);
    assert.ok(user.measuredAt && Date.parse(user.measuredAt) > Date.now() - 120_000);
    const out = await bed.minio
      .s3()
      .send(new GetObjectCommand({ Bucket: 'sftp', Key: measurementKey(PREFIX, 'alice') }));
    const doc = parseMeasurement((await out.Body?.transformToString()) ?? '');
    assert.equal(doc?.username, 'alice');
    assert.equal(doc?.bytes, 4000);
    assert.equal(doc?.files, 3);
    assert.ok((doc?.startedAt ?? 0) <= (doc?.measuredAt ?? 0));
    const table = (await bed.cp.kubectl(['get', 'sftpusers', '-n', NS, '-o', 'wide'])).stdout;
    assert.match(table, /USED/);
    assert.match(table, /\b4000\b/);
  });

  it('measures again when sftpgate.io/measure-usage gets a new value, and records which request it answered', async () => {
    const before = measured.length;
    await put(`${PREFIX}/alice/new.bin`, 250);
    await bed.admin.mergePatch(Resources.SftpUser, NS, 'alice', {
      metadata: { annotations: { 'sftpgate.io/measure-usage': 'r1' } },
    });
    const usage = await waitFor('request r1', async () => {
      const u = (await getUser(bed, NS, 'alice'))?.status?.usage;
      return u?.request === 'r1' ? u : undefined;
    });
    assert.equal(usage.bytes, 4250);
    assert.equal(usage.files, 4);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(measured.length, before + 1, 'one request, one measurement');
    // A reconcile of the user (spec change) leaves the measurement alone: status.usage is the measurer's field.
    await bed.admin.mergePatch(Resources.SftpUser, NS, 'alice', {
      spec: { permissions: ['list', 'download', 'upload'] },
    });
    await waitFor('reconciled', async () => {
      const u = await getUser(bed, NS, 'alice');
      return u?.status?.observedGeneration === u?.metadata?.generation;
    });
    assert.deepEqual((await getUser(bed, NS, 'alice'))?.status?.usage, usage);
  });

  it('a request again within the user interval waits, and status.usage.requestDeferredUntil says until when', async () => {
    const before = measured.length;
    const asked = Date.now();
    await bed.admin.mergePatch(Resources.SftpUser, NS, 'alice', {
      metadata: { annotations: { 'sftpgate.io/measure-usage': 'r2' } },
    });
    const until = await waitFor('deferral shown', async () => {
      const u = (await getUser(bed, NS, 'alice'))?.status?.usage;
      return u?.requestDeferredUntil;
    });
    // r1 was answered moments ago and the default interval is 60 s: r2 runs about a minute after r1 did.
    assert.ok(Date.parse(until) > asked && Date.parse(until) <= asked + 60_000, until);
    assert.equal((await getUser(bed, NS, 'alice'))?.status?.usage?.request, 'r1');
    assert.equal(measured.length, before, 'no listing for a request that waits');
  });

  it('measures new users with a quota at once; the others join the periodic cycle until they get a quota', async () => {
    const names = ['bulk0', 'bulk1', 'bulk2', 'bulk3', 'bulk4', 'bulk5', 'bulk6', 'bulk7'];
    const spec = (quota: boolean) => ({
      serverRef: { name: 'files' },
      authorizedKeys: [KEY],
      ...(quota ? { quota: { maxFiles: 100 } } : {}),
    });
    await Promise.all(names.map((n, i) => bed.admin.apply(Resources.SftpUser, userManifest(NS, n, spec(i < 2)))));
    for (const n of names.slice(0, 2)) {
      await waitFor(`${n} measured`, async () => (await getUser(bed, NS, n))?.status?.usage?.measuredAt);
    }
    // Every user is in the operator's cache and scanned several times over; none of the others was listed.
    await waitFor('all cached', () => names.every((n) => op.controllers.context.users.get(`${NS}/${n}`)));
    await new Promise((r) => setTimeout(r, 1_500));
    assert.deepEqual(measured.filter((k) => k.startsWith(`${NS}/bulk`)).sort(), [`${NS}/bulk0`, `${NS}/bulk1`]);
    for (const n of names.slice(2)) assert.equal((await getUser(bed, NS, n))?.status?.usage, undefined);
    // A quota given before the first measurement brings it forward: its uploads wait for it.
    await bed.admin.mergePatch(Resources.SftpUser, NS, 'bulk2', { spec: { quota: { maxBytes: '1Gi' } } });
    await waitFor('bulk2 measured', async () => (await getUser(bed, NS, 'bulk2'))?.status?.usage?.measuredAt);
    assert.equal(measured.filter((k) => k.startsWith(`${NS}/bulk`)).length, 3);
  });

  it("prunes pods' usage objects not written since the cutoff, and keeps the others", async () => {
    const pods = podsPrefix(PREFIX, 'alice');
    await put(`${pods}gone-pod.json`, 10);
    const client = bed.minio.s3();
    // MinIO stamps LastModified itself: a cutoff in the past keeps everything, one in the future prunes.
    assert.equal(await pruneStalePodUsage(client, 'sftp', pods, new Date(Date.now() - 3_600_000)), 0);
    assert.equal(await pruneStalePodUsage(client, 'sftp', pods, new Date(Date.now() + 60_000)), 1);
    const left = await client.send(new ListObjectsV2Command({ Bucket: 'sftp', Prefix: pods }));
    assert.equal(left.KeyCount ?? 0, 0);
    // The measurement object next to them is not a pod's and stays.
    await client.send(new GetObjectCommand({ Bucket: 'sftp', Key: measurementKey(PREFIX, 'alice') }));
  });
});
