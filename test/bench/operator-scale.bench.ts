// Operator at scale: N SftpUsers (default 10,000) over S servers (default 10) on a real kube-apiserver + MinIO, the
// operator as its own process. Creates every user (32 at a time), then deletes every user. Reports the time from the
// API accepting the last create to all users Ready, from the last delete to every user gone and every table empty,
// operator peak RSS (VmHWM), API requests, users-shard writes per phase (seen on the API server's watch) and the
// most writes any one shard got within one second, the time from deleting one user to its removal from the table,
// and the load average. The operator runs with the operator image's Node flags (Dockerfile, operator/src/node-flags.ts).
// The operator and the creator each run as a ServiceAccount (lib/operator-bench.ts). Also reported: CPU-seconds of the
// API server, etcd, MinIO, the operator and the bench from the first create to all Ready.
// Knobs: OPERATOR_BENCH_USERS, OPERATOR_BENCH_SERVERS, OPERATOR_BENCH_NODE_ARGS (more Node flags),
// OPERATOR_BENCH_ARGS (more operator flags), OPERATOR_BENCH_STDOUT=1 (the operator's stdout, e.g. --trace-gc),
// OPERATOR_BENCH_DELETE=0 (create phase only), OPERATOR_BENCH_ENTRY (another bundle, for A/B runs),
// OPERATOR_BENCH_APISERVER_ARGS (e.g. --enable-priority-and-fairness=true), OPERATOR_BENCH_IDENTITY=admin.
// Targets (issue 13): <= 60 s after the last create, <= 256 MiB peak RSS, at most one write per users shard per second.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
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
import { cpuSeconds, creatorClient, operatorServiceAccount, pool, testBedPids } from './lib/operator-bench.ts';
import { entrypointNodeFlags } from './lib/pod-launch.ts';

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

/** Every series of `name` by its label set (`verb="patch",resource="sftpusers/status"`). */
async function series(url: string, name: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await httpGet(url)).body.split('\n')) {
    const m = new RegExp(`^${name}\\{(.*)\\} (\\S+)$`).exec(line);
    if (m?.[1] !== undefined) out.set(m[1], Number(m[2]));
  }
  return out;
}

/** What grew between two `series` reads, as `labels: delta`, largest first. */
function grown(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  return Object.fromEntries(
    [...after]
      .map(([k, v]) => [k.replaceAll('"', ''), v - (before.get(k) ?? 0)] as const)
      .filter(([, d]) => d > 0)
      .sort((a, b) => b[1] - a[1]),
  );
}

/** Every new resourceVersion of every users shard Secret of `ns`, as the API server's watch delivers them. */
function watchShardWrites(ns: string, signal: AbortSignal): { at: number; name: string }[] {
  const writes: { at: number; name: string }[] = [];
  void (async () => {
    const events = bed.admin.watch(Resources.Secret, ns, { labelSelector: 'sftpgate.io/component=users' }, signal);
    for await (const ev of events) {
      if (ev.type === 'ADDED' || ev.type === 'MODIFIED')
        writes.push({ at: performance.now(), name: ev.object.metadata?.name ?? '' });
    }
  })().catch(() => undefined);
  return writes;
}

/** The most writes one shard got within any 1 s window. */
function maxPerShardSecond(writes: readonly { at: number; name: string }[]): number {
  const byShard = new Map<string, number[]>();
  for (const w of writes) byShard.set(w.name, [...(byShard.get(w.name) ?? []), w.at]);
  let max = 0;
  for (const times of byShard.values()) {
    for (let i = 0, j = 0; i < times.length; i++) {
      while ((times[i] ?? 0) - (times[j] ?? 0) >= 1000) j++;
      max = Math.max(max, i - j + 1);
    }
  }
  return max;
}

type UserObject = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };

/**
 * The users of `ns` as the API server's watch reports them (no polling: listing 10,000 users every few hundred ms
 * would load the API server the operator is measured against): who is Ready, how many were deleted, and when.
 */
async function watchUsers(ns: string, signal: AbortSignal) {
  const state = { ready: new Set<string>(), deleted: 0, lastReadyAt: 0, lastDeletedAt: 0 };
  let rv = (await bed.admin.list(Resources.SftpUser, ns, { limit: 1 })).metadata.resourceVersion;
  void (async () => {
    while (!signal.aborted) {
      const events = bed.admin.watch<UserObject>(Resources.SftpUser, ns, rv ? { resourceVersion: rv } : {}, signal);
      for await (const ev of events) {
        rv = ev.object.metadata?.resourceVersion ?? rv;
        const name = ev.object.metadata?.name ?? '';
        if (ev.type === 'DELETED') {
          state.ready.delete(name);
          state.deleted++;
          state.lastDeletedAt = performance.now();
        } else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') {
          const ready = ev.object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
          if (ready && !state.ready.has(name)) {
            state.ready.add(name);
            state.lastReadyAt = performance.now();
          } else if (!ready) state.ready.delete(name);
        }
      }
    }
  })().catch(() => undefined);
  return state;
}

