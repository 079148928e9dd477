// Generates charts/sftpgate/dashboards/sftpgate.json, the Grafana dashboard shipped by the chart.
//
// Why generated from TypeScript rather than kept as hand-edited JSON: a Grafana dashboard is ~2,000 lines of JSON in
// which ids, grid positions and the datasource reference repeat for every panel; hand edits drift (a panel left on a
// hard-coded datasource, a selector that forgot the server variable). Here the selectors live in one place (SFTP and
// OPERATOR below), every panel is built by the same two functions, and the JSON is a build output that a test
// (test/integration/chart-metrics.test.ts) regenerates and compares, so it can never drift from this file.
// Panels, queries and variables are built with Grafana's own dashboards-as-code library for TypeScript
// (@grafana/grafana-foundation-sdk, Apache-2.0, pinned in package.json), whose builders follow Grafana's schema.
//
// Run: `node charts/sftpgate/hack/dashboard.ts` (writes the JSON).

import { writeFileSync } from 'node:fs';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as heatmap from '@grafana/grafana-foundation-sdk/heatmap';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

export const DASHBOARD_UID = 'sftpgate-overview';
export const DASHBOARD_PATH = new URL('../dashboards/sftpgate.json', import.meta.url).pathname;

/** Label selectors, in one place. Job names are fixed by the chart's ServiceMonitor/PodMonitor (jobLabel). */
const SFTP = 'job="sftpgate-sftp", namespace=~"$namespace", server=~"$server"';
const OPERATOR = 'job="sftpgate-operator"';
const RATE = '$__rate_interval';
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JavaScript template.
const DS: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

interface Target {
  readonly expr: string;
  readonly legend: string;
  readonly format?: 'heatmap' | 'time_series';
}
interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly targets: readonly Target[];
  readonly type?: 'timeseries' | 'stat' | 'heatmap';
  readonly width?: number;
  readonly stack?: boolean;
}
interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

const q = (quantile: number, metric: string, selector: string, by: string): string =>
  `histogram_quantile(${quantile}, sum by (${by}le) (rate(${metric}_bucket{${selector}}[${RATE}])))`;

