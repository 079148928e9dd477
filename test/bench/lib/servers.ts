// The three SFTP servers the throughput benchmark compares, each a real process on a random loopback port under the
// test bed's process guard (test/infra), so none can outlive the benchmark:
//  - sftp-pod: our standalone pod, compiled as the images run it (lib/pod-launch.ts), writing to MinIO;
//  - openssh: the unpacked Debian sshd with `Subsystem sftp internal-sftp`, writing to a temp dir on local disk;
//  - rclone: `rclone serve sftp` on the same MinIO.
// With a MinIO serving HTTPS (`startMinio({ tls: true })`) both S3 clients trust its CA and nothing else changes.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { PERMISSIONS } from '../../../common/src/users/permission.ts';
import {
  httpGet,
  type ManagedProcess,
  type Minio,
  makeTempDir,
  releasePorts,
  removeTempDir,
  reservePorts,
  spawnManaged,
  toolPath,
  waitUntil,
} from '../../infra/index.ts';
import { type PodLaunch, podLaunch } from './pod-launch.ts';
import { findInTree } from './procfs.ts';

export type ServerName = 'sftp-pod' | 'openssh' | 'rclone';
export const SERVER_NAMES: readonly ServerName[] = ['sftp-pod', 'openssh', 'rclone'];

export interface BenchServer {
  readonly name: ServerName;
  readonly port: number;
  readonly user: string;
  /** Directory the client puts files into and gets them from, as the server's SFTP namespace spells it. */
  readonly remoteDir: string;
  /**
   * The server process itself (below the test bed's guard): its tree is the server and its per-connection children,
   * so CPU and RSS read from it are the server's alone.
   */
  readonly pid: number;
  /** The pod's /metrics URL (sftp-pod only). */
  readonly metricsUrl?: string;
  /** How the server was run, for the report (the pod's build, the S3 transport). */
  readonly describe: string;
  /** Removes every uploaded file (outside any measured window). */
  clear(): Promise<void>;
  stop(): Promise<void>;
}

/** The key the client logs in with; every server trusts its public half. */
export interface ClientKey {
  readonly privatePath: string;
  readonly publicLine: string;
}

export function makeClientKey(dir: string): ClientKey {
  const privatePath = join(dir, 'client_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench', '-f', privatePath]);
  return { privatePath, publicLine: readFileSync(`${privatePath}.pub`, 'utf8').trim() };
}

function hostKey(path: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path]);
}

/** Ready when the port answers with an SSH identification string (a bound socket alone may still be starting). */
async function waitForSsh(port: number, proc: ManagedProcess, timeoutMs = 30_000): Promise<void> {
  await waitUntil(
    `${proc.name} on 127.0.0.1:${port}`,
    (signal) =>
      new Promise<boolean>((resolve) => {
        const sock = connect(port, '127.0.0.1');
        const done = (ok: boolean) => {
          sock.destroy();
          resolve(ok);
        };
        signal.addEventListener('abort', () => done(false), { once: true });
        sock.once('data', (b: Buffer) => done(b.toString('latin1').startsWith('SSH-2.0-')));
        sock.once('error', () => done(false));
      }),
    { timeoutMs, process: proc },
  );
}

async function clearPrefix(s3: S3Client, bucket: string, prefix: string): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}

/** `comm`: the server's process name, found in the guard's tree once the server answers. */
function managedServer(
  base: Omit<BenchServer, 'pid' | 'stop'>,
  comm: string,
  proc: ManagedProcess,
  ports: number[],
  tmp: string,
): BenchServer {
  const pid = proc.pid === undefined ? undefined : findInTree(proc.pid, comm);
  if (pid === undefined) throw new Error(`${base.name}: no process named ${comm} (see ${proc.logFile})`);
  return {
    ...base,
    pid,
    async stop() {
      await proc.stop();
      releasePorts(ports);
      removeTempDir(tmp);
    },
  };
}

/**
 * OpenSSH sshd 9.2 with internal-sftp, as root. A root sshd insists on its privilege-separation user (`sshd`) and
 * chroot dir (/run/sshd), which this machine lacks; rather than add a system user we run sshd in a private mount
 * namespace (unshare) where /etc/passwd is a copy with an `sshd` line and /run is an empty tmpfs holding /run/sshd.
 * So sshd runs exactly as in production (privsep monitor + child per connection) without touching the host. The
 * client logs in as root with a key (PermitRootLogin's default allows keys); files land in a temp dir on local disk.
 * (Running sshd as an unprivileged user instead fails: its re-exec needs read access to the cached binary, and with
 * UsePAM no it calls every system account without a shadow hash "locked".)
 */