/** Polls `fn` every `everyMs` (gentler on the API server than the harness's 150 ms). */
async function poll(what: string, fn: () => Promise<boolean> | boolean, everyMs = 500): Promise<void> {
  const deadline = Date.now() + 30 * 60_000;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
// The compiled bundle, as the image runs it (bundled now from the current sources); OPERATOR_BENCH_SOURCES=1 runs
// the TypeScript sources instead (Node strips the types at load: more memory, same code).
const fromSources = process.env['OPERATOR_BENCH_SOURCES'] === '1';
if (!fromSources) {
  const built = spawnSync(process.execPath, [join(repoRoot, 'common/src/build/bundle.ts')], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('bundling the operator failed');
}
// OPERATOR_BENCH_ENTRY: another operator bundle (e.g. one built from the previous commit) for A/B runs.
const entry =
  process.env['OPERATOR_BENCH_ENTRY'] ??
  join(repoRoot, fromSources ? 'operator/bin/sftpgate-operator.js' : 'dist/operator/main.js');
const bed = await startTestBed({
  // e.g. OPERATOR_BENCH_APISERVER_ARGS=--profiling=true to take a pprof profile of the API server.
  extraApiServerArgs: (process.env['OPERATOR_BENCH_APISERVER_ARGS'] ?? '').split(' ').filter(Boolean),
});
console.error(`operator-scale: API server ${bed.cp.server}, admin kubeconfig ${bed.cp.kubeconfigPath}`);
let operator: ChildProcess | undefined;
try {
  await bed.minio.createBucket('sftp');
  await createNamespace(bed, NS);
  // Both sides as deployed, neither with the test bed's exempt system:masters identity: the operator as its own
  // ServiceAccount holding exactly the chart's RBAC (charts/sftpgate/files/rbac-rules.yaml), the creator as another
  // ServiceAccount (a CI pipeline's) allowed to write SftpUsers in the namespace. With API Priority and Fairness on,
  // both then share the `service-accounts` flow schema's priority level as two flows. OPERATOR_BENCH_IDENTITY=admin
  // runs both as the admin instead (the runs before session 19).
  const asAdmin = process.env['OPERATOR_BENCH_IDENTITY'] === 'admin';
  const operatorKubeconfig = asAdmin ? bed.cp.kubeconfigPath : await operatorServiceAccount(bed);
  const creator = asAdmin ? bed.admin : await creatorClient(bed, NS);
  const [port] = await reservePorts(1);
  releasePorts([port ?? 0]);
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  operator = spawn(
    process.execPath,
    [
      // The operator image's Node flags (operator/src/node-flags.ts), as the pod runs it; from the sources, none.
      ...(fromSources ? [] : entrypointNodeFlags(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'), 'operator')),
      // e.g. OPERATOR_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=.bench" to see where the time goes (later flags win).
      ...(process.env['OPERATOR_BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean),
      entry,
      `--kubeconfig=${operatorKubeconfig}`,
      `--metrics-listen=127.0.0.1:${port}`,
      '--log-level=warn',
      // e.g. OPERATOR_BENCH_ARGS="--workers=8" to compare operator settings.
      ...(process.env['OPERATOR_BENCH_ARGS'] ?? '').split(' ').filter(Boolean),
    ],
    { stdio: ['ignore', process.env['OPERATOR_BENCH_STDOUT'] === '1' ? 'inherit' : 'ignore', 'inherit'] },
  );
  await waitFor('operator /readyz', async () => (await httpGet(`http://127.0.0.1:${port}/readyz`)).status === 200);
  const servers = Array.from({ length: SERVERS }, (_, i) => `srv${i}`);
  for (const s of servers) await bed.admin.apply(Resources.SftpServer, serverManifest(bed, NS, s));
  // Keys are generated up front so the measured window holds only apply + reconcile.
  const keys = Array.from({ length: USERS }, () => generateHostKey('ed25519').publicKey);
  // Everything the servers' setup wrote (host keys, empty tables) is not counted against the users.
  await waitFor('every server publishes its table', async () => {
    for (const s of servers) if (!(await usersTable(bed, NS, s))) return false;
    return true;
  });
  const loadBefore = load();
  const pids = { ...testBedPids(bed.cp.dir, bed.minio.dataDir), operator: operator.pid ?? 0 };
  const cpuNow = () => ({
    ...Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid ? cpuSeconds(pid) : 0])),
    bench: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
  });
  const cpu0 = cpuNow();
  const watchStop = new AbortController();
  const createWrites = watchShardWrites(NS, watchStop.signal);
  const requests0 = await metric(metricsUrl, 'sftpgate_operator_api_requests_total');
  const requestsBy0 = await series(metricsUrl, 'sftpgate_operator_api_requests_total');
  const users = await watchUsers(NS, watchStop.signal);
  const t0 = performance.now();
  await pool(
    keys.map((k, i) => ({ k, i })),
    32,
    ({ k, i }) =>
      creator.create(
        Resources.SftpUser,
        NS,
        userManifest(NS, `u${i}`, { serverRef: { name: servers[i % SERVERS] }, authorizedKeys: [k] }),
      ),
  );
  const applied = performance.now() - t0;
  await poll('all users Ready', () => users.ready.size === USERS, 100);
  const allReady = users.lastReadyAt - t0;
  const cpu1 = cpuNow();
  const createCpu = Object.fromEntries(
    Object.entries(cpu1).map(([k, v]) => [k, +(v - (cpu0[k as keyof typeof cpu0] ?? 0)).toFixed(1)]),
  );
  const requests = (await metric(metricsUrl, 'sftpgate_operator_api_requests_total')) - requests0;
  const requestsBy = grown(requestsBy0, await series(metricsUrl, 'sftpgate_operator_api_requests_total'));
  const createShardWrites = createWrites.filter((w) => w.at >= t0).length;
  const createMaxPerShardSecond = maxPerShardSecond(createWrites.filter((w) => w.at >= t0));
  const rssAfterCreate = peakRssMiB(operator.pid ?? 0);
  const heapAfterCreate = Math.round(
    (await metric(metricsUrl, 'sftpgate_operator_nodejs_heap_size_used_bytes')) / 2 ** 20,
  );
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
  const loadAfterCreate = load();
  // Delete every user (32 at a time), as a bulk cleanup would. OPERATOR_BENCH_DELETE=0 skips this phase (A/B runs
  // of the create phase).
  const deletePhase = async () => {
    const deleteWrites = watchShardWrites(NS, watchStop.signal);
    const deleteRequests0 = await metric(metricsUrl, 'sftpgate_operator_api_requests_total');
    const d0 = performance.now();
    await pool(
      Array.from({ length: USERS }, (_, i) => `u${i}`).filter((n) => n !== 'u1'),
      32,
      (name) => creator.delete(Resources.SftpUser, NS, name),
    );
    const deleted = performance.now() - d0;
    await poll('every user gone', () => users.deleted === USERS, 100);
    const lastGone = users.lastDeletedAt;
    await poll('every table empty', async () => {
      for (const s of servers) if ((await usersTable(bed, NS, s))?.users.length !== 0) return false;
      return true;
    });
    // The last shard write that emptied a table (seen on the watch) or the last user gone, whichever came later.
    const allGone = Math.max(lastGone, ...deleteWrites.map((w) => w.at)) - d0;
    const deleteRequests = (await metric(metricsUrl, 'sftpgate_operator_api_requests_total')) - deleteRequests0;
    return {
      deleteSeconds: seconds(deleted),
      allGoneSeconds: seconds(allGone),
      goneAfterLastDeleteSeconds: seconds(allGone - deleted),
      apiRequests: deleteRequests,
      shardWrites: deleteWrites.filter((w) => w.at >= d0).length,
      maxWritesPerShardPerSecond: maxPerShardSecond(deleteWrites.filter((w) => w.at >= d0)),
    };
  };
  const seconds = (ms: number) => +(ms / 1000).toFixed(1);
  const deletion = process.env['OPERATOR_BENCH_DELETE'] === '0' ? 'skipped' : await deletePhase();
  watchStop.abort();
  const result = {
    operator: fromSources ? 'TypeScript sources' : `compiled bundle (${entry})`,
    nodeArgs: operator.spawnargs.slice(1, operator.spawnargs.indexOf(entry)),
    users: USERS,
    servers: SERVERS,
    identities: asAdmin ? 'admin (system:masters) for both' : 'operator and creator as ServiceAccounts',
    apiServerArgs: process.env['OPERATOR_BENCH_APISERVER_ARGS'] ?? '',
    create: {
      applySeconds: seconds(applied),
      allReadySeconds: seconds(allReady),
      readyAfterLastCreateSeconds: seconds(allReady - applied),
      readyAfterLastCreateOverCreateWindow: +((allReady - applied) / applied).toFixed(2),
      // CPU-seconds from the first create to all Ready (the API server's includes serving the bench's creates).
      cpuSeconds: createCpu,
      apiserverCpuMsPerUser: +(((createCpu['apiserver'] ?? 0) * 1000) / USERS).toFixed(1),
      apiRequests: requests,
      apiRequestsPerUser: +(requests / USERS).toFixed(2),
      apiRequestsBy: requestsBy,
      shardWrites: createShardWrites,
      maxWritesPerShardPerSecond: createMaxPerShardSecond,
      peakRssMiB: rssAfterCreate,
      heapUsedMiB: heapAfterCreate,
    },
    passes,
    revocationSeconds: +(revoke / 1000).toFixed(2),
    delete: deletion,
    operatorPeakRssMiB: peakRssMiB(operator.pid ?? 0),
    loadAverage: { beforeCreate: loadBefore, afterCreate: loadAfterCreate, afterDelete: load() },
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(join(repoRoot, '.bench'), { recursive: true });
  writeFileSync(join(repoRoot, '.bench', 'operator-scale.json'), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  operator?.kill('SIGTERM');
  if (operator && operator.exitCode === null) await new Promise((r) => operator?.once('exit', r));
  await bed.stop();
}
