// Prometheus for the test cluster (Debian's build, unpacked by install/debian.sh), scraping the operator and sftp pods
// on their pod addresses (the host routes the cluster's pod range) and evaluating the given rule files.
// Debian builds prometheus without kubernetes_sd ("field kubernetes_sd_configs not found in type
// config.ScrapeConfig"), so the test bed does the discovery: every 2 s it lists the pods with the chart's selectors —
// app.kubernetes.io/name, which the chart's ServiceMonitor and PodMonitor also use as the job label — through
// kube-apiserver and writes them as file_sd targets (port `metrics`), which Prometheus re-reads on change.

import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { Cluster } from './cluster.ts';
import { helm, SYSTEM_NAMESPACE } from './cluster-release.ts';
import { httpGet } from './http.ts';
import { releasePorts, reservePorts } from './ports.ts';
import { makeTempDir, removeTempDir, spawnManaged, waitUntil } from './process.ts';
import { toolDir } from './tools.ts';

export interface Prometheus {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Active alerts: name and state (pending, firing). */
  alerts(): Promise<{ name: string; state: string }[]>;
  /** The value of an instant query's first sample, or undefined. */
  query(expr: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

export const JOBS = ['sftpgate-operator', 'sftpgate-sftp'] as const;

/**
 * The chart's PrometheusRule as helm renders it, as a Prometheus rule file. `forOverride` replaces every `for:` (tests
 * cannot wait the shipped 5-30 min); the chart itself is not changed.
 */
export async function chartAlertRules(cluster: Cluster, stateDir: string, forOverride?: string): Promise<string> {
  const chart = new URL('../../charts/sftpgate', import.meta.url).pathname;
  const out = await helm(cluster, stateDir, [
    'template',
    'sftpgate',
    chart,
    '-n',
    SYSTEM_NAMESPACE,
    '--show-only',
    'templates/prometheusrule.yaml',
    '--set',
    'monitoring.prometheusRule.enabled=true',
  ]);
  const rule = parse(out.stdout) as { spec: { groups: { rules: { for?: string }[] }[] } };
  if (forOverride) for (const g of rule.spec.groups) for (const r of g.rules) if (r.for) r.for = forOverride;
  return stringify({ groups: rule.spec.groups });
}

/** Scrape jobs over file_sd target files `<dir>/<job>.json`. Pure. */
export function prometheusConfig(o: {
  readonly dir: string;
  readonly ruleFiles: readonly string[];
  readonly intervalSeconds: number;
}): string {
  return stringify({
    global: { scrape_interval: `${o.intervalSeconds}s`, evaluation_interval: `${o.intervalSeconds}s` },
    rule_files: [...o.ruleFiles],
    scrape_configs: JOBS.map((job) => ({
      job_name: job,
      file_sd_configs: [{ files: [join(o.dir, `${job}.json`)], refresh_interval: `${o.intervalSeconds}s` }],
    })),
  });
}

interface PodList {
  items: {
    metadata: { name: string; namespace: string; labels?: Record<string, string>; deletionTimestamp?: string };
    spec: { containers: { ports?: { name?: string; containerPort: number }[] }[] };
    status: { podIP?: string; phase?: string };
  }[];
}

/** file_sd targets for the pods of one job: running, with an address and a `metrics` port. Pure. */
export function fileSdTargets(pods: PodList): { targets: string[]; labels: Record<string, string> }[] {
  return pods.items.flatMap((p) => {
    const port = p.spec.containers.flatMap((c) => c.ports ?? []).find((x) => x.name === 'metrics')?.containerPort;
    if (!port || !p.status.podIP || p.status.phase !== 'Running' || p.metadata.deletionTimestamp) return [];
    return [
      {
        targets: [`${p.status.podIP}:${port}`],
        labels: {
          namespace: p.metadata.namespace,
          pod: p.metadata.name,
          server: p.metadata.labels?.['app.kubernetes.io/instance'] ?? '',
        },
      },
    ];
  });
}

export async function startPrometheus(o: {
  readonly cluster: Cluster;
  /** Prometheus rule files' contents (YAML with `groups:`). */
  readonly rules: readonly string[];
  readonly intervalSeconds?: number;
  readonly signal?: AbortSignal;
}): Promise<Prometheus> {
  const dir = makeTempDir('prometheus');
  const [port] = await reservePorts(1);
  if (port === undefined) throw new Error('unreachable: reservePorts(1) returned nothing');
  const ruleFiles = o.rules.map((r, i) => {
    const f = join(dir, `rules-${i}.yml`);
    writeFileSync(f, r);
    return f;
  });
  const interval = o.intervalSeconds ?? 2;
  writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig({ dir, ruleFiles, intervalSeconds: interval }));
  const discover = async () => {
    for (const job of JOBS) {
      const res = await o.cluster.kubectl(['get', 'pods', '-A', '-l', `app.kubernetes.io/name=${job}`, '-o', 'json'], {
        allowFailure: true,
      });
      if (res.code !== 0) continue;
      const file = join(dir, `${job}.json`);
      writeFileSync(`${file}.tmp`, JSON.stringify(fileSdTargets(JSON.parse(res.stdout) as PodList)));
      renameSync(`${file}.tmp`, file);
    }
  };
  await discover();
  let discovering = true;
  const loop = (async () => {
    while (discovering) {
      await new Promise((r) => setTimeout(r, interval * 1000));
      if (discovering) await discover().catch(() => undefined);
    }
  })();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnManaged({
    name: 'prometheus',
    command: join(toolDir('promtool') ?? '', 'root/usr/bin/prometheus'),
    args: [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    logFile: join(dir, 'prometheus.log'),
  });
  const stop = async () => {
    discovering = false;
    await loop;
    await proc.stop();
    releasePorts([port]);
    removeTempDir(dir);
  };
  const api = async <T>(path: string): Promise<T> => {
    const res = await httpGet(`${url}${path}`);
    if (res.status !== 200) throw new Error(`prometheus ${path}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    return (JSON.parse(res.body) as { data: T }).data;
  };
  try {
    await waitUntil('prometheus ready', async (s) => (await httpGet(`${url}/-/ready`, { signal: s })).status === 200, {
      timeoutMs: 60_000,
      process: proc,
      signal: o.signal,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    async alerts() {
      const data = await api<{ alerts: { labels: { alertname: string }; state: string }[] }>('/api/v1/alerts');
      return data.alerts.map((a) => ({ name: a.labels.alertname, state: a.state }));
    },
    async query(expr) {
      const data = await api<{ result: { value: [number, string] }[] }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      const v = data.result[0]?.value[1];
      return v === undefined ? undefined : Number(v);
    },
    stop,
  };
}
