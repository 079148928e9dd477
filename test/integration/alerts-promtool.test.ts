// The alert rules of the chart (charts/sftpgate/files/alerts.yaml) checked and unit-tested by the real promtool,
// plus the bookkeeping that keeps alerts, their tests and their runbooks in step.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { alertRules, RUNBOOK_BASE_URL, runbookAnchors } from '../../charts/sftpgate/hack/metric-names.ts';
import { makeTempDir, removeTempDir, runCommand, toolPath } from '../infra/index.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const RULES = `${ROOT}charts/sftpgate/files/alerts.yaml`;
const TESTS = `${ROOT}test/fixtures/alerts/alerts.test.yaml`;

interface AlertRuleTest {
  alertname: string;
  eval_time: string;
  exp_alerts?: unknown[];
}
interface PromtoolTests {
  tests: Array<{ name: string; alert_rule_test?: AlertRuleTest[] }>;
}

describe('alerts (promtool)', () => {
  const promtool = toolPath('promtool');

  it('promtool check rules accepts the rule file', async () => {
    const { stdout } = await runCommand(promtool, ['check', 'rules', RULES]);
    assert.match(stdout, new RegExp(`SUCCESS: ${alertRules().length} rules found`));
  });

  it('promtool test rules passes: every alert fires on its synthetic series and stays quiet on the others', async () => {
    const { stdout } = await runCommand(promtool, ['test', 'rules', TESTS]);
    assert.match(stdout, /SUCCESS/);
  });

  it('promtool test rules really fails when an expectation is wrong (the test is not vacuous)', async () => {
    // Same tests, one expected label changed: promtool must report the mismatch.
    const broken = readFileSync(TESTS, 'utf8').replace('server: hot }', 'server: not-hot }');
    const dir = makeTempDir('promtool');
    try {
      const file = join(dir, 'broken.test.yaml');
      writeFileSync(file, broken.replace('../../../charts/sftpgate/files/alerts.yaml', RULES));
      const res = await runCommand(promtool, ['test', 'rules', file], { allowFailure: true });
      assert.notEqual(res.code, 0);
      assert.match(res.stdout + res.stderr, /FAILED[\s\S]*server="not-hot"/);
    } finally {
      removeTempDir(dir);
    }
  });

  it('every alert is tested both firing and not firing', () => {
    const doc = parse(readFileSync(TESTS, 'utf8')) as PromtoolTests;
    const checks = doc.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const rule of alertRules()) {
      const mine = checks.filter((c) => c.alertname === rule.alert);
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${rule.alert}: no test where it fires`,
      );
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${rule.alert}: no test where it stays quiet`,
      );
    }
  });

  it('every alert has a severity, a summary and a runbook_url pointing at its own section of docs/runbooks.md', () => {
    const anchors = runbookAnchors();
    for (const rule of alertRules()) {
      assert.match(rule.labels['severity'] ?? '', /^(critical|warning|info)$/, `${rule.alert}: severity`);
      assert.ok(rule.annotations['summary'], `${rule.alert}: summary`);
      const anchor = rule.alert.toLowerCase();
      assert.equal(rule.annotations['runbook_url'], `${RUNBOOK_BASE_URL}#${anchor}`, `${rule.alert}: runbook_url`);
      assert.ok(anchors.has(anchor), `${rule.alert}: docs/runbooks.md has no "## ${rule.alert}" section`);
    }
  });
});
