// Operator at scale: N SftpUsers (default 10,000) over S servers (default 10) on a real kube-apiserver + MinIO, the
// operator as its own process. Reports time from the first apply to all users Ready, operator peak RSS (VmHWM),
// API requests per user, users-table Secret writes, and the time from deleting a user to its removal from the table.
// Knobs: OPERATOR_BENCH_USERS, OPERATOR_BENCH_SERVERS. Targets (issue 4): <= 60 s, <= 256 MiB, revocation <= 10 s.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type KubeObject, Resources } from '../../operator/src/runtime/kube-client.ts';
import { generateHostKey } from '../../operator/src/secrets/host-keys.ts';
import { httpGet, releasePorts, reservePorts } from '../infra/index.ts';
import {
  createNamespace,
  repoRoot,
  serverManifest,
  startTestBed,
  userManifest,
  usersTable,
  waitFor,
} from '../integration/operator-harness.ts';

const USERS = Number(process.env['OPERATOR_BENCH_USERS'] ?? 10_000);
const SERVERS = Number(process.env['OPERATOR_BENCH_SERVERS'] ?? 10);
const NS = 'bench';

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(m?.[1] ?? 0) / 1024);
}

async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const body = (await httpGet(url)).body;
  let total = 0;
  for (const line of body.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').pop());
  }
  return total;
}

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    }),
  );
}

const bed = await startTestBed();
let operator: ChildProcess | undefined;
try {
  await bed.minio.createBucket('sftp');
  await createNamespace(bed, NS);
  const [port] = await reservePorts(1);
  releasePorts([port ?? 0]);
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  operator = spawn(
    process.execPath,
    [
      // e.g. OPERATOR_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=.bench" to see where the time goes.
      ...(process.env['OPERATOR_BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean),
      join(repoRoot, 'operator/bin/sftpgate-operator.js'),
      `--kubeconfig=${bed.cp.kubeconfigPath}`,
      `--metrics-listen=127.0.0.1:${port}`,
      '--log-level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitFor('operator /readyz', async () => (await httpGet(`http://127.0.0.1:${port}/readyz`)).status === 200);
  const servers = Array.from({ length: SERVERS }, (_, i) => `srv${i}`);
  for (const s of servers) await bed.admin.apply(Resources.SftpServer, serverManifest(bed, NS, s));
  // Keys are generated up front so the measured window holds only apply + reconcile.
  const keys = Array.from({ length: USERS }, () => generateHostKey('ed25519').publicKey);
  const t0 = performance.now();
  await pool(
    keys.map((k, i) => ({ k, i })),
    32,
    ({ k, i }) =>
      bed.admin.create(
        Resources.SftpUser,
        NS,
        userManifest(NS, `u${i}`, { serverRef: { name: servers[i % SERVERS] }, authorizedKeys: [k] }),
      ),
  );
  const applied = performance.now() - t0;
  let ready = 0;
  await waitFor(
    'all users Ready',
    async () => {
      const list = await bed.admin.listAll<
        KubeObject & { status?: { conditions?: { type: string; status: string }[] } }
      >(Resources.SftpUser, NS);
      ready = list.items.filter((u) =>
        u.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ).length;
      return ready === USERS;
    },
    30 * 60_000,
  );
  const allReady = performance.now() - t0;
  const requests = await metric(metricsUrl, 'sftpgate_operator_api_requests_total');
  const secretWrites = await metric(metricsUrl, 'sftpgate_operator_api_requests_total', {
    verb: 'apply',
    resource: 'secrets',
  });
  const rss = peakRssMiB(operator.pid ?? 0);
  const passes: Record<string, { passes: number; meanMs: number }> = {};
  for (const c of ['sftpserver', 'sftpuser']) {
    const n = await metric(metricsUrl, 'sftpgate_operator_reconcile_duration_seconds_count', { controller: c });
    const sum = await metric(metricsUrl, 'sftpgate_operator_reconcile_duration_seconds_sum', { controller: c });
    passes[c] = { passes: n, meanMs: +((sum / Math.max(n, 1)) * 1000).toFixed(1) };
  }
  // Revocation: delete one user, time until its server's table no longer lists it.
  const r0 = performance.now();
  await bed.admin.delete(Resources.SftpUser, NS, 'u1');
  await waitFor('u1 revoked', async () => {
    let shards = 1;
    for (let i = 0; i < shards; i++) {
      const t = await usersTable(bed, NS, servers[1 % SERVERS] ?? 'srv0', i);
      shards = t?.shards ?? 1;
      if (t?.users.some((u) => u.username === 'u1')) return false;
    }
    return true;
  });
  const revoke = performance.now() - r0;
  const result = {
    users: USERS,
    servers: SERVERS,
    applySeconds: +(applied / 1000).toFixed(1),
    allReadySeconds: +(allReady / 1000).toFixed(1),
    operatorPeakRssMiB: rss,
    apiRequestsPerUser: +(requests / USERS).toFixed(2),
    usersSecretApplies: secretWrites,
    passes,
    revocationSeconds: +(revoke / 1000).toFixed(2),
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(join(repoRoot, '.bench'), { recursive: true });
  writeFileSync(join(repoRoot, '.bench', 'operator-scale.json'), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  operator?.kill('SIGTERM');
  if (operator && operator.exitCode === null) await new Promise((r) => operator?.once('exit', r));
  await bed.stop();
}
