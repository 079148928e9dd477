// Every metric the chart's dashboard and alerts query must exist: in the contract (docs/metrics.md) and in what the
// components really export — the exposition text of the sftp pod's and the operator's own registries. A scrape of a
// running process over HTTP can reuse missingFromScrapes() with the body of GET /metrics.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { stringify as stringifyYaml } from 'yaml';
import {
  buildDashboard,
  DASHBOARD_PATH,
  DASHBOARD_UID,
  renderDashboard,
} from '../../charts/sftpgate/hack/dashboard.ts';
import {
  alertMetricNames,
  dashboardExprs,
  dashboardMetricNames,
  documentedMetricNames,
  EXTERNAL_METRICS,
  metricNamesInExpr,
  missingFromScrapes,
} from '../../charts/sftpgate/hack/metric-names.ts';
import { OperatorMetrics } from '../../operator/src/runtime/metrics.ts';
import { Metrics } from '../../sftp-pod/src/telemetry/metrics.ts';
import { makeTempDir, removeTempDir, runCommand, toolPath } from '../infra/index.ts';

/** Grafana's datasource variable reference (a Grafana placeholder, not a JavaScript template). */
const DS_VAR = ['$', '{datasource}'].join('');

/** prom-client's default metric names under a prefix, from a real registry (docs/metrics.md documents them by prefix). */
async function defaultMetricNames(prefix: string): Promise<Set<string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix });
  const names = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
  registry.clear();
  return names;
}

interface Panel {
  type: string;
  title: string;
  id: number;
  datasource?: { uid?: string };
  targets?: Array<{ expr: string; datasource?: { uid?: string } }>;
}

describe('dashboard and alert metrics', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as {
    uid: string;
    panels: Panel[];
    templating: { list: Array<{ name: string; type: string }> };
  };

  it('the committed dashboard JSON is what hack/dashboard.ts generates (run it after editing)', () => {
    assert.equal(readFileSync(DASHBOARD_PATH, 'utf8'), renderDashboard());
    assert.deepEqual(buildDashboard(), buildDashboard(), 'deterministic');
  });

  it('has a stable uid, a datasource variable that every query uses, and namespace/server variables', () => {
    assert.equal(dashboard.uid, DASHBOARD_UID);
    const vars = dashboard.templating.list.map((v) => `${v.name}:${v.type}`);
    assert.deepEqual(vars, ['datasource:datasource', 'namespace:query', 'server:query']);
    const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
    assert.deepEqual(rows, ['Overview', 'Uploads', 'S3', 'Security', 'Operator']);
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      assert.equal(p.datasource?.uid, DS_VAR, `${p.title}: panel datasource`);
      assert.ok(p.targets && p.targets.length > 0, `${p.title}: has queries`);
      for (const t of p.targets) {
        assert.equal(t.datasource?.uid, DS_VAR, `${p.title}: target datasource`);
        // Every SFTP-pod query honours the namespace and server variables.
        if (t.expr.includes('job="sftpgate-sftp"')) {
          assert.match(t.expr, /namespace=~"\$namespace", server=~"\$server"/, `${p.title}: selector`);
        }
      }
    }
  });

  it('panels tile the 24-column grid without overlapping', () => {
    const boxes = (dashboard.panels as Array<Panel & { gridPos: { x: number; y: number; w: number; h: number } }>).map(
      (p) => ({ title: p.title, ...p.gridPos }),
    );
    for (const b of boxes) assert.ok(b.x >= 0 && b.w > 0 && b.x + b.w <= 24, `${b.title}: inside the grid`);
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        assert.ok(!overlap, `${a.title} overlaps ${b.title}`);
      }
    }
  });

  it('every dashboard query is valid PromQL (parsed by promtool, variables substituted)', async () => {
    const exprs = dashboardExprs(dashboard).map((e) =>
      e.replaceAll('$__rate_interval', '5m').replaceAll('$namespace', '.*').replaceAll('$server', '.*'),
    );
    const rules = {
      groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }],
    };
    const dir = makeTempDir('dashboard-promql');
    try {
      const file = join(dir, 'dashboard-rules.yaml');
      writeFileSync(file, stringifyYaml(rules));
      const res = await runCommand(toolPath('promtool'), ['check', 'rules', file], { allowFailure: true });
      assert.equal(res.code, 0, res.stdout + res.stderr);
      assert.match(res.stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
    } finally {
      removeTempDir(dir);
    }
  });

  it('the metric-name tokenizer finds metrics and skips functions, labels, variables and keywords', () => {
    const cases: Array<[string, string, string[]]> = [
      ['plain', 'up{job="x"} == 0', ['up']],
      [
        'histogram',
        'histogram_quantile(0.99, sum by (server, le) (rate(a_seconds_bucket{job="j", server=~"$server"}[$__rate_interval])))',
        ['a_seconds'],
      ],
      ['binary with grouping', 'x_total / on (pod) group_left (node) y_info > bool 1 / 300', ['x_total', 'y_info']],
      ['strings hide names', 'z{path="not_a_metric"} unless w', ['z', 'w']],
      ['absent', 'absent(up{job="sftpgate-operator"} == 1)', ['up']],
    ];
    for (const [name, expr, want] of cases) {
      assert.deepEqual([...metricNamesInExpr(expr)].sort(), want.sort(), name);
    }
    assert.ok(dashboardExprs(dashboard).length > 30, 'found the dashboard queries');
  });

  it('every metric in the dashboard and the alerts is in docs/metrics.md (or a documented prom-client default)', async () => {
    const documented = documentedMetricNames();
    assert.ok(documented.size >= 25, 'docs/metrics.md parsed');
    const defaults = new Set([
      ...(await defaultMetricNames('sftpgate_sftp_')),
      ...(await defaultMetricNames('sftpgate_operator_')),
    ]);
    const used = new Set([...dashboardMetricNames(), ...alertMetricNames()]);
    const unknown = [...used].filter((n) => !documented.has(n) && !defaults.has(n) && !EXTERNAL_METRICS.has(n));
    assert.deepEqual(unknown, [], 'metrics used but not in the contract');
    // The alerts cover both components.
    assert.ok([...alertMetricNames()].some((n) => n.startsWith('sftpgate_operator_')));
    assert.ok([...alertMetricNames()].some((n) => n.startsWith('sftpgate_upload_')));
  });

  it('every SFTP-pod metric they use is exported by the pod (a real scrape of its registry)', async () => {
    const metrics = new Metrics();
    const scrape = await metrics.registry.metrics();
    metrics.registry.clear();
    const podSide = [...dashboardMetricNames(), ...alertMetricNames()].filter(
      (n) => !n.startsWith('sftpgate_operator_') && !EXTERNAL_METRICS.has(n),
    );
    assert.ok(podSide.length >= 15);
    assert.deepEqual(missingFromScrapes(new Set(podSide), [scrape]), []);
  });

  it('every operator metric they use is exported by the operator (a real scrape of its registry)', async () => {
    const metrics = new OperatorMetrics();
    const scrape = await metrics.registry.metrics();
    metrics.registry.clear();
    const operatorSide = [...dashboardMetricNames(), ...alertMetricNames()].filter((n) =>
      n.startsWith('sftpgate_operator_'),
    );
    assert.ok(operatorSide.length >= 8);
    assert.deepEqual(missingFromScrapes(new Set(operatorSide), [scrape]), []);
  });

  it('the comparison helper really reports a name missing from a scrape', () => {
    assert.deepEqual(missingFromScrapes(['sftpgate_nope_total', 'up'], ['# TYPE sftpgate_other gauge\n']), [
      'sftpgate_nope_total',
    ]);
  });
});
