// Resumable uploads (docs/storage.md "Resumable uploads") with the real OpenSSH client against real MinIO and TWO
// sftp-pod processes of one server: an upload interrupted on pod A (client killed after some parts reached S3) is
// finished by `reput` through pod B; the stored object and its SHA-256 tag equal the source, and nothing is left over.
// Also: STAT shows the committed size to the same user only, READDIR/READ never show the partial upload, a complete
// object is never resumed, and a first write at another offset starts fresh and discards the stale upload.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import ssh2 from 'ssh2';
import { makeHostKeyDir } from '../../sftp-pod/src/ssh/testing/keys.ts';
import { parseResumeState, resumeStateKey } from '../../sftp-pod/src/storage/resume-state.ts';
import {
  type ManagedProcess,
  reservePorts,
  runCommand,
  sftpClientArgs,
  spawnManaged,
  waitUntil,
} from '../infra/index.ts';
import { BUCKET, type Harness, PREFIX, sha256, startHarness } from './sftp-harness.ts';

const MiB = 1024 * 1024;
const ROOT = new URL('../../', import.meta.url).pathname;
// Pod A saves state only at an interruption; pod B also checkpoints running uploads every second.
const POD_ARGS = ['--part-size=5MiB', '--upload-concurrency=2'];

let h: Harness;
let podB: ManagedProcess;
let portB: number;
let big: string;
let bigSha: string;
let removeHostKeys: () => void;

before(async () => {
  h = await startHarness({ bin: true, args: [...POD_ARGS, '--resume-checkpoint=0'] });
  const hostKeys = makeHostKeyDir();
  removeHostKeys = () => hostKeys.remove();
  const [p, metrics] = await reservePorts(2);
  portB = p ?? 0;
  podB = spawnManaged({
    name: 'sftpgate-sftp-b',
    command: process.execPath,
    args: [
      join(ROOT, 'sftp-pod/bin/sftpgate-sftp.js'),
      ...h.podFlags({
        hostKeyDir: hostKeys.dir,
        port: portB,
        metricsPort: metrics ?? 0,
        args: [...POD_ARGS, '--resume-checkpoint=1s'],
      }),
    ],
    env: h.podEnv,
    logFile: join(h.dir, 'sftp-pod-b.log'),
    graceSeconds: 20,
  });
  await waitUntil(
    'sftp pod B ready',
    async (signal) => (await fetch(`http://127.0.0.1:${metrics}/readyz`, { signal })).ok,
    { timeoutMs: 60_000, process: podB },
  );
  const data = randomBytes(64 * MiB);
  big = join(h.dir, 'big.bin');
  writeFileSync(big, data);
  bigSha = sha256(data);
});
after(async () => {
  await podB?.stop();
  removeHostKeys?.();
  await h?.stop();
});

function sftpAt(port: number, user: string, batch: string) {
  const key = h.keys[user];
  return runCommand('sftp', ['-b', '-', ...sftpClientArgs({ port, user, ...(key ? { keyFile: key.file } : {}) })], {
    input: batch,
    allowFailure: true,
    timeoutMs: 170_000,
    cwd: h.dir,
  });
}

/** Parts S3 holds for the one multipart upload of `key` (0 when there is none). */
async function partsOf(key: string): Promise<number> {
  const uploads = await h.inProgressUploads();
  if (!uploads.includes(key)) return 0;
  const list = await h.s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
  const u = list.Uploads?.find((x) => x.Key === key);
  const parts = await h.s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: u?.UploadId }));
  return parts.Parts?.length ?? 0;
}

async function exists(key: string): Promise<boolean> {
  const out = await h.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
  return (out.Contents ?? []).some((o) => o.Key === key);
}

/**
 * Starts `put` of the 64 MiB file through pod A at 4 MB/s, and kills the client (its whole process group: sftp and
 * its ssh) once S3 holds at least `minParts` parts; resolves when pod A saved the upload's state.
 */