const ROWS: readonly RowSpec[] = [
  {
    title: 'Overview',
    panels: [
      {
        title: 'SFTP servers',
        description: 'SftpServers whose pods are scraped (selected namespaces/servers).',
        unit: 'none',
        type: 'stat',
        width: 6,
        targets: [{ expr: `count(count by (namespace, server) (sftpgate_users_loaded{${SFTP}}))`, legend: 'servers' }],
      },
      {
        title: 'Users',
        description:
          'Users in the loaded users tables (the largest value across a server’s pods, summed over servers).',
        unit: 'none',
        type: 'stat',
        width: 6,
        targets: [{ expr: `sum(max by (namespace, server) (sftpgate_users_loaded{${SFTP}}))`, legend: 'users' }],
      },
      {
        title: 'Sessions',
        description: 'Authenticated SFTP sessions open now.',
        unit: 'none',
        type: 'stat',
        width: 6,
        targets: [{ expr: `sum(sftpgate_sessions_active{${SFTP}})`, legend: 'sessions' }],
      },
      {
        title: 'Objects not Ready',
        description: 'SftpServers and SftpUsers whose Ready condition is not True (from the operator).',
        unit: 'none',
        type: 'stat',
        width: 6,
        targets: [
          { expr: `max by (kind) (sftpgate_operator_resources{${OPERATOR}, ready="false"})`, legend: '{{kind}}' },
        ],
      },
      {
        title: 'Throughput in / out',
        description: 'Payload bytes per second: upload = into S3 (in), download = out of S3 (out).',
        unit: 'Bps',
        width: 8,
        targets: [
          {
            expr: `sum by (direction) (rate(sftpgate_transfer_bytes_total{${SFTP}}[${RATE}]))`,
            legend: '{{direction}}',
          },
        ],
      },
      {
        title: 'Sessions by server',
        description: 'Authenticated SFTP sessions per server.',
        unit: 'none',
        width: 8,
        targets: [{ expr: `sum by (namespace, server) (sftpgate_sessions_active{${SFTP}})`, legend: '{{server}}' }],
      },
      {
        title: 'Files transferred',
        description: 'Completed transfers per second by direction and result (ok, error, aborted).',
        unit: 'ops',
        width: 8,
        targets: [
          {
            expr: `sum by (direction, result) (rate(sftpgate_transfers_total{${SFTP}}[${RATE}]))`,
            legend: '{{direction}} {{result}}',
          },
        ],
      },
      {
        title: 'Connections',
        description: 'TCP connections per second by result (accepted, refused by limit or CIDR, banned).',
        unit: 'cps',
        width: 8,
        targets: [
          { expr: `sum by (result) (rate(sftpgate_connections_total{${SFTP}}[${RATE}]))`, legend: '{{result}}' },
        ],
      },
      {
        title: 'SFTP requests that did not succeed',
        description: 'SFTP requests per second whose status is neither ok nor eof, by operation and status.',
        unit: 'reqps',
        width: 8,
        targets: [
          {
            expr: `sum by (op, status) (rate(sftpgate_sftp_requests_total{${SFTP}, status!~"ok|eof"}[${RATE}]))`,
            legend: '{{op}} {{status}}',
          },
        ],
      },
      {
        title: 'SFTP pod memory (RSS)',
        description: 'Resident memory of each SFTP pod (compare with the upload buffer budget below).',
        unit: 'bytes',
        width: 8,
        targets: [{ expr: `sftpgate_sftp_process_resident_memory_bytes{${SFTP}}`, legend: '{{pod}}' }],
      },
    ],
  },
  {
    title: 'Uploads',
    panels: [
      {
        title: 'Upload finalize lag (CLOSE → S3 confirmed)',
        description: 'Distribution of the time from the client’s CLOSE to S3 confirming the object.',
        unit: 's',
        type: 'heatmap',
        width: 12,
        targets: [
          {
            expr: `sum by (le) (increase(sftpgate_upload_finalize_lag_seconds_bucket{${SFTP}}[${RATE}]))`,
            legend: '{{le}}',
            format: 'heatmap',
          },
        ],
      },
      {
        title: 'Upload finalize lag p50 / p99',
        description: 'Alert SftpgateUploadFinalizeLagHigh fires when p99 stays above 30 s for 10 minutes.',
        unit: 's',
        width: 12,
        targets: [
          { expr: q(0.5, 'sftpgate_upload_finalize_lag_seconds', SFTP, 'server, '), legend: 'p50 {{server}}' },
          { expr: q(0.99, 'sftpgate_upload_finalize_lag_seconds', SFTP, 'server, '), legend: 'p99 {{server}}' },
        ],
      },
      {
        title: 'Bytes buffered vs budget',
        description:
          'Upload bytes received from clients but not yet confirmed by S3, per pod, and the pod’s budget. At the budget the pod applies backpressure.',
        unit: 'bytes',
        width: 8,
        targets: [
          { expr: `sum by (pod) (sftpgate_upload_buffered_bytes{${SFTP}})`, legend: 'buffered {{pod}}' },
          { expr: `max by (pod) (sftpgate_upload_buffer_budget_bytes{${SFTP}})`, legend: 'budget {{pod}}' },
        ],
      },
      {
        title: 'Part upload latency p50 / p99',
        description: 'Duration of one UploadPart call.',
        unit: 's',
        width: 8,
        targets: [
          { expr: q(0.5, 'sftpgate_upload_part_duration_seconds', SFTP, 'server, '), legend: 'p50 {{server}}' },
          { expr: q(0.99, 'sftpgate_upload_part_duration_seconds', SFTP, 'server, '), legend: 'p99 {{server}}' },
        ],
      },
      {
        title: 'Backpressure pauses',
        description: 'Times per second a channel stopped reading because an upload or pod budget was full.',
        unit: 'ops',
        width: 8,
        targets: [
          {
            expr: `sum by (server) (rate(sftpgate_backpressure_pauses_total{${SFTP}}[${RATE}]))`,
            legend: '{{server}}',
          },
        ],
      },
    ],
  },
  {
    title: 'S3',
    panels: [
      {
        title: 'S3 requests by operation',
        description: 'S3 calls per second by operation.',
        unit: 'reqps',
        width: 6,
        stack: true,
        targets: [
          {
            expr: `sum by (operation) (rate(sftpgate_s3_requests_total{${SFTP}}[${RATE}]))`,
            legend: '{{operation}}',
          },
        ],
      },
      {
        title: 'S3 errors by operation',
        description: 'S3 calls per second that failed after the SDK’s retries.',
        unit: 'reqps',
        width: 6,
        targets: [
          {
            expr: `sum by (operation) (rate(sftpgate_s3_requests_total{${SFTP}, result="error"}[${RATE}]))`,
            legend: '{{operation}}',
          },
        ],
      },
      {
        title: 'S3 latency p99 by operation',
        description: 'p99 duration of S3 calls by operation.',
        unit: 's',
        width: 6,
        targets: [
          {
            expr: q(0.99, 'sftpgate_s3_request_duration_seconds', SFTP, 'operation, '),
            legend: '{{operation}}',
          },
        ],
      },
      {
        title: 'Per-login credential requests',
        description: 'STS requests per second by result (IAM modes STS and AWS).',
        unit: 'reqps',
        width: 6,
        targets: [
          { expr: `sum by (result) (rate(sftpgate_sts_requests_total{${SFTP}}[${RATE}]))`, legend: '{{result}}' },
        ],
      },
    ],
  },
  {
    title: 'Security',
    panels: [
      {
        title: 'Auth attempts by result',
        description: 'Login attempts per second by result.',
        unit: 'ops',
        width: 8,
        stack: true,
        targets: [
          { expr: `sum by (result) (rate(sftpgate_auth_attempts_total{${SFTP}}[${RATE}]))`, legend: '{{result}}' },
        ],
      },
      {
        title: 'Auth failures by method',
        description: 'Failed login attempts per second by method.',
        unit: 'ops',
        width: 8,
        targets: [
          {
            expr: `sum by (method) (rate(sftpgate_auth_attempts_total{${SFTP}, result="failure"}[${RATE}]))`,
            legend: '{{method}}',
          },
        ],
      },
      {
        title: 'Defender bans',
        description: 'New bans per interval and addresses banned now, per server.',
        unit: 'none',
        width: 8,
        targets: [
          {
            expr: `sum by (server) (increase(sftpgate_defender_bans_total{${SFTP}}[${RATE}]))`,
            legend: 'new bans {{server}}',
          },
          { expr: `max by (server) (sftpgate_defender_banned_hosts{${SFTP}})`, legend: 'banned now {{server}}' },
        ],
      },
    ],
  },
  {
    title: 'Operator',
    panels: [
      {
        title: 'Reconcile rate',
        description: 'Reconcile passes per second by controller and result.',
        unit: 'ops',
        width: 8,
        targets: [
          {
            expr: `sum by (controller, result) (rate(sftpgate_operator_reconcile_total{${OPERATOR}}[${RATE}]))`,
            legend: '{{controller}} {{result}}',
          },
        ],
      },
      {
        title: 'Reconcile errors',
        description: 'Failed passes per second by controller and typed error reason.',
        unit: 'ops',
        width: 8,
        targets: [
          {
            expr: `sum by (controller, reason) (rate(sftpgate_operator_reconcile_errors_total{${OPERATOR}}[${RATE}]))`,
            legend: '{{controller}} {{reason}}',
          },
        ],
      },
      {
        title: 'Reconcile duration p50 / p99',
        description: 'Duration of one reconcile pass.',
        unit: 's',
        width: 8,
        targets: [
          {
            expr: q(0.5, 'sftpgate_operator_reconcile_duration_seconds', OPERATOR, 'controller, '),
            legend: 'p50 {{controller}}',
          },
          {
            expr: q(0.99, 'sftpgate_operator_reconcile_duration_seconds', OPERATOR, 'controller, '),
            legend: 'p99 {{controller}}',
          },
        ],
      },
      {
        title: 'Work queue depth',
        description: 'Keys waiting, per controller (the leader’s queue; standbys report zero).',
        unit: 'none',
        width: 6,
        targets: [
          {
            expr: `max by (controller) (sftpgate_operator_workqueue_depth{${OPERATOR}})`,
            legend: '{{controller}}',
          },
        ],
      },
      {
        title: 'Work queue latency p99',
        description: 'Time from enqueue to the start of work, and requeues with backoff per second.',
        unit: 's',
        width: 6,
        targets: [
          {
            expr: q(0.99, 'sftpgate_operator_workqueue_latency_seconds', OPERATOR, 'controller, '),
            legend: 'p99 {{controller}}',
          },
        ],
      },
      {
        title: 'Retries and API requests',
        description: 'Requeues with backoff, and requests to the Kubernetes API by verb, per second.',
        unit: 'reqps',
        width: 6,
        targets: [
          {
            expr: `sum by (controller) (rate(sftpgate_operator_workqueue_retries_total{${OPERATOR}}[${RATE}]))`,
            legend: 'retries {{controller}}',
          },
          {
            expr: `sum by (verb) (rate(sftpgate_operator_api_requests_total{${OPERATOR}}[${RATE}]))`,
            legend: 'API {{verb}}',
          },
        ],
      },
      {
        title: 'Leader',
        description: 'Which replica holds the Lease (1); exactly one should.',
        unit: 'none',
        width: 6,
        targets: [{ expr: `sftpgate_operator_leader{${OPERATOR}}`, legend: '{{pod}}' }],
      },
    ],
  },
];

