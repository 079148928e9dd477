// SFTP end to end in STS mode: the real sftp pod (startPod, in-process) serves OpenSSH's `sftp` from real MinIO, every
// S3 call of a session signed with that login's temporary credentials (session policy from the operator's builder,
// minted by the credential broker). Proves the data plane's S3 calls all fit inside the session policy (listings,
// stats, multipart, copy-rename, mkdir/rmdir, setstat), and that credentials refreshed during a long, throttled
// upload do not fail it.
//
// The pod's IAM-mode wiring is the coordinator's (main.ts); this test plugs the broker in through
// PodOptions.storageFor with a lazily-minting credentials provider, the same provider clientFor() hands out.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { buildSessionPolicy, PERMISSIONS } from '../../operator/src/cloud/iam/session-policy.ts';
import { parseConfig } from '../../sftp-pod/src/config.ts';
import { type CredentialBroker, createCredentialBroker } from '../../sftp-pod/src/credentials/broker.ts';
import type { StsResult } from '../../sftp-pod/src/credentials/errors.ts';
import { type Pod, startPod } from '../../sftp-pod/src/main.ts';
import { type KeyDir, makeHostKeyDir, makeKeyDir } from '../../sftp-pod/src/ssh/testing/keys.ts';
import { ByteBudget } from '../../sftp-pod/src/storage/budget.ts';
import { S3Storage } from '../../sftp-pod/src/storage/s3-storage.ts';
import { silentLogger } from '../../sftp-pod/src/telemetry/log.ts';
import type { UserRecord } from '../../sftp-pod/src/users/types.ts';
import { type Minio, makeTempDir, removeTempDir, runCommand, sftpClientArgs, startMinio } from '../infra/index.ts';
import { LeanS3Client } from './s3-lean.ts';

const BUCKET = 'sftp-sts';
const PREFIX = 'srv';
const MiB = 1024 * 1024;

