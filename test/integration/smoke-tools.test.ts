// Smoke tests of the command-line tools the test bed installs: helm lints charts, promtool checks and tests rules,
// and the SFTP clients the end-to-end tests drive are the builds we expect (curl with sftp, OpenSSH 9.x).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeTempDir, removeTempDir, runCommand, toolPath } from '../infra/index.ts';

const tmp = makeTempDir('smoke-tools');
after(() => removeTempDir(tmp));

function writeTree(root: string, files: Readonly<Record<string, string>>): string {
  for (const [rel, text] of Object.entries(files)) {
    const path = join(root, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  }
  return root;
}

// helm keeps caches and repositories under $HOME by default; keep it inside our temp dir.
const helmEnv = {
  HELM_CACHE_HOME: join(tmp, 'helm', 'cache'),
  HELM_CONFIG_HOME: join(tmp, 'helm', 'config'),
  HELM_DATA_HOME: join(tmp, 'helm', 'data'),
};

const chart = (template: string) => ({
  'Chart.yaml': 'apiVersion: v2\nname: smoke\nversion: 0.1.0\ndescription: smoke-test chart\n',
  'values.yaml': '# Greeting stored in the ConfigMap.\ngreeting: hello\n',
  'templates/configmap.yaml': template,
});
const GOOD_TEMPLATE =
  'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-greeting\ndata:\n  greeting: {{ .Values.greeting | quote }}\n';

describe('helm', () => {
  it('lints a good chart and renders it', async () => {
    const dir = writeTree(join(tmp, 'good-chart'), chart(GOOD_TEMPLATE));
    const lint = await runCommand(toolPath('helm'), ['lint', dir], { env: helmEnv });
    assert.match(lint.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    const rendered = await runCommand(toolPath('helm'), ['template', 'demo', dir, '--set', 'greeting=hi there'], {
      env: helmEnv,
    });
    assert.match(rendered.stdout, /name: demo-greeting/);
    assert.match(rendered.stdout, /greeting: "hi there"/);
  });

  it('fails lint on a template that does not parse', async () => {
    const dir = writeTree(join(tmp, 'bad-chart'), chart(GOOD_TEMPLATE.replace('| quote }}', '| quote }')));
    const lint = await runCommand(toolPath('helm'), ['lint', dir], { env: helmEnv, allowFailure: true });
    assert.notEqual(lint.code, 0);
    assert.match(lint.stdout + lint.stderr, /1 chart\(s\) linted, 1 chart\(s\) failed/);
    assert.match(lint.stdout + lint.stderr, /parse error/);
  });
});

const RULES = `groups:
  - name: smoke
    rules:
      - alert: UploadLagHigh
        expr: sftpgate_upload_lag_seconds > 30
        for: 1m
        labels: { severity: warning }
        annotations: { summary: "uploads lag" }
`;

describe('promtool', () => {
  it('checks a rule file and unit-tests its alert', async () => {
    const dir = writeTree(join(tmp, 'rules'), {
      'rules.yaml': RULES,
      'rules.test.yaml': `rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'sftpgate_upload_lag_seconds{pod="a"}'
        values: '60x5'
    alert_rule_test:
      - eval_time: 3m
        alertname: UploadLagHigh
        exp_alerts:
          - exp_labels: { severity: warning, pod: a }
            exp_annotations: { summary: "uploads lag" }
`,
    });
    const check = await runCommand(toolPath('promtool'), ['check', 'rules', join(dir, 'rules.yaml')]);
    assert.match(check.stdout, /SUCCESS: 1 rules found/);
    const test = await runCommand(toolPath('promtool'), ['test', 'rules', join(dir, 'rules.test.yaml')]);
    assert.match(test.stdout, /SUCCESS/);
  });

  it('rejects a rule with a broken expression', async () => {
    const dir = writeTree(join(tmp, 'bad-rules'), {
      'rules.yaml': RULES.replace('sftpgate_upload_lag_seconds > 30', 'rate(sftpgate_upload_lag_seconds[5m] > 30'),
    });
    const check = await runCommand(toolPath('promtool'), ['check', 'rules', join(dir, 'rules.yaml')], {
      allowFailure: true,
    });
    assert.notEqual(check.code, 0);
    assert.match(check.stdout + check.stderr, /FAILED/);
    assert.match(check.stdout + check.stderr, /parse error/);
  });
});

describe('SFTP clients and servers', () => {
  const cases: Array<{ name: string; command: () => string; args: string[]; expect: RegExp }> = [
    { name: 'curl speaks sftp', command: () => 'curl', args: ['-V'], expect: /^Protocols:.*\bsftp\b/m },
    { name: 'OpenSSH client 9.x', command: () => 'ssh', args: ['-V'], expect: /OpenSSH_9\./ },
    { name: 'OpenSSH sftp is present', command: () => 'sftp', args: ['-h'], expect: /usage: sftp/ },
    { name: 'lftp', command: () => 'lftp', args: ['--version'], expect: /LFTP \| Version \d/ },
    { name: 'rclone', command: () => toolPath('rclone'), args: ['version'], expect: /^rclone v\d/m },
    { name: 'sshd (benchmark baseline)', command: () => toolPath('sshd'), args: ['-V'], expect: /OpenSSH_9\./ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const res = await runCommand(c.command(), c.args, { allowFailure: true });
      assert.match(res.stdout + res.stderr, c.expect);
    });
  }
});