export async function startOpenSsh(key: ClientKey): Promise<BenchServer> {
  const tmp = makeTempDir('bench-openssh');
  const [port] = await reservePorts(1);
  if (port === undefined) throw new Error('unreachable: reservePorts(1) returned nothing');
  const data = join(tmp, 'data');
  execFileSync('mkdir', ['-p', data]);
  hostKey(join(tmp, 'host_key'));
  writeFileSync(join(tmp, 'authorized_keys'), `${key.publicLine}\n`);
  writeFileSync(
    join(tmp, 'passwd'),
    `${readFileSync('/etc/passwd', 'utf8').trimEnd()}\nsshd:x:64990:65534:sshd privsep (bench):/run/sshd:/usr/sbin/nologin\n`,
  );
  writeFileSync(
    join(tmp, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(tmp, 'host_key')}`,
      `PidFile ${join(tmp, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(tmp, 'authorized_keys')}`,
      'UsePAM no',
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      // The 8-stream scenario opens 8 connections at once: keep them all clear of the startup throttle.
      'MaxStartups 64',
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const script =
    'mount --bind "$1" /etc/passwd && mount -t tmpfs -o mode=0755,size=1m tmpfs /run && mkdir -m 0755 /run/sshd ' +
    '&& exec "$2" -D -e -f "$3"';
  const proc = spawnManaged({
    name: 'sshd',
    command: 'unshare',
    args: [
      '--mount',
      '--propagation',
      'private',
      '--',
      '/bin/sh',
      '-c',
      script,
      'sh',
      join(tmp, 'passwd'),
      toolPath('sshd'),
      join(tmp, 'sshd_config'),
    ],
    logFile: join(tmp, 'sshd.log'),
  });
  try {
    await waitForSsh(port, proc);
  } catch (err) {
    await proc.stop();
    releasePorts([port]);
    removeTempDir(tmp);
    throw err;
  }
  return managedServer(
    {
      name: 'openssh',
      port,
      user: 'root',
      remoteDir: data,
      describe: 'sshd 9.2 internal-sftp, local disk',
      async clear() {
        for (const f of readdirSync(data)) rmSync(join(data, f), { force: true });
      },
    },
    'sshd',
    proc,
    [port],
    tmp,
  );
}

/**
 * `rclone serve sftp` on MinIO. `--vfs-cache-mode off` streams each upload straight into an S3 multipart upload
 * (rclone's default 5 MiB chunks, 4 in flight) — the mode closest to ours; `writes` would spool every file to local
 * disk first and upload it after CLOSE. Off mode accepts only sequential writes, which is what OpenSSH's sftp sends.
 */
export async function startRclone(key: ClientKey, minio: Minio, bucket: string, prefix: string): Promise<BenchServer> {
  const tmp = makeTempDir('bench-rclone');
  const [port] = await reservePorts(1);
  if (port === undefined) throw new Error('unreachable: reservePorts(1) returned nothing');
  hostKey(join(tmp, 'host_key'));
  writeFileSync(join(tmp, 'authorized_keys'), `${key.publicLine}\n`);
  const proc = spawnManaged({
    name: 'rclone',
    // The machine exports AWS_CA_BUNDLE for its HTTPS proxies; rclone's S3 backend then fails to start ("unsupported
    // transport"). rclone trusts MinIO's own CA through --ca-cert instead (the launcher can only add variables).
    command: 'env',
    args: [
      '-u',
      'AWS_CA_BUNDLE',
      toolPath('rclone'),
      'serve',
      'sftp',
      `minio:${bucket}/${prefix}`,
      '--addr',
      `127.0.0.1:${port}`,
      '--key',
      join(tmp, 'host_key'),
      '--authorized-keys',
      join(tmp, 'authorized_keys'),
      '--vfs-cache-mode',
      'off',
      '--log-level',
      'ERROR',
      ...(minio.caPath ? ['--ca-cert', minio.caPath] : []),
    ],
    env: {
      // The remote comes from the environment only: no config file of the machine's user is read.
      RCLONE_CONFIG: join(tmp, 'rclone.conf'),
      RCLONE_CONFIG_MINIO_TYPE: 's3',
      RCLONE_CONFIG_MINIO_PROVIDER: 'Minio',
      RCLONE_CONFIG_MINIO_ENDPOINT: minio.endpoint,
      RCLONE_CONFIG_MINIO_REGION: minio.region,
      RCLONE_CONFIG_MINIO_ACCESS_KEY_ID: minio.accessKeyId,
      RCLONE_CONFIG_MINIO_SECRET_ACCESS_KEY: minio.secretAccessKey,
    },
    logFile: join(tmp, 'rclone.log'),
  });
  try {
    await waitForSsh(port, proc);
  } catch (err) {
    await proc.stop();
    releasePorts([port]);
    removeTempDir(tmp);
    throw err;
  }
  const s3 = minio.s3();
  return managedServer(
    {
      name: 'rclone',
      port,
      user: 'bench',
      remoteDir: '/',
      describe: `rclone serve sftp --vfs-cache-mode off, S3 over ${minio.caPath ? 'HTTPS' : 'HTTP'}`,
      clear: () => clearPrefix(s3, bucket, `${prefix}/`),
    },
    'rclone',
    proc,
    [port],
    tmp,
  );
}

/** The pod runs with its default settings (as the targets require); these only change how it is observed. */
export interface PodSettings {
  /** Run the pod under `node --cpu-prof`, writing its profile into this directory when it exits (slows it down). */
  readonly cpuProfileDir?: string;
  /** Extra Node flags for the pod (e.g. GC sizing), to try runtime settings without editing the pod. */
  readonly nodeArgs?: readonly string[];
  /** Another compiled build of the pod than the work tree's (an A/B run of two builds side by side). */
  readonly launch?: PodLaunch;
}

/** sftp-pod, compiled (lib/pod-launch.ts), on MinIO, with one user whose home is `<prefix>/bench`. */
export async function startPod(
  key: ClientKey,
  minio: Minio,
  bucket: string,
  prefix: string,
  settings: PodSettings,
): Promise<BenchServer> {
  const tmp = makeTempDir('bench-pod');
  const ports = await reservePorts(2);
  const [port, metricsPort] = ports;
  if (port === undefined || metricsPort === undefined) throw new Error('unreachable: reservePorts(2) short');
  const keys = join(tmp, 'host-keys');
  execFileSync('mkdir', ['-p', keys]);
  hostKey(join(keys, 'ssh_host_ed25519_key'));
  const usersFile = join(tmp, 'users.json');
  writeFileSync(
    usersFile,
    JSON.stringify({
      version: 1,
      users: [
        {
          username: 'bench',
          home: 'bench',
          publicKeys: [key.publicLine],
          permissions: PERMISSIONS,
        },
      ],
    }),
  );
  const launch = settings.launch ?? podLaunch();
  const proc = spawnManaged({
    name: 'sftp-pod',
    command: launch.command,
    args: [
      ...(settings.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', settings.cpuProfileDir] : []),
      ...(settings.nodeArgs ?? []),
      ...launch.args,
      '--listen',
      `127.0.0.1:${port}`,
      '--metrics-listen',
      `127.0.0.1:${metricsPort}`,
      '--host-key-dir',
      keys,
      '--users-file',
      usersFile,
      '--s3-endpoint',
      minio.endpoint,
      '--s3-region',
      minio.region,
      '--s3-bucket',
      bucket,
      '--s3-prefix',
      prefix,
      '--s3-force-path-style',
      'true',
      // One client makes 8 logins at once: the default per-user cap (10) allows it, the defender never sees a failure.
      '--log-level',
      'warn',
    ],
    env: {
      ...launch.env,
      AWS_ACCESS_KEY_ID: minio.accessKeyId,
      AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
      // Over HTTPS the pod trusts MinIO's CA the way a pod trusts a private S3's: Node's extra CA certificates.
      ...(minio.caPath ? { NODE_EXTRA_CA_CERTS: minio.caPath } : {}),
    },
    logFile: join(tmp, 'pod.log'),
  });
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  try {
    await waitUntil(
      'sftp-pod /readyz',
      async (signal) => (await httpGet(`http://127.0.0.1:${metricsPort}/readyz`, { signal })).status === 200,
      { timeoutMs: 60_000, process: proc },
    );
    await waitForSsh(port, proc);
  } catch (err) {
    await proc.stop();
    releasePorts(ports);
    removeTempDir(tmp);
    throw err;
  }
  const s3 = minio.s3();
  return managedServer(
    {
      name: 'sftp-pod',
      port,
      user: 'bench',
      remoteDir: '/',
      metricsUrl,
      describe: `${launch.describe}, default settings, S3 over ${minio.caPath ? 'HTTPS' : 'HTTP'}`,
      clear: () => clearPrefix(s3, bucket, `${prefix}/bench/`),
    },
    'node',
    proc,
    ports,
    tmp,
  );
}

/** Starts one of the compared servers; the MinIO-backed ones write under `<bucket>/<server's own prefix>/`. */
export async function startServer(
  name: ServerName,
  key: ClientKey,
  minio: Minio | undefined,
  bucket: string,
  podSettings: PodSettings,
): Promise<BenchServer> {
  if (name === 'openssh') return startOpenSsh(key);
  if (!minio) throw new Error(`${name} needs MinIO`);
  return name === 'rclone'
    ? startRclone(key, minio, bucket, 'rclone')
    : startPod(key, minio, bucket, 'pod', podSettings);
}
