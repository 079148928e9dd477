// `BENCH=kube-status make bench` (BENCH=operator does not match it). What one SftpUser status write costs the API
// server, by how it is written: server-side apply (the body is parsed as YAML, then structured-merge-diff applies
// it), a JSON merge patch, or a PUT of the status subresource with the object's resourceVersion; and the same merge
// patch with a smaller status. No operator runs: users are created, then
// each gets its first status (as the operator's first write after a create), 16 writes in flight (the operator's user
// workers), the methods interleaved in rounds. Reports the API server's CPU-milliseconds per write (from /proc) and
// the writes per second. Knobs: STATUS_BENCH_PER_ROUND (users per method per round, default 250), STATUS_BENCH_ROUNDS
// (default 4).
import { loadavg } from 'node:os';
import { type KubeObject, Resources } from '../../operator/src/runtime/kube-client.ts';
import { generateHostKey } from '../../operator/src/secrets/host-keys.ts';
import { createNamespace, startTestBed, userManifest } from '../integration/operator-harness.ts';
import { apiServerPid, cpuSeconds, pool } from './lib/operator-bench.ts';

const PER_ROUND = Number(process.env['STATUS_BENCH_PER_ROUND'] ?? 250);
const ROUNDS = Number(process.env['STATUS_BENCH_ROUNDS'] ?? 4);
const NS = 'bench';

const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const condition = (type: string, reason: string, message: string) => ({
  type,
  status: 'True',
  reason,
  message,
  lastTransitionTime: now,
  observedGeneration: 1,
});
/** The status a Ready user gets today (sftp-user/reconciler.ts summarizeUser). */
const fullStatus = (name: string) => ({
  conditions: [
    condition('Validated', 'Reconciled', 'spec is valid'),
    condition('ServerReady', 'Reconciled', 'SftpServer srv0 is ready'),
    condition('StorageReady', 'Reconciled', `home servers/bench/srv0/${name}/ exists`),
    condition('Published', 'InUsersTable', 'in Secret srv0-users-0'),
    condition('Ready', 'Reconciled', 'the server accepts this login'),
  ],
  usersSecret: 'srv0-users-0',
  observedGeneration: 1,
});
const readyOnly = () => ({
  conditions: [condition('Ready', 'Reconciled', 'the server accepts this login')],
  observedGeneration: 1,
});

type Created = KubeObject & { metadata: { name: string; resourceVersion: string } };
const bed = await startTestBed({
  extraApiServerArgs: (process.env['OPERATOR_BENCH_APISERVER_ARGS'] ?? '').split(' ').filter(Boolean),
});
try {
  await createNamespace(bed, NS);
  const apiserver = apiServerPid(bed.cp.dir);
  const methods: Record<string, (u: Created) => Promise<unknown>> = {
    apply: (u) =>
      bed.admin.apply(
        Resources.SftpUser,
        {
          apiVersion: 'sftpgate.io/v1alpha1',
          kind: 'SftpUser',
          metadata: { name: u.metadata.name, namespace: NS },
          status: fullStatus(u.metadata.name),
        },
        { subresource: 'status' },
      ),
    mergePatch: (u) =>
      bed.admin.mergePatch(
        Resources.SftpUser,
        NS,
        u.metadata.name,
        { status: fullStatus(u.metadata.name) },
        { subresource: 'status' },
      ),
    put: (u) =>
      bed.admin.replace(
        Resources.SftpUser,
        NS,
        u.metadata.name,
        { ...u, status: fullStatus(u.metadata.name) },
        { subresource: 'status' },
      ),
    mergePatchReadyOnly: (u) =>
      bed.admin.mergePatch(Resources.SftpUser, NS, u.metadata.name, { status: readyOnly() }, { subresource: 'status' }),
  };
  const names = Object.keys(methods);
  const total = PER_ROUND * ROUNDS * names.length;
  const key = generateHostKey('ed25519').publicKey;
  const users: Created[] = [];
  await pool(
    Array.from({ length: total }, (_, i) => i),
    32,
    async (i) => {
      users[i] = (await bed.admin.create(
        Resources.SftpUser,
        NS,
        userManifest(NS, `u${i}`, { serverRef: { name: 'srv0' }, authorizedKeys: [key] }),
      )) as Created;
    },
  );
  const results: Record<string, { cpuMsPerWrite: number[]; writesPerSecond: number[] }> = {};
  let next = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const batch = users.slice(next, next + PER_ROUND);
      next += PER_ROUND;
      const cpu0 = cpuSeconds(apiserver);
      const t0 = performance.now();
      await pool(batch, 16, methods[name] as (u: Created) => Promise<unknown>);
      const seconds = (performance.now() - t0) / 1000;
      const r = results[name] ?? { cpuMsPerWrite: [], writesPerSecond: [] };
      results[name] = r;
      r.cpuMsPerWrite.push(+(((cpuSeconds(apiserver) - cpu0) * 1000) / PER_ROUND).toFixed(2));
      r.writesPerSecond.push(+(PER_ROUND / seconds).toFixed(1));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  // The stored object's size as a watch delivers it (JSON), status and managedFields included.
  const stored = async (name: string) => JSON.stringify(await bed.admin.get(Resources.SftpUser, NS, name)).length;
  const out = {
    perRound: PER_ROUND,
    rounds: ROUNDS,
    load: loadavg().map((l) => +l.toFixed(1)),
    results: Object.fromEntries(
      Object.entries(results).map(([k, v]) => [
        k,
        { ...v, medianCpuMsPerWrite: median(v.cpuMsPerWrite), medianWritesPerSecond: median(v.writesPerSecond) },
      ]),
    ),
    storedBytes: Object.fromEntries(
      await Promise.all(names.map(async (n, i) => [n, await stored(`u${i * PER_ROUND}`)] as const)),
    ),
  };
  console.log(JSON.stringify(out, null, 2));
} finally {
  await bed.stop();
}