async function interruptedUpload(remote: string, minParts = 3): Promise<void> {
  const key = h.keys['alice'];
  const args = ['-b', '-', '-l', '32000', ...sftpClientArgs({ port: h.port, user: 'alice', keyFile: key?.file ?? '' })];
  const child: ChildProcess = spawn('sftp', args, { cwd: h.dir, detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin?.end(`put ${big} ${remote}\n`);
  const objectKey = `${PREFIX}/alice${remote}`;
  try {
    await waitUntil('parts committed', async () => (await partsOf(objectKey)) >= minParts, {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
  } finally {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitUntil('resume state saved', () => exists(resumeStateKey(PREFIX, 'alice', objectKey)), {
    timeoutMs: 30_000,
  });
  assert.equal(await exists(objectKey), false, 'nothing visible before CLOSE');
}

describe('resumable uploads across pods', () => {
  test('reput through pod B finishes an upload interrupted on pod A; SHA-256 and its tag equal the source', async () => {
    const objectKey = `${PREFIX}/alice/big.bin`;
    const stateKey = resumeStateKey(PREFIX, 'alice', objectKey);
    await interruptedUpload('/big.bin');
    const state = parseResumeState(await getText(stateKey), {
      user: 'alice',
      key: objectKey,
      nowMs: Date.now(),
      retentionMs: 86_400_000,
    });
    assert.ok(state);
    assert.ok(state.committedBytes >= 15 * MiB && state.committedBytes < 64 * MiB, String(state.committedBytes));

    // STAT (what reput asks first) shows the committed size to alice only; READDIR and READ never show it.
    const seen = await sftpAt(portB, 'alice', 'ls -l /big.bin\nls -1 /\n');
    assert.match(seen.stdout, new RegExp(`\\s${state.committedBytes}\\s`), seen.stdout);
    assert.doesNotMatch(seen.stdout.split('ls -1 /')[1] ?? '', /big\.bin/);
    const get = await sftpAt(portB, 'alice', `get /big.bin ${join(h.dir, 'partial')}\n`);
    assert.notEqual(get.code, 0);
    // reader's home is alice's: same key, another user — no resumable upload for them.
    const other = await sftpAt(portB, 'reader', 'ls -l /big.bin\n');
    assert.notEqual(other.code, 0, other.stdout);

    const r = await sftpAt(portB, 'alice', `reput ${big} /big.bin\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await h.sha256Of(objectKey), bigSha);
    const tags = await h.s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: objectKey }));
    assert.equal(tags.TagSet?.find((t) => t.Key === 'sftpgate-sha256')?.Value, bigSha);
    assert.deepEqual(await h.inProgressUploads(), []);
    assert.equal(await exists(stateKey), false, 'state object removed');
  });

  test('lftp `put -c` through pod B finishes an upload interrupted on pod A', async () => {
    const objectKey = `${PREFIX}/alice/lftp.bin`;
    await interruptedUpload('/lftp.bin');
    const key = h.keys['alice']?.file ?? '';
    const ssh = `ssh -a -x -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -i ${key}`;
    const cmds = [
      `set sftp:connect-program "${ssh}"`,
      'set net:max-retries 1',
      `open -u alice, -p ${portB} sftp://127.0.0.1`,
      `put -c ${big} -o lftp.bin`,
      'bye',
    ];
    const r = await runCommand('lftp', ['-c', cmds.join('; ')], { allowFailure: true, timeoutMs: 170_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(await h.sha256Of(objectKey), bigSha);
    assert.deepEqual(await h.inProgressUploads(), []);
    assert.equal(await exists(resumeStateKey(PREFIX, 'alice', objectKey)), false);
  });

  test('a complete object is never resumed: reput is refused and the object is unchanged', async () => {
    const small = join(h.dir, 'small.bin');
    writeFileSync(small, randomBytes(1000));
    const r = await sftpAt(h.port, 'alice', `put ${small} /done.bin\nreput ${big} /done.bin\n`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not supported|unsupported/i);
    assert.equal(await h.sha256Of(`${PREFIX}/alice/done.bin`), sha256(readFileSync(small)));
  });

  test('a first write at another offset starts fresh and discards the interrupted upload', async () => {
    const objectKey = `${PREFIX}/alice/mis.bin`;
    await interruptedUpload('/mis.bin', 1);
    const body = randomBytes(4096);
    await appendAt(portB, '/mis.bin', body, 0);
    assert.equal(await h.sha256Of(objectKey), sha256(body));
    await waitUntil('stale upload discarded', async () => (await h.inProgressUploads()).length === 0, {
      timeoutMs: 30_000,
    });
    assert.equal(await exists(resumeStateKey(PREFIX, 'alice', objectKey)), false);
  });
});

describe('attacks on resume state', () => {
  test('the reserved prefix is out of reach: every spelling of .sftpgate stays in the home, the state is untouched', async () => {
    const objectKey = `${PREFIX}/alice/atk.bin`;
    const stateKey = resumeStateKey(PREFIX, 'alice', objectKey);
    await interruptedUpload('/atk.bin', 1);
    const before = await getText(stateKey);
    const rel = stateKey.slice(PREFIX.length); // /.sftpgate/uploads/alice/<sha>.json
    const small = join(h.dir, 'atk-small');
    writeFileSync(small, 'x');
    for (const path of [rel, `/..${rel}`, `/../..${rel}`]) {
      const r = await sftpAt(h.port, 'alice', `ls -l ${path}\nget ${path} ${join(h.dir, 'stolen')}\nrm ${path}\n`);
      assert.notEqual(r.code, 0, `${path}: ${r.stdout}`);
      for (const cmd of [`rename ${path} /moved`, `ls ${path.slice(0, path.lastIndexOf('/'))}`]) {
        assert.notEqual((await sftpAt(h.port, 'alice', `${cmd}\n`)).code, 0, cmd);
      }
    }
    // A WRITE to that path is a file in alice's own home, never the reserved root.
    const put = await sftpAt(h.port, 'alice', `put ${small} ${rel}\n`);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(await getText(`${PREFIX}/alice${rel}`), 'x');
    assert.equal(await getText(stateKey), before, 'state object unchanged');
    // Still resumable by alice, and only by alice.
    const r = await sftpAt(portB, 'alice', `reput ${big} /atk.bin\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await h.sha256Of(objectKey), bigSha);
  });

  test("a crafted state naming another user's upload is not believed; that upload is untouched", async () => {
    // alice2's interrupted upload (one 5 MiB part), and a state planted in alice's state directory that names it.
    const victimKey = `${PREFIX}/alice2/victim.bin`;
    const { UploadId } = await h.s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: victimKey }));
    const part = await h.s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: victimKey, UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) }),
    );
    const planted = {
      v: 1,
      user: 'alice',
      key: victimKey,
      uploadId: UploadId,
      basePartSize: 5 * MiB,
      parts: [{ n: 1, etag: part.ETag, size: 5 * MiB }],
      committedBytes: 5 * MiB,
      savedAtMs: Date.now(),
    };
    const aliceKey = `${PREFIX}/alice/victim.bin`;
    await h.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: resumeStateKey(PREFIX, 'alice', aliceKey),
        Body: JSON.stringify(planted),
      }),
    );
    const stat = await sftpAt(h.port, 'alice', 'ls -l /victim.bin\n');
    assert.notEqual(stat.code, 0, 'STAT does not believe a state for another key');
    // Even writing at the planted offset continues nothing: a fresh upload that cannot start at 5 MiB.
    await assert.rejects(appendAt(h.port, '/victim.bin', randomBytes(1024), 5 * MiB));
    const parts = await h.s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: victimKey, UploadId }));
    assert.deepEqual(
      parts.Parts?.map((p) => [p.PartNumber, p.ETag]),
      [[1, part.ETag]],
      "alice2's upload is as it was",
    );
    assert.equal(await exists(aliceKey), false);
    assert.equal(await exists(victimKey), false);
    await h.s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: victimKey, UploadId }));
  });
});

// Last: it kills pod B.
describe('pod crash', () => {
  test('a pod SIGKILLed mid-upload: its last checkpoint resumes through the other pod', async () => {
    const objectKey = `${PREFIX}/alice/crash.bin`;
    const stateKey = resumeStateKey(PREFIX, 'alice', objectKey);
    const key = h.keys['alice']?.file ?? '';
    const args = ['-b', '-', '-l', '32000', ...sftpClientArgs({ port: portB, user: 'alice', keyFile: key })];
    const client = spawn('sftp', args, { cwd: h.dir, detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    client.stdin?.end(`put ${big} /crash.bin\n`);
    try {
      await waitUntil('a checkpoint of the running upload', () => exists(stateKey), { timeoutMs: 60_000 });
      // The pod process itself (the guard's child), not the guard: no SIGTERM, no chance to save anything more.
      const pods = execFileSync('pgrep', ['-P', String(podB.pid)])
        .toString()
        .trim()
        .split('\n');
      for (const pid of pods) process.kill(Number(pid), 'SIGKILL');
    } finally {
      try {
        process.kill(-(client.pid ?? 0), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const state = parseResumeState(await getText(stateKey), {
      user: 'alice',
      key: objectKey,
      nowMs: Date.now(),
      retentionMs: 86_400_000,
    });
    assert.ok(state && state.committedBytes > 0);
    assert.equal(await exists(objectKey), false, 'nothing visible');
    const r = await sftpAt(h.port, 'alice', `reput ${big} /crash.bin\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await h.sha256Of(objectKey), bigSha);
    assert.deepEqual(await h.inProgressUploads(), []);
    assert.equal(await exists(stateKey), false);
  });
});

async function getText(key: string): Promise<string> {
  const out = await h.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}

/** ssh2's SFTP client: OPEN with APPEND|CREAT|WRITE, one WRITE at `offset`, CLOSE. */
function appendAt(port: number, path: string, data: Buffer, offset: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.on('error', reject);
    c.on('ready', () => {
      c.sftp((err, sftp) => {
        if (err) return reject(err);
        sftp.open(path, 'a', (e1, handle) => {
          if (e1) return reject(e1);
          sftp.write(handle, data, 0, data.length, offset, (e2) => {
            if (e2) return reject(e2);
            sftp.close(handle, (e3) => {
              c.end();
              if (e3) reject(e3);
              else resolve();
            });
          });
        });
      });
    });
    c.connect({
      host: '127.0.0.1',
      port,
      username: 'alice',
      privateKey: readFileSync(h.keys['alice']?.file ?? ''),
    });
  });
}