type Grid = { x: number; y: number; w: number; h: number };

/** One panel through the SDK's typed builders: timeseries, stat or heatmap, each query a Prometheus dataquery. */
function panelBuilder(spec: PanelSpec, id: number, gridPos: Grid): cog.Builder<dashboard.Panel> {
  const targets = spec.targets.map((t, i) => {
    const query = new prometheus.DataqueryBuilder()
      .datasource(DS)
      .refId(String.fromCharCode(65 + i))
      .expr(t.expr)
      .legendFormat(t.legend)
      .range();
    return t.format === 'heatmap' ? query.format(prometheus.PromQueryFormat.Heatmap).interval('') : query;
  });
  const type = spec.type ?? 'timeseries';
  if (type === 'stat') {
    const b = new stat.PanelBuilder()
      .unit(spec.unit)
      .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
      .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('').values(false))
      .colorMode(common.BigValueColorMode.Value);
    return withCommon(b, spec, id, gridPos, targets);
  }
  if (type === 'heatmap') {
    const b = new heatmap.PanelBuilder()
      .calculate(false)
      .yAxis(new heatmap.YAxisConfigBuilder().unit(spec.unit))
      .cellGap(1)
      .color(new heatmap.HeatmapColorOptionsBuilder().mode(heatmap.HeatmapColorMode.Scheme).scheme('Oranges').steps(64))
      .tooltip(new heatmap.HeatmapTooltipBuilder().mode(common.TooltipDisplayMode.Single).yHistogram(true));
    return withCommon(b, spec, id, gridPos, targets);
  }
  const b = new timeseries.PanelBuilder()
    .unit(spec.unit)
    .min(0)
    .drawStyle(common.GraphDrawStyle.Line)
    .fillOpacity(spec.stack ? 30 : 10)
    .stacking(
      new common.StackingConfigBuilder().mode(spec.stack ? common.StackingMode.Normal : common.StackingMode.None),
    )
    .legend(
      new common.VizLegendOptionsBuilder()
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom)
        .showLegend(true),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending),
    );
  return withCommon(b, spec, id, gridPos, targets);
}

