// AWS and STS modes as shipped, proved by enforcement: each component runs against MinIO as a MinIO user whose
// policy IS the document sftpgate generates for that component in that mode, so MinIO refuses any call the document
// does not grant; and every call each component made (recorded by a proxy in front of MinIO, test/infra/aws-recorder)
// is checked against that same document by the IAM evaluator — so a new S3 call in the operator's storage layer or
// the pod (readiness included) is checked here without changing this test. One call outside each policy shows MinIO
// and the evaluator both refusing it.
//
//   STS:      as shipped, the profile's static credentials serve both: the operator's bucket manager (bucket check,
//             lifecycle rule, markers, purge of every version) and the real sftp pod process (AssumeRole's base for
//             each login and the readiness probe: base policy ∩ session policy, RoleArn/duration from config), as one
//             MinIO user holding files/profile-credentials-policy.json for the bucket and root.
//   AWS:      the operator on its own identity: files/operator-s3-policy.json.
//   pod, AWS: the same process in mode AWS. MinIO has no roles, so the base user holds the DATA ROLE's permission
//             policy (its sessions are data role ∩ session policy, exactly AWS's rule); the pod role's own policy
//             (only sts:AssumeRole/SetSourceIdentity on the data role) is checked by the evaluator on the recorded
//             AssumeRole calls, and no S3 call may be signed by the base key: the pod role has no S3 permission.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { measurementKey, podsPrefix } from '../../common/src/quota/usage-document.ts';
import { buildServerRoles, type PolicyDoc } from '../../operator/src/cloud/iam/aws-role-policies.ts';
import { operatorS3Policy, profileCredentialsPolicy } from '../../operator/src/cloud/iam/operator-policy.ts';
import { allowedByAll } from '../../operator/src/cloud/iam/policy-evaluator.ts';
import { buildSessionPolicy, PERMISSIONS } from '../../operator/src/cloud/iam/session-policy.ts';
import { S3BucketManager } from '../../operator/src/cloud/s3/bucket-manager.ts';
import { lifecycleRuleId } from '../../operator/src/controllers/placement.ts';
import { type KeyDir, makeHostKeyDir, makeKeyDir } from '../../sftp-pod/src/ssh/testing/keys.ts';
import { type AwsRecorder, type RecordedCall, startAwsRecorder } from '../infra/aws-recorder.ts';
import {
  httpGet,
  type ManagedProcess,
  type Minio,
  makeTempDir,
  releasePorts,
  removeTempDir,
  reservePorts,
  runCommand,
  sftpClientArgs,
  spawnManaged,
  startMinio,
  tailFile,
  waitUntil,
} from '../infra/index.ts';
import { createMinioUser, type MinioUser } from '../infra/minio-admin.ts';

const ROOT_DIR = new URL('../../', import.meta.url).pathname;
const BUCKET = 'sftpgate-iam';
const ROOT = 'tenants';
const MiB = 1024 * 1024;
const ACCOUNT = { accountId: '123456789012', partition: 'aws', region: 'us-east-1' };

interface Identity {
  readonly component: string;
  /** What the principal holds: every call it signs must be allowed by all of them. */
  readonly policies: readonly (PolicyDoc | string)[];
}

