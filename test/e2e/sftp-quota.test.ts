// Quotas end to end (docs/operations.md "Quotas"): two sftp pods of one server (in-process startPod, each its own
// SSH port and quota registry) on one MinIO and one users file, OpenSSH sftp as the client, the operator's own
// measurement code writing the usage object the pods read.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { measurementKey } from '../../common/src/quota/usage-document.ts';
import { measurePrefixes, writeMeasurement } from '../../operator/src/cloud/s3/usage.ts';
import { noAudit } from '../../sftp-pod/src/audit/event.ts';
import { parseConfig } from '../../sftp-pod/src/config.ts';
import { type Pod, startPod } from '../../sftp-pod/src/main.ts';
import { makeHostKeyDir } from '../../sftp-pod/src/ssh/testing/keys.ts';
import { silentLogger } from '../../sftp-pod/src/telemetry/log.ts';
import type { UserRecord } from '../../sftp-pod/src/users/types.ts';
import { runCommand, sftpClientArgs } from '../infra/index.ts';
import { ALL_PERMISSIONS, BUCKET, type Harness, PREFIX, startHarness } from './sftp-harness.ts';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const ARGS = [`--part-size=${PART}`, '--upload-concurrency=2'];

let h: Harness;
let pod2: Pod;
let removeHostKeys: () => void;

const quotaUser = (name: string, key: string, quota?: UserRecord['quota']): UserRecord => ({
  username: name,
  publicKeys: [key],
  permissions: [...ALL_PERMISSIONS],
  ...(quota ? { quota } : {}),
});

before(async () => {
  h = await startHarness({
    args: ARGS,
    users: (keys) => [
      quotaUser('quser', keys['alice2']?.publicLine ?? '', { maxBytes: 20 * MiB }),
      quotaUser('fuser', keys['stranger']?.publicLine ?? '', { maxFiles: 2 }),
    ],
  });
  const hostKeys = makeHostKeyDir();
  removeHostKeys = () => hostKeys.remove();
  const config = parseConfig(h.podFlags({ hostKeyDir: hostKeys.dir, args: ARGS }), h.podEnv);
  pod2 = await startPod(config, { log: silentLogger, audit: noAudit });
});

after(async () => {
  await pod2?.shutdown(0);
  removeHostKeys?.();
  await h?.stop();
});

/** What the operator does for one user: list the home, write the measurement object. */
async function measure(username: string): Promise<{ bytes: number; files: number }> {
  const startedAt = Date.now();
  const m = await measurePrefixes(h.s3, BUCKET, [`${PREFIX}/${username}`]);
  await writeMeasurement(h.s3, BUCKET, measurementKey(PREFIX, username), {
    version: 1,
    username,
    bytes: m.bytes,
    files: m.files,
    startedAt,
    measuredAt: Date.now(),
  });
  return m;
}

/** OpenSSH sftp against pod 1 (the harness's) or pod 2, as `login` with `keyOf`'s key. */
function sftpAt(pod: 1 | 2, login: string, keyOf: string, batch: string) {
  const port = pod === 1 ? h.port : pod2.sshAddress.port;
  const keyFile = h.keys[keyOf]?.file;
  return runCommand('sftp', ['-b', '-', ...sftpClientArgs({ port, user: login, ...(keyFile ? { keyFile } : {}) })], {
    input: batch,
    allowFailure: true,
    timeoutMs: 170_000,
    cwd: h.dir,
  });
}

async function objectsUnder(prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const page = await h.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  for (const o of page.Contents ?? []) if (o.Key) out.set(o.Key, o.Size ?? 0);
  return out;
}

async function s3Requests(metricsUrl: string, operation: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('sftpgate_s3_requests_total{') && line.includes(`operation="${operation}"`)) {
      n += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return n;
}

function localFile(name: string, bytes: number): string {
  const path = join(h.dir, name);
  writeFileSync(path, randomBytes(bytes));
  return path;
}

