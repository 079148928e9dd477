// Shared set-up for the sftp-pod end-to-end tests: one real MinIO, one sftp pod (in-process via startPod, or the
// standalone bin as a child process), host keys and user keys made by ssh-keygen, and the real clients (OpenSSH
// sftp, curl, lftp) run as commands. One harness per test FILE; files run in parallel.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { PERMISSIONS } from '../../common/src/users/permission.ts';
import { type AuditLog, noAudit } from '../../sftp-pod/src/audit/event.ts';
import { parseConfig } from '../../sftp-pod/src/config.ts';
import { type Pod, startPod } from '../../sftp-pod/src/main.ts';
import { type KeyDir, type KeyPair, makeHostKeyDir, makeKeyDir } from '../../sftp-pod/src/ssh/testing/keys.ts';
import { createLogger, type Logger, silentLogger } from '../../sftp-pod/src/telemetry/log.ts';
import { hashPassword } from '../../sftp-pod/src/users/password.ts';
import type { UserRecord } from '../../sftp-pod/src/users/types.ts';
import { type FaultProxy, startFaultProxy } from '../infra/fault-proxy.ts';
import {
  type CommandResult,
  type ManagedProcess,
  type Minio,
  makeTempDir,
  removeTempDir,
  reservePorts,
  runCommand,
  sftpClientArgs,
  spawnManaged,
  startMinio,
  waitUntil,
} from '../infra/index.ts';

/** Every permission (the users schema's list). */
export const ALL_PERMISSIONS = PERMISSIONS;
export const PASSWORD = 'correct horse battery staple';
export const BUCKET = 'sftp-e2e';
export const PREFIX = 'srv';
const ROOT = new URL('../../', import.meta.url).pathname;

export interface HarnessOptions {
  /** Run the standalone bin as a child process instead of startPod in-process. */
  readonly bin?: boolean;
  /** Extra flags for the pod. */
  readonly args?: readonly string[];
  /** Put the test bed's fault proxy between the pod and MinIO (Harness.proxy). */
  readonly faultProxy?: boolean;
  /** The in-process pod's logger (default: silent, or debug on stdout with SFTPGATE_E2E_LOG). */
  readonly log?: Logger;
  /** The in-process pod's audit log (default: none, so tests' stdout stays clean; the bin writes per --audit-log). */
  readonly audit?: AuditLog;
  /** Users beyond the defaults (alice, alice2, reader). */
  readonly users?: (keys: Readonly<Record<string, KeyPair>>, hash: string) => UserRecord[];
}

/** Where one pod of the harness's server listens and what it reads: the flags every pod (the harness's, a second) takes. */
export interface PodFlagOptions {
  /** The pod's own host keys (ssh-keygen'd by makeHostKeyDir). */
  readonly hostKeyDir: string;
  readonly usersFile: string;
  readonly s3Endpoint: string;
  /** 0 (default): any free port; the in-process pod reports what it got. */
  readonly port?: number;
  readonly metricsPort?: number;
  /** Flags after the common ones (a later flag wins). */
  readonly args?: readonly string[];
}

/** The command line of one sftp pod serving the harness's bucket and prefix on loopback. Pure. */
export function podFlags(o: PodFlagOptions): string[] {
  return [
    `--listen=127.0.0.1:${o.port ?? 0}`,
    `--metrics-listen=127.0.0.1:${o.metricsPort ?? 0}`,
    `--host-key-dir=${o.hostKeyDir}`,
    `--users-file=${o.usersFile}`,
    `--s3-endpoint=${o.s3Endpoint}`,
    `--s3-bucket=${BUCKET}`,
    `--s3-prefix=${PREFIX}`,
    '--s3-force-path-style=true',
    ...(o.args ?? []),
  ];
}