describe('every AWS call of every component is granted by the policy it holds (MinIO enforcement)', () => {
  let minio: Minio;
  let recorder: AwsRecorder;
  let dir: string;
  let hostKeys: KeyDir;
  let userKeys: KeyDir;
  let keyFile: string;
  let alicePublic: string;

  before(async () => {
    dir = makeTempDir('iam-enforcement');
    minio = await startMinio();
    await minio.createBucket(BUCKET, { versioning: true });
    recorder = await startAwsRecorder(minio.endpoint);
    hostKeys = makeHostKeyDir();
    userKeys = makeKeyDir();
    const alice = userKeys.generate('alice');
    keyFile = alice.file;
    alicePublic = alice.publicLine;
  });

  after(async () => {
    await recorder?.close();
    await minio?.stop();
    hostKeys?.remove();
    userKeys?.remove();
    if (dir) removeTempDir(dir);
  });

  for (const mode of ['STS', 'AWS'] as const) {
    describe(`mode ${mode}`, () => {
      const server = mode === 'STS' ? 'sts-demo' : 'aws-demo';
      const prefix = `${ROOT}/ns-a/${server}`;
      // The operator's lifecycle rule for this server: an id derived from profile + namespace + server.
      const rule = { id: lifecycleRuleId('enforcement', 'ns-a', server), prefix };
      const roles = buildServerRoles(
        {
          namespace: 'ns-a',
          name: server,
          uid: '00000000-0000-4000-8000-00000000000a',
          serviceAccount: `${server}-sftp`,
          bucket: BUCKET,
          prefix,
          identity: { kind: 'irsa', oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/oidc.example/id/X' },
        },
        ACCOUNT,
      );
      // STS: the profile's credentials, shared by operator and pods; AWS: the operator's role and the data role.
      const operatorPolicy =
        mode === 'STS'
          ? profileCredentialsPolicy({ bucket: BUCKET, root: ROOT })
          : operatorS3Policy([{ bucket: BUCKET, root: ROOT }]);
      const podBasePolicy = mode === 'STS' ? operatorPolicy : roles.data.permissionPolicy;

      const stsRoleArn = 'arn:aws:iam::123456789012:role/platform/sftpgate-sts';
      let operatorUser: MinioUser;
      let podUser: MinioUser;
      let pod: ManagedProcess | undefined;
      let ports: number[] = [];
      const identities = new Map<string, Identity>();
      let calls: RecordedCall[] = [];

      before(async () => {
        recorder.reset();
        operatorUser = await createMinioUser(minio, `operator-${mode.toLowerCase()}`, operatorPolicy);
        podUser = mode === 'STS' ? operatorUser : await createMinioUser(minio, 'pod-aws', podBasePolicy);
        // Calls are attributed by what they do: the pod's through its sessions (or its base key in AWS mode).
        identities.set(operatorUser.accessKeyId, { component: 'operator', policies: [operatorPolicy] });
        if (mode === 'AWS') identities.set(podUser.accessKeyId, { component: 'pod', policies: [podBasePolicy] });
      });

      after(async () => {
        await pod?.stop();
        releasePorts(ports);
      });

      /** The operator's bucket layer through the recorder, on the MinIO user holding the operator's policy. */
      const operatorBuckets = () =>
        new S3BucketManager({
          bucket: BUCKET,
          region: minio.region,
          endpoint: recorder.url,
          forcePathStyle: true,
          credentials: operatorUser,
        });

      it('the operator prepares the server prefix on its own policy', async () => {
        const bm = operatorBuckets();
        try {
          assert.deepEqual(await bm.checkBucket(), { versioning: 'Enabled' });
          await bm.ensureLifecycle(rule, {
            abortIncompleteMultipartUploadDays: 1,
            noncurrentVersionExpirationDays: 7,
            expiredObjectDeleteMarker: true,
          });
          await bm.ensureMarker(prefix);
          await bm.ensureMarker(`${prefix}/alice`);
          // alice has a quota: the operator measures her and writes the usage object her pods read.
          const startedAt = Date.now();
          const m = await bm.measureUsage([`${prefix}/alice`]);
          await bm.writeUsage(measurementKey(prefix, 'alice'), {
            version: 1,
            username: 'alice',
            bytes: m.bytes,
            files: m.files,
            startedAt,
            measuredAt: Date.now(),
          });
          await bm.pruneUsage(podsPrefix(prefix, 'alice'), new Date(startedAt - 3_600_000));
        } finally {
          bm.destroy();
        }
      });

      it('the pod becomes ready and serves a full SFTP session on the credentials of its mode', async () => {
        // A quota: the pod reads and writes alice's usage objects on her session credentials (docs/iam.md).
        const spec = { username: 'alice', permissions: [...PERMISSIONS], quota: { maxBytes: 1024 * MiB } };
        const users = [
          {
            ...spec,
            publicKeys: [alicePublic],
            sessionPolicy: buildSessionPolicy(spec, { bucket: BUCKET, prefix }).packed,
          },
        ];
        const usersFile = join(dir, `users-${mode}.json`);
        writeFileSync(usersFile, JSON.stringify({ version: 1, users }));
        ports = await reservePorts(2);
        const [sshPort, metricsPort] = ports as [number, number];
        pod = spawnManaged({
          name: `sftp-pod-${mode}`,
          command: process.execPath,
          args: [join(ROOT_DIR, 'sftp-pod/bin/sftpgate-sftp.js')],
          env: {
            SFTPGATE_LISTEN: `127.0.0.1:${sshPort}`,
            SFTPGATE_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
            SFTPGATE_HOST_KEY_DIR: hostKeys.dir,
            SFTPGATE_USERS_FILE: usersFile,
            SFTPGATE_S3_ENDPOINT: recorder.url,
            SFTPGATE_S3_REGION: minio.region,
            SFTPGATE_S3_BUCKET: BUCKET,
            SFTPGATE_S3_PREFIX: prefix,
            SFTPGATE_S3_FORCE_PATH_STYLE: 'true',
            SFTPGATE_PART_SIZE: '5MiB',
            SFTPGATE_IAM_MODE: mode,
            SFTPGATE_STS_ENDPOINT: recorder.url,
            SFTPGATE_CREDENTIALS_DURATION: '900s',
            ...(mode === 'STS'
              ? { SFTPGATE_STS_ROLE_ARN: stsRoleArn, SFTPGATE_STS_REGION: minio.region }
              : { SFTPGATE_DATA_ROLE_ARN: roles.data.arn }),
            AWS_ACCESS_KEY_ID: podUser.accessKeyId,
            AWS_SECRET_ACCESS_KEY: podUser.secretAccessKey,
            AWS_EC2_METADATA_DISABLED: 'true',
          },
          logFile: join(dir, `pod-${mode}.log`),
        });
        const running = pod;
        await waitUntil(
          'the pod to be ready (its S3 check on its own credentials)',
          async () => (await httpGet(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200,
          { timeoutMs: 60_000, intervalMs: 250, process: running },
        ).catch((err: unknown) => {
          assert.fail(`${String(err)}\n--- pod log ---\n${tailFile(join(dir, `pod-${mode}.log`), 40)}`);
        });
        writeFileSync(join(dir, 'small.bin'), randomBytes(50_000));
        const multi = randomBytes(11 * MiB + 5);
        writeFileSync(join(dir, 'multi.bin'), multi);
        const r = await runCommand('sftp', ['-b', '-', ...sftpClientArgs({ port: sshPort, user: 'alice', keyFile })], {
          input: [
            'put -p small.bin',
            'put multi.bin',
            'mkdir docs',
            'rename small.bin docs/small.bin',
            'ls -l docs',
            'get multi.bin multi.back',
            'mkdir empty',
            'rmdir empty',
            'rm multi.bin',
          ].join('\n'),
          allowFailure: true,
          timeoutMs: 120_000,
          cwd: dir,
        });
        assert.equal(
          r.code,
          0,
          `sftp failed:\n${r.stdout}\n${r.stderr}\n${tailFile(join(dir, `pod-${mode}.log`), 40)}`,
        );
        assert.deepEqual(readFileSync(join(dir, 'multi.back')), multi);
      });

      it('the operator purges the user prefix (every version) and removes its lifecycle rule', async () => {
        const bm = operatorBuckets();
        try {
          const done = await bm.purge(`${prefix}/alice`);
          assert.ok(done.deleted > 0 && !done.remaining);
          await bm.removeLifecycle(rule);
        } finally {
          bm.destroy();
        }
        calls = [...recorder.calls];
      });

      /** Who signed a call, with every policy that bounds it (a session: its minter's policy and its own). */
      const holder = (key: string): Identity | undefined => {
        const direct = identities.get(key);
        if (direct) return direct;
        const session = recorder.sessions.get(key);
        const parent = session ? identities.get(session.parentAccessKeyId) : undefined;
        if (!session || !parent) return undefined;
        // Only the pods assume roles: a session's calls are the pod's, bounded by its minter's policy and its own.
        return {
          component: 'pod session',
          policies: [...parent.policies, ...(session.policy ? [session.policy] : [])],
        };
      };

      it('every recorded S3 call is allowed by the generated policy of the component that made it, and MinIO agreed', () => {
        const s3 = calls.filter((c) => c.service === 's3');
        assert.ok(s3.length > 20, `calls recorded: ${s3.length}`);
        const problems: string[] = [];
        for (const c of s3) {
          const who = holder(c.accessKeyId);
          if (!who) problems.push(`${c.operation} ${c.url}: signed by an unknown key`);
          else if (c.operation.startsWith('Unknown'))
            problems.push(`${c.operation} ${c.url}: not mapped to IAM actions`);
          else {
            for (const q of c.requests) {
              if (!allowedByAll(who.policies, q))
                problems.push(`${who.component}: ${q.action} ${q.resource} ${JSON.stringify(q.context ?? {})}`);
            }
          }
          if (c.status === 403) problems.push(`MinIO refused ${c.operation} ${c.url}`);
        }
        assert.deepEqual(problems, []);
        // What ran (a record for the reviewer, and proof the run covered the interesting calls).
        const ops = (component: string) =>
          [
            ...new Set(
              s3.filter((c) => holder(c.accessKeyId)?.component.startsWith(component)).map((c) => c.operation),
            ),
          ].sort();
        for (const op of [
          'GetBucketVersioning',
          'PutBucketLifecycleConfiguration',
          'ListObjectVersions',
          'DeleteObjects',
        ]) {
          assert.ok(ops('operator').includes(op), `operator ran ${op}: ${ops('operator')}`);
        }
        for (const op of [
          'ListObjectsV2',
          'PutObject',
          'CreateMultipartUpload',
          'UploadPart',
          'CompleteMultipartUpload',
          'CopyObject',
          'GetObject',
          'DeleteObject',
        ]) {
          assert.ok(ops('pod').includes(op), `pod ran ${op}: ${ops('pod')}`);
        }
        console.log(`${mode}: operator ${ops('operator').join(', ')}; pod ${ops('pod').join(', ')}`);
      });

      it(
        mode === 'STS'
          ? 'STS: every login and the readiness probe assumed the configured role for the configured lifetime'
          : 'AWS: the pod role signs nothing but AssumeRole on the data role (no S3 call), with a source identity',
        () => {
          const sts = calls.filter((c) => c.service === 'sts');
          assert.ok(sts.length >= 2, 'a readiness session and a login session');
          for (const c of sts) {
            assert.equal(c.accessKeyId, podUser.accessKeyId);
            assert.equal(c.status, 200);
            assert.equal(c.parameters?.['DurationSeconds'], '900');
            assert.ok(c.parameters?.['Policy'], 'always a session policy');
            assert.match(c.parameters?.['RoleSessionName'] ?? '', /^sftpgate-/);
          }
          if (mode === 'STS') {
            for (const c of sts) assert.equal(c.parameters?.['RoleArn'], stsRoleArn);
            return;
          }
          for (const c of sts) {
            assert.equal(c.parameters?.['RoleArn'], roles.data.arn);
            assert.ok(c.parameters?.['SourceIdentity']);
            // The pod role's policy grants each question STS asks (only the evaluator: MinIO has no roles).
            for (const q of c.requests)
              assert.ok(allowedByAll([roles.pod.permissionPolicy], q), `${q.action} ${q.resource}`);
          }
          assert.deepEqual(
            calls.filter((c) => c.service === 's3' && c.accessKeyId === podUser.accessKeyId).map((c) => c.operation),
            [],
          );
        },
      );

      it('a call outside each policy is refused by MinIO and by the evaluator alike', async () => {
        recorder.reset();
        await minio.s3().send(new PutObjectCommand({ Bucket: BUCKET, Key: 'other/secret.txt', Body: 'x' }));
        const client = (user: MinioUser) =>
          new S3Client({ region: minio.region, endpoint: recorder.url, forcePathStyle: true, credentials: user });
        const op = client(operatorUser);
        const base = client(podUser);
        try {
          await assert.rejects(op.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'other/secret.txt' })), {
            name: 'AccessDenied',
          });
          // (Not a listing: the profile's credentials hold a bucket-wide ListBucket for the operator's HeadBucket.)
          await assert.rejects(base.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'other/secret.txt' })), {
            name: 'AccessDenied',
          });
          await assert.rejects(base.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'other/secret.txt' })), {
            name: 'AccessDenied',
          });
        } finally {
          op.destroy();
          base.destroy();
        }
        const denied = recorder.calls.filter((c) => c.accessKeyId !== minio.accessKeyId);
        assert.equal(denied.length, 3);
        for (const c of denied) {
          assert.equal(c.status, 403, c.url);
          const who = holder(c.accessKeyId);
          assert.ok(who);
          for (const q of c.requests)
            assert.ok(!allowedByAll(who.policies, q), `the evaluator refuses ${q.action} ${q.resource}`);
        }
      });
    });
  }
});
