import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { fileSdTargets, JOBS, prometheusConfig } from './prometheus.ts';

const pod = (name: string, over: { ip?: string; phase?: string; port?: string; deleting?: boolean } = {}) => ({
  metadata: {
    name,
    namespace: 'sftp',
    labels: { 'app.kubernetes.io/instance': 'demo' },
    ...(over.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  },
  spec: {
    containers: [
      {
        ports: [
          { name: 'ssh', containerPort: 2222 },
          { name: over.port ?? 'metrics', containerPort: 9090 },
        ],
      },
    ],
  },
  status: { podIP: over.ip ?? '10.244.1.5', phase: over.phase ?? 'Running' },
});

describe('prometheus for the test cluster', () => {
  it('one file_sd job per chart selector, scraped at the given interval', () => {
    const c = parse(prometheusConfig({ dir: '/d', ruleFiles: ['/d/r.yml'], intervalSeconds: 2 })) as {
      global: { scrape_interval: string };
      rule_files: string[];
      scrape_configs: { job_name: string; file_sd_configs: { files: string[] }[] }[];
    };
    assert.equal(c.global.scrape_interval, '2s');
    assert.deepEqual(c.rule_files, ['/d/r.yml']);
    assert.deepEqual(
      c.scrape_configs.map((j) => [j.job_name, j.file_sd_configs[0]?.files[0]]),
      JOBS.map((j) => [j, `/d/${j}.json`]),
    );
  });

  it('targets: running pods with an address and a metrics port, labelled like the chart monitors', () => {
    const targets = fileSdTargets({
      items: [
        pod('a'),
        pod('pending', { phase: 'Pending' }),
        pod('no-ip', { ip: '' }),
        pod('no-metrics', { port: 'other' }),
        pod('going', { deleting: true }),
      ],
    });
    assert.deepEqual(targets, [
      { targets: ['10.244.1.5:9090'], labels: { namespace: 'sftp', pod: 'a', server: 'demo' } },
    ]);
  });
});