/** What every panel kind shares (the builders have the same methods but no common base type). */
function withCommon<B extends PanelCommon<B>>(
  b: B,
  spec: PanelSpec,
  id: number,
  gridPos: Grid,
  targets: prometheus.DataqueryBuilder[],
): B {
  let out = b.id(id).title(spec.title).description(spec.description).datasource(DS).gridPos(gridPos);
  for (const t of targets) out = out.withTarget(t);
  return out;
}

interface PanelCommon<B> extends cog.Builder<dashboard.Panel> {
  id(id: number): B;
  title(title: string): B;
  description(description: string): B;
  datasource(datasource: common.DataSourceRef): B;
  gridPos(gridPos: dashboard.GridPos): B;
  withTarget(target: cog.Builder<cog.Dataquery>): B;
}

const queryVar = (name: string, label: string, query: string) =>
  new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(DS)
    .query({ query, refId: `${name}-var` })
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .includeAll(true)
    .multi(true)
    .allValue('.*')
    .current({ selected: true, text: ['All'], value: ['$__all'] })
    .sort(dashboard.VariableSort.AlphabeticalAsc);

/**
 * The dashboard, built with Grafana's dashboards-as-code SDK (@grafana/grafana-foundation-sdk): typed panel, query
 * and variable builders that follow Grafana's schema. Deterministic: same input, same JSON (ids and positions are
 * computed here, not left to the SDK's auto-layout, so rows tile the grid exactly as before).
 */