describe('quota across two pods', () => {
  test('concurrent uploads through both pods never store more than the quota; refused ones leave nothing', async (t) => {
    await h.s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/quser/existing.bin`, Body: randomBytes(2 * MiB) }),
    );
    assert.deepEqual(await measure('quser'), { bytes: 2 * MiB, files: 1, requests: 1 });
    // 18 MiB free; six 6 MiB uploads (two parts each) at once, three per pod: at most three can fit.
    const files = Array.from({ length: 6 }, (_, i) => localFile(`q${i}.bin`, 6 * MiB));
    const results = await Promise.all(
      files.map((f, i) => sftpAt(i % 2 === 0 ? 1 : 2, 'quser', 'alice2', `put ${f} /q${i}.bin\n`)),
    );
    const stored = await objectsUnder(`${PREFIX}/quser/`);
    const total = [...stored.values()].reduce((a, b) => a + b, 0);
    assert.ok(total <= 20 * MiB, `stored ${total} bytes, over the 20 MiB quota`);
    const ok = results.filter((r) => r.code === 0).length;
    t.diagnostic(`${ok} of 6 uploads stored; ${total} of ${20 * MiB} bytes used`);
    assert.ok(ok >= 1, 'at least one upload fits');
    assert.equal(stored.size, 1 + ok, 'every successful put stored exactly its file');
    for (const [i, r] of results.entries()) {
      const key = `${PREFIX}/quser/q${i}.bin`;
      if (r.code === 0) assert.equal(stored.get(key), 6 * MiB);
      else assert.equal(stored.has(key), false, `refused q${i} left an object`);
    }
    assert.deepEqual(
      (await h.inProgressUploads()).filter((k) => k.startsWith(`${PREFIX}/quser/`)),
      [],
      'no incomplete multipart upload left',
    );
  });

  test('an upload larger than what is left is refused before its first part is sent', async () => {
    // Whatever the previous case stored, fill up to 1 MiB below the quota behind the pods' back (another S3 client).
    // First let the pods give their idle leases back (10 s) and pass their clock-skew margin, so that 1 MiB is
    // really free.
    await new Promise((r) => setTimeout(r, 11_000));
    // When three uploads fitted above, the quota is full (2 + 3 x 6 MiB): make room behind the pods' back first, or
    // nothing would fit and the small put below would be refused, rightly.
    await h.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/quser/existing.bin` }));
    const used = (await measure('quser')).bytes;
    const filler = 20 * MiB - MiB - used;
    if (filler > 0) {
      await h.s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/quser/filler.bin`, Body: randomBytes(filler) }),
      );
    }
    await measure('quser');
    await new Promise((r) => setTimeout(r, 2_500)); // the pods' cached reads expire
    const creates = await s3Requests(h.metricsUrl, 'CreateMultipartUpload');
    const puts = await s3Requests(h.metricsUrl, 'PutObject');
    const big = localFile('big.bin', 8 * MiB);
    const r = await sftpAt(1, 'quser', 'alice2', `put ${big} /big.bin\n`);
    assert.notEqual(r.code, 0, 'the upload is refused');
    assert.equal(await s3Requests(h.metricsUrl, 'CreateMultipartUpload'), creates, 'no multipart upload started');
    // PutObjects of the pod's own usage object only (lease published and given back), never of big.bin.
    assert.ok((await s3Requests(h.metricsUrl, 'PutObject')) - puts <= 4);
    assert.equal((await objectsUnder(`${PREFIX}/quser/big.bin`)).size, 0);
    // A small file that fits still goes through, through the other pod too.
    const small = localFile('small.bin', 100 * 1024);
    const fits = await sftpAt(2, 'quser', 'alice2', `put ${small} /small.bin\n`);
    assert.equal(fits.code, 0, fits.stderr);
  });

  test('df -h shows the quota, the cluster-wide use and what is free', async () => {
    await new Promise((r) => setTimeout(r, 2_500));
    const used = (await measure('quser')).bytes;
    await new Promise((r) => setTimeout(r, 2_500));
    const r = await sftpAt(2, 'quser', 'alice2', 'df -h\n');
    assert.equal(r.code, 0, r.stderr);
    // OpenSSH: "    Size     Used    Avail   (root)    %Capacity" then fmt_scaled values ("20.0MB").
    const row = r.stdout.trim().split('\n').at(-1) ?? '';
    const [size, usedText, avail] = row.trim().split(/\s+/);
    assert.equal(size, '20.0MB', row);
    const mib = (s: string | undefined) => Number.parseFloat(s ?? '') * (s?.endsWith('KB') ? 1 / 1024 : 1);
    assert.ok(Math.abs(mib(usedText) - used / MiB) < 0.2, `used ${usedText} vs ${used}`);
    assert.ok(Math.abs(mib(avail) - (20 * MiB - used) / MiB) < 0.2, `avail ${avail}`);
  });

  test('the file limit refuses at OPEN once reached, on either pod', async () => {
    await measure('fuser');
    const f = localFile('f.bin', 1000);
    assert.equal((await sftpAt(1, 'fuser', 'stranger', `put ${f} /a.bin\n`)).code, 0);
    assert.equal((await sftpAt(2, 'fuser', 'stranger', `put ${f} /b.bin\n`)).code, 0);
    const third = await sftpAt(1, 'fuser', 'stranger', `put ${f} /c.bin\n`);
    assert.notEqual(third.code, 0, 'the third file is refused');
    assert.equal((await objectsUnder(`${PREFIX}/fuser/c.bin`)).size, 0);
  });
});

describe('the reserved prefix', () => {
  test('a hostile user cannot list, read or write .sftpgate/ by any path', async () => {
    const key = measurementKey(PREFIX, 'quser');
    const before = await h.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const probe = localFile('probe.json', 10);
    const attempts = [
      'ls -la /..',
      'ls ../.sftpgate/usage/quser',
      'ls /../../.sftpgate',
      'get ../.sftpgate/usage/quser/measured.json stolen.json',
      'get /../../.sftpgate/usage/quser/measured.json stolen.json',
      `put ${probe} ../.sftpgate/usage/quser/measured.json`,
      `put ${probe} ../../.sftpgate/usage/quser/pods/evil.json`,
    ];
    for (const cmd of attempts) {
      const r = await sftpAt(1, 'alice', 'alice', `-${cmd}\n`);
      const output = r.stdout.split('\n').filter((l) => !l.startsWith('sftp>'));
      assert.ok(!output.some((l) => l.includes('measured.json') || l.includes('pods')), `${cmd}: ${r.stdout}`);
      assert.equal(existsSync(join(h.dir, 'stolen.json')), false, `${cmd} fetched the usage object`);
    }
    const afterwards = await h.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    assert.equal(afterwards.ETag, before.ETag, 'the measurement is untouched');
    // Whatever alice wrote stayed inside her home (the jail clamps `..` at her root).
    const all = await h.listAll();
    const outside = all.filter((k) => k.startsWith(`${PREFIX}/.sftpgate/`) && k.includes('evil'));
    assert.deepEqual(outside, []);
  });

  test('a users-table entry whose home is the reserved root cannot log in', async () => {
    const users = [
      ...h.defaultUsers(),
      quotaUser('quser', h.keys['alice2']?.publicLine ?? '', { maxBytes: 20 * MiB }),
      quotaUser('fuser', h.keys['stranger']?.publicLine ?? '', { maxFiles: 2 }),
      { ...quotaUser('evil', h.keys['reader']?.publicLine ?? ''), home: '.sftpgate/usage/quser' },
    ];
    h.writeUsers(users);
    await new Promise((r) => setTimeout(r, 2_000)); // the file source reloads
    const r = await sftpAt(1, 'evil', 'reader', 'ls -la\nget measured.json stolen2.json\n');
    assert.notEqual(r.code, 0);
    assert.ok(!r.stdout.includes('measured.json'), r.stdout);
  });
});