export interface Harness {
  readonly minio: Minio;
  readonly s3: S3Client;
  readonly port: number;
  readonly metricsUrl: string;
  readonly keys: Readonly<Record<string, KeyPair>>;
  readonly dir: string;
  readonly usersFile: string;
  readonly pod?: Pod;
  readonly child?: ManagedProcess;
  readonly proxy?: FaultProxy;
  /** The MinIO credentials every pod takes from its environment. */
  readonly podEnv: Readonly<Record<string, string>>;
  /**
   * Flags for another pod of the same server (quotas across pods, resuming on another pod, a pod with other flags):
   * the same users file, bucket and prefix, MinIO directly (never the fault proxy), its own host keys.
   */
  podFlags(o: Omit<PodFlagOptions, 'usersFile' | 's3Endpoint'>): string[];
  /** Runs OpenSSH `sftp -b -` with the batch on stdin, as `user` with their key. Never throws for exit codes. */
  sftp(user: string, batch: string, extra?: readonly string[]): Promise<CommandResult>;
  writeUsers(users: readonly UserRecord[]): void;
  defaultUsers(): UserRecord[];
  /** Every key in the bucket (all prefixes). */
  listAll(): Promise<string[]>;
  inProgressUploads(): Promise<string[]>;
  sha256Of(key: string): Promise<string>;
  stop(): Promise<void>;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = makeTempDir('sftp-e2e');
  const minio = await startMinio();
  const cleanup: Array<() => Promise<void> | void> = [() => minio.stop(), () => removeTempDir(dir)];
  try {
    await minio.createBucket(BUCKET);
    const s3 = minio.s3();
    const hostKeys: KeyDir = makeHostKeyDir();
    cleanup.push(() => hostKeys.remove());
    const userKeys = makeKeyDir();
    cleanup.push(() => userKeys.remove());
    const keys: Record<string, KeyPair> = {
      alice: userKeys.generate('alice'),
      alice2: userKeys.generate('alice2'),
      reader: userKeys.generate('reader', 'rsa'),
      stranger: userKeys.generate('stranger'),
    };
    const hash = await hashPassword(PASSWORD, { ln: 10, r: 8, p: 1 });
    const usersFile = join(dir, 'users.yaml');
    const defaultUsers = (): UserRecord[] => [
      {
        username: 'alice',
        publicKeys: [keys['alice']?.publicLine ?? ''],
        passwordHash: hash,
        permissions: [...ALL_PERMISSIONS],
      },
      { username: 'alice2', publicKeys: [keys['alice2']?.publicLine ?? ''], permissions: [...ALL_PERMISSIONS] },
      {
        username: 'reader',
        publicKeys: [keys['reader']?.publicLine ?? ''],
        home: 'alice',
        permissions: ['list', 'download'],
      },
      ...(opts.users?.(keys, hash) ?? []),
    ];
    const writeUsers = (users: readonly UserRecord[]) =>
      writeFileSync(usersFile, JSON.stringify({ version: 1, users }, null, 2));
    writeUsers(defaultUsers());

    const proxy = opts.faultProxy ? await startFaultProxy(minio.endpoint) : undefined;
    if (proxy) cleanup.unshift(() => proxy.close());
    const env = {
      AWS_ACCESS_KEY_ID: minio.accessKeyId,
      AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
    };
    let port: number;
    let metricsPort: number;
    let pod: Pod | undefined;
    let child: ManagedProcess | undefined;
    const own = {
      hostKeyDir: hostKeys.dir,
      usersFile,
      s3Endpoint: proxy?.url ?? minio.endpoint,
      args: opts.args ?? [],
    };
    if (opts.bin) {
      const ports = await reservePorts(2);
      port = ports[0] ?? 0;
      metricsPort = ports[1] ?? 0;
      child = spawnManaged({
        name: 'sftpgate-sftp',
        command: process.execPath,
        args: [join(ROOT, 'sftp-pod/bin/sftpgate-sftp.js'), ...podFlags({ ...own, port, metricsPort })],
        env,
        logFile: join(dir, 'sftp-pod.log'),
        graceSeconds: 20,
      });
      const proc = child;
      cleanup.unshift(() => proc.stop());
      await waitUntil(
        'sftp pod ready',
        async (signal) => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`, { signal })).ok,
        { timeoutMs: 60_000, process: child },
      );
    } else {
      Object.assign(process.env, env);
      const config = parseConfig(podFlags(own), env);
      const log = opts.log ?? (process.env['SFTPGATE_E2E_LOG'] ? createLogger('debug') : silentLogger);
      pod = await startPod(config, { log, audit: opts.audit ?? noAudit });
      const p = pod;
      cleanup.unshift(() => p.shutdown(0));
      port = pod.sshAddress.port;
      metricsPort = pod.metricsAddress.port;
    }

    const sftp = (user: string, batch: string, extra: readonly string[] = []) => {
      const key = keys[user];
      return runCommand(
        'sftp',
        ['-b', '-', ...sftpClientArgs({ port, user, ...(key ? { keyFile: key.file } : {}), extra })],
        { input: batch, allowFailure: true, timeoutMs: 170_000, cwd: dir },
      );
    };

    const listAll = async () => {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: BUCKET, ...(token ? { ContinuationToken: token } : {}) }),
        );
        for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
        token = page.NextContinuationToken;
      } while (token);
      return out;
    };

    return {
      minio,
      s3,
      port,
      metricsUrl: `http://127.0.0.1:${metricsPort}`,
      keys,
      dir,
      usersFile,
      ...(pod ? { pod } : {}),
      ...(child ? { child } : {}),
      ...(proxy ? { proxy } : {}),
      podEnv: env,
      podFlags: (o) => podFlags({ ...o, usersFile, s3Endpoint: minio.endpoint }),
      sftp,
      writeUsers,
      defaultUsers,
      listAll,
      async inProgressUploads() {
        const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
        return (r.Uploads ?? []).map((u) => u.Key ?? '');
      },
      async sha256Of(key: string) {
        const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        if (!r.Body) throw new Error(`no body for ${key}`);
        return sha256(await r.Body.transformToByteArray());
      },
      async stop() {
        for (const fn of cleanup) {
          try {
            await fn();
          } catch {
            // best effort: every component is stopped
          }
        }
      },
    };
  } catch (err) {
    for (const fn of cleanup) await Promise.resolve(fn()).catch(() => {});
    throw err;
  }
}

/** Aborts leftover multipart uploads (between test cases that deliberately leave none; a safety net only). */
export async function abortAll(h: Harness): Promise<void> {
  const r = await h.s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
  for (const u of r.Uploads ?? []) {
    await h.s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: u.Key, UploadId: u.UploadId }));
  }
}