export function buildDashboard(): dashboard.Dashboard {
  const b = new dashboard.DashboardBuilder('sftpgate')
    .uid(DASHBOARD_UID)
    .description(
      'SFTP on S3: sessions, throughput, upload lag, S3, security and the operator. Generated by charts/sftpgate/hack/dashboard.ts.',
    )
    .tags(['sftpgate', 'sftp', 's3'])
    .readonly()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .version(1)
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .withVariable(
      new dashboard.DatasourceVariableBuilder('datasource')
        .label('Data source')
        .type('prometheus')
        .current({ selected: true, text: 'default', value: 'default' }),
    )
    .withVariable(
      queryVar('namespace', 'Namespace', 'label_values(sftpgate_users_loaded{job="sftpgate-sftp"}, namespace)'),
    )
    .withVariable(
      queryVar(
        'server',
        'Server',
        'label_values(sftpgate_users_loaded{job="sftpgate-sftp", namespace=~"$namespace"}, server)',
      ),
    );
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    b.withRow(new dashboard.RowBuilder(row.title).id(id++).collapsed(false).gridPos({ x: 0, y, w: 24, h: 1 }));
    y += 1;
    // Panels fill lines left to right; a line is as tall as its tallest panel.
    let x = 0;
    let lineHeight = 0;
    for (const p of row.panels) {
      const w = p.width ?? 8;
      const h = p.type === 'stat' ? 4 : 8;
      if (x + w > 24) {
        x = 0;
        y += lineHeight;
        lineHeight = 0;
      }
      b.withPanel(panelBuilder(p, id++, { x, y, w, h }));
      x += w;
      lineHeight = Math.max(lineHeight, h);
    }
    y += lineHeight;
  }
  // Plain data: the builders' output carries class instances, the file and the tests want JSON values.
  return JSON.parse(JSON.stringify(b.build())) as dashboard.Dashboard;
}

/** The file content: 2-space JSON with a trailing newline. */
export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

if (import.meta.main) {
  writeFileSync(DASHBOARD_PATH, renderDashboard());
  console.log(`wrote ${DASHBOARD_PATH}`);
}