describe('SFTP in STS mode: every S3 call on session credentials', () => {
  let minio: Minio;
  let pod: Pod;
  let broker: CredentialBroker;
  let dir: string;
  let hostKeys: KeyDir;
  let userKeys: KeyDir;
  let keyFile: string;
  let root: S3Client;
  const sts: StsResult[] = [];
  /** Every time a session's S3 client asked for credentials: which access key it got, and when. */
  const handed: { key: string; at: number }[] = [];

  before(async () => {
    dir = makeTempDir('iam-sftp-sts');
    minio = await startMinio();
    await minio.createBucket(BUCKET);
    root = minio.s3();
    hostKeys = makeHostKeyDir();
    userKeys = makeKeyDir();
    const alice = userKeys.generate('alice');
    keyFile = alice.file;
    const spec = { username: 'alice', permissions: [...PERMISSIONS] };
    const users: UserRecord[] = [
      {
        ...spec,
        publicKeys: [alice.publicLine],
        sessionPolicy: buildSessionPolicy(spec, { bucket: BUCKET, prefix: PREFIX }).packed,
      },
    ];
    const usersFile = join(dir, 'users.json');
    writeFileSync(usersFile, JSON.stringify({ version: 1, users }));

    // Refresh 2 s after minting (900 s credentials): a throttled upload of several seconds spans refreshes.
    broker = createCredentialBroker({
      mode: 'STS',
      s3: { region: minio.region, endpoint: minio.endpoint, forcePathStyle: true },
      stsEndpoint: minio.endpoint,
      baseCredentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
      durationSeconds: 900,
      refreshBeforeSeconds: 898,
      onStsRequest: (r) => sts.push(r),
    });
    // The pod's own base client uses the base credentials from the environment (readiness is bypassed here: storageFor).
    const env = { AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey };
    Object.assign(process.env, env);
    const config = parseConfig(
      [
        '--listen=127.0.0.1:0',
        '--metrics-listen=127.0.0.1:0',
        `--host-key-dir=${hostKeys.dir}`,
        `--users-file=${usersFile}`,
        `--s3-endpoint=${minio.endpoint}`,
        `--s3-bucket=${BUCKET}`,
        `--s3-prefix=${PREFIX}`,
        '--s3-force-path-style=true',
      ],
      env,
    );
    const budget = new ByteBudget(64 * MiB);
    pod = await startPod(config, {
      log: silentLogger,
      storageFor: (user, sessionId) => {
        const provider = broker.credentialsFor(
          { username: user.username, sessionPolicy: user.sessionPolicy },
          sessionId,
        );
        return new S3Storage({
          client: new LeanS3Client({
            region: minio.region,
            endpoint: minio.endpoint,
            forcePathStyle: true,
            credentials: async () => {
              const c = await provider();
              handed.push({ key: c.accessKeyId, at: Date.now() });
              return c;
            },
          }),
          bucket: BUCKET,
          partSize: 5 * MiB,
          uploadConcurrency: 2,
          downloadConcurrency: 2,
          podBudget: budget,
          maxRenameObjects: 100,
        });
      },
    });
  });

  after(async () => {
    await pod?.shutdown(0);
    broker?.close();
    await minio?.stop();
    hostKeys?.remove();
    userKeys?.remove();
    if (dir) removeTempDir(dir);
  });

  const sftp = (batch: string, extra: readonly string[] = []) =>
    runCommand('sftp', ['-b', '-', ...sftpClientArgs({ port: pod.sshAddress.port, user: 'alice', keyFile, extra })], {
      input: batch,
      allowFailure: true,
      timeoutMs: 170_000,
      cwd: dir,
    });

  const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
  const objectSha = async (key: string) => {
    const out = await root.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return sha256(await (out.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array())));
  };

  test('upload (with times), list, stat, download, mkdir, rename, remove, rmdir all work on session credentials', async () => {
    const small = randomBytes(100_000);
    const multi = randomBytes(12 * MiB + 123); // three parts at 5 MiB
    writeFileSync(join(dir, 'small.bin'), small);
    writeFileSync(join(dir, 'multi.bin'), multi);
    const r = await sftp(
      [
        // -p sends the times with SETSTAT: stored by a metadata self-copy (GetObject + PutObject).
        'put -p small.bin',
        'put multi.bin',
        'mkdir docs',
        'rename small.bin docs/small.bin',
        'ls -l docs',
        'ls -l',
        'get multi.bin multi.back',
        'get docs/small.bin small.back',
        'mkdir empty',
        'rmdir empty',
        'rm multi.bin',
      ].join('\n'),
    );
    assert.equal(r.code, 0, `sftp failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /small\.bin/);
    assert.deepEqual(readFileSync(join(dir, 'multi.back')), multi);
    assert.deepEqual(readFileSync(join(dir, 'small.back')), small);
    assert.equal(await objectSha(`${PREFIX}/alice/docs/small.bin`), sha256(small));
    const keys = (await root.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}/` }))).Contents?.map(
      (o) => o.Key,
    );
    assert.ok(keys?.includes(`${PREFIX}/alice/docs/small.bin`));
    assert.ok(!keys?.includes(`${PREFIX}/alice/multi.bin`), 'removed');
    assert.ok(!keys?.includes(`${PREFIX}/alice/small.bin`), 'renamed away');
    assert.ok(sts.length >= 1 && sts.every((x) => x === 'ok'));
  });

  test('a long, throttled upload keeps going across credential refreshes and lands intact', async () => {
    const data = randomBytes(6 * MiB + 7);
    writeFileSync(join(dir, 'long.bin'), data);
    // -l is in Kbit/s: 12,000 Kbit/s is about 1.4 MiB/s, so the upload lasts ~4 s: refreshes every ~2 s.
    const t0 = Date.now();
    const r = await sftp('put long.bin', ['-l', '12000']);
    const t1 = Date.now();
    assert.equal(r.code, 0, `sftp failed:\n${r.stdout}\n${r.stderr}`);
    assert.equal(await objectSha(`${PREFIX}/alice/long.bin`), sha256(data));
    // The SDK asked again once the first credentials reached their refresh point, mid-upload, and got new ones.
    const used = new Set(handed.filter((h) => h.at >= t0 && h.at <= t1).map((h) => h.key));
    assert.ok(used.size >= 2, `distinct credentials used by the upload: ${used.size}`);
    assert.ok(sts.every((x) => x === 'ok'));
    const mpu = await root.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    assert.equal(mpu.Uploads?.length ?? 0, 0, 'no multipart upload left behind');
  });
});
