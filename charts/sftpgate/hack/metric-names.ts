// Metric names used by the chart's alerts and dashboard, and the helpers that compare them with the contract
// (docs/metrics.md) and with real /metrics scrapes. Used by test/integration/chart-metrics.test.ts and
// alerts-promtool.test.ts; kept here, next to what it reads, so the coordinator's live-scrape test can import it too.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = new URL('../../../', import.meta.url).pathname;
export const ALERTS_FILE = join(ROOT, 'charts/sftpgate/files/alerts.yaml');
export const DASHBOARD_FILE = join(ROOT, 'charts/sftpgate/dashboards/sftpgate.json');
export const METRICS_DOC = join(ROOT, 'docs/metrics.md');
export const RUNBOOKS_DOC = join(ROOT, 'docs/runbooks.md');
/** What every alert's runbook_url starts with in files/alerts.yaml (the chart substitutes its own value). */
export const RUNBOOK_BASE_URL = 'https://github.com/sftpgate/sftpgate/blob/main/docs/runbooks.md';

/** Series the alerts and dashboard use that sftpgate does not export: Prometheus' own and kube-state-metrics'. */
export const EXTERNAL_METRICS: ReadonlySet<string> = new Set([
  'up',
  'kube_deployment_spec_replicas',
  'kube_deployment_status_replicas_available',
]);

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** Every alerting rule of files/alerts.yaml, in file order. */
export function alertRules(file = ALERTS_FILE): AlertRule[] {
  const doc = parse(readFileSync(file, 'utf8')) as { groups: Array<{ rules: Array<Partial<AlertRule>> }> };
  return doc.groups.flatMap((g) =>
    g.rules.map((r) => {
      if (!r.alert || !r.expr) throw new Error(`${file}: a rule without alert/expr`);
      return { alert: r.alert, expr: r.expr, labels: r.labels ?? {}, annotations: r.annotations ?? {} };
    }),
  );
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
  'le',
]);

/**
 * Metric names a PromQL expression selects, with histogram suffixes (_bucket, _sum, _count) folded onto the family
 * name. A tokenizer, not a parser: it drops strings, label matchers, ranges, grouping clauses, Grafana variables and
 * function calls, and keeps the remaining identifiers — good enough for the expressions we write, checked by a test.
 */
export function metricNamesInExpr(expr: string): Set<string> {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.$])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (!name || call || KEYWORDS.has(name.toLowerCase())) continue;
    names.add(familyName(name));
  }
  return names;
}

/** `x_bucket`/`x_sum`/`x_count` → `x` for histogram series; other names unchanged. */
export function familyName(name: string): string {
  return name.replace(/_(bucket|sum|count)$/, '');
}

/** Every metric family the alerts query. */
export function alertMetricNames(file = ALERTS_FILE): Set<string> {
  const out = new Set<string>();
  for (const r of alertRules(file)) for (const n of metricNamesInExpr(r.expr)) out.add(n);
  return out;
}

/** Every PromQL string in a Grafana dashboard: panel targets (also nested in rows) and query variables. */
export function dashboardExprs(dashboard: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown, key: string | undefined): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n, key);
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) walk(v, k);
    } else if (typeof node === 'string' && key === 'expr') {
      out.push(node);
    }
  };
  walk(dashboard, undefined);
  const templating = (dashboard as { templating?: { list?: Array<{ type?: string; query?: unknown }> } }).templating;
  for (const v of templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    // label_values(metric{...}, label) / query_result(expr): the metric selector is the first argument.
    const inner = q?.match(/^\s*(?:label_values|query_result)\((.*)\)\s*$/s)?.[1];
    if (inner) out.push(inner.replace(/,\s*\w+\s*$/, ''));
  }
  return out;
}

/** Every metric family the dashboard queries. */
export function dashboardMetricNames(file = DASHBOARD_FILE): Set<string> {
  const out = new Set<string>();
  for (const e of dashboardExprs(JSON.parse(readFileSync(file, 'utf8')))) {
    for (const n of metricNamesInExpr(e)) out.add(n);
  }
  return out;
}

/** The metric names docs/metrics.md promises (the first backticked cell of each table row). */
export function documentedMetricNames(file = METRICS_DOC): Set<string> {
  const out = new Set<string>();
  for (const m of readFileSync(file, 'utf8').matchAll(/^\|\s*`(sftpgate_[a-z0-9_]+)`/gm)) {
    if (m[1]) out.add(m[1]);
  }
  return out;
}

/**
 * Metric families in a Prometheus text exposition (`# TYPE <name> <type>` lines), by name. For the live comparison:
 * scrape the operator's and a pod's /metrics and check every name the alerts and dashboard use is present.
 */
export function exposedMetricFamilies(exposition: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (m[1] && m[2]) out.set(m[1], m[2]);
  }
  return out;
}

/** Names in `used` that none of the scrapes exposes (external metrics excluded). Empty means all are live. */
export function missingFromScrapes(used: Iterable<string>, scrapes: readonly string[]): string[] {
  const live = new Set<string>();
  for (const s of scrapes) for (const name of exposedMetricFamilies(s).keys()) live.add(name);
  return [...used].filter((n) => !EXTERNAL_METRICS.has(n) && !live.has(n)).sort();
}

/** GitHub-style anchors of the `#`-headings of docs/runbooks.md. */
export function runbookAnchors(file = RUNBOOKS_DOC): Set<string> {
  const out = new Set<string>();
  for (const m of readFileSync(file, 'utf8').matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    if (!m[1]) continue;
    out.add(
      m[1]
        .toLowerCase()
        .replace(/[^\w\- ]/g, '')
        .replace(/ /g, '-'),
    );
  }
  return out;
}
