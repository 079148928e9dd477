// The chart's RBAC against what the operator really calls: the chart is installed into a real API server, the real
// operator process runs with the chart's ServiceAccount token (so every call is authorised by exactly the chart's
// rules), reconciles the examples against MinIO, and then its own /metrics — a live scrape — says which verbs and
// resources it used. Every one must be granted by files/rbac-rules.yaml, none may have been refused, and every metric
// the chart's dashboard and alerts query for the operator must be in that scrape. Its S3 calls go through a recorder
// to MinIO as a MinIO user holding exactly the operator's S3 policy (files/operator-s3-policy.json for the bucket and
// the examples' root): MinIO enforces it, and each recorded call is checked against it by the IAM evaluator.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { alertMetricNames, dashboardMetricNames, missingFromScrapes } from '../../charts/sftpgate/hack/metric-names.ts';
import { operatorS3Policy } from '../../operator/src/cloud/iam/operator-policy.ts';
import { allowedByAll } from '../../operator/src/cloud/iam/policy-evaluator.ts';
import { type AwsRecorder, startAwsRecorder } from '../infra/aws-recorder.ts';
import {
  type ControlPlane,
  httpGet,
  type ManagedProcess,
  type Minio,
  makeTempDir,
  releasePorts,
  removeTempDir,
  reservePort,
  runCommand,
  spawnManaged,
  startControlPlane,
  startMinio,
  tailFile,
  toolPath,
  waitUntil,
} from '../infra/index.ts';
import { createMinioUser, type MinioUser } from '../infra/minio-admin.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CHART = `${ROOT}charts/sftpgate`;
const NS = 'sftpgate-system';
const TENANT = 'demo';
const BUCKET = 'sftpgate-demo';
/** The examples' profile root (prefixes servers/<namespace>/<server>/): the operator's S3 policy covers it. */
const S3_ROOT = 'servers';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** The operator's request-counter verbs in RBAC terms: server-side apply is a PATCH that may create. */
function rbacVerbs(verb: string): string[] {
  if (verb === 'apply') return ['patch'];
  return [verb];
}

/** `sftpgate_operator_api_requests_total{verb,resource}` samples of a scrape, as "verb resource" pairs. */
function apiCalls(scrape: string): Array<{ verb: string; resource: string }> {
  const out: Array<{ verb: string; resource: string }> = [];
  for (const m of scrape.matchAll(/^sftpgate_operator_api_requests_total\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Number(m[2]) > 0 && labels['verb'] && labels['resource']) {
      out.push({ verb: labels['verb'], resource: labels['resource'] });
    }
  }
  return out;
}

/** The two RBAC shapes the chart renders: a ClusterRole (all namespaces) and a Role (exactly one watched namespace). */
const MODES = [
  { name: 'all namespaces, ClusterRole', values: [] as string[], scoped: false },
  { name: 'one namespace, Role', values: ['--set', `operator.watchNamespaces={${TENANT}}`], scoped: true },
];

for (const mode of MODES) {
  describe(`chart RBAC vs the real operator (live: ${mode.name})`, () => {
    let cp: ControlPlane;
    let minio: Minio;
    let recorder: AwsRecorder;
    let operatorS3: MinioUser;
    const s3Policy = operatorS3Policy([{ bucket: BUCKET, root: S3_ROOT }]);
    let operator: ManagedProcess | undefined;
    let dir: string;
    let port: number;
    const rules = parseYaml(readFileSync(`${CHART}/files/rbac-rules.yaml`, 'utf8')) as {
      clusterRules: Rule[];
      platformRules: Rule[];
      operatorNamespaceRules: Rule[];
      leaderElectionRules: Rule[];
    };

    const scrape = async (): Promise<string> => {
      const res = await httpGet(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200);
      return res.body;
    };
    const running = (): ManagedProcess => {
      assert.ok(operator, 'the operator was started');
      return operator;
    };
    const operatorLog = () => tailFile(join(dir, 'operator.log'), 60);

    before(async () => {
      dir = makeTempDir('chart-rbac');
      [cp, minio] = await Promise.all([startControlPlane(), startMinio()]);
      await minio.createBucket(BUCKET, { versioning: true });
      recorder = await startAwsRecorder(minio.endpoint);
      operatorS3 = await createMinioUser(minio, 'sftpgate-operator', s3Policy);
      await cp.kubectl(['create', 'namespace', NS]);
      await cp.kubectl(['create', 'namespace', TENANT]);
      const helm = (args: string[]) =>
        runCommand(toolPath('helm'), [...args, '-n', NS, '--kubeconfig', cp.kubeconfigPath]);
      await helm(['install', 'sg', CHART, '--set', 'operator.replicas=1', ...mode.values]);
      const kubeconfig = await cp.serviceAccountKubeconfig(NS, 'sg-sftpgate');
      port = await reservePort();
      // Exactly the container arguments of the chart's Deployment as installed, pointed at the test API server and a
      // loopback metrics port.
      const manifest = (await helm(['get', 'manifest', 'sg'])).stdout;
      const deployment = parseAllDocuments(manifest)
        .map(
          (d) =>
            d.toJS() as { kind?: string; spec?: { template: { spec: { containers: Array<{ args: string[] }> } } } },
        )
        .find((d) => d?.kind === 'Deployment');
      const chartArgs = deployment?.spec?.template.spec.containers[0]?.args ?? [];
      assert.ok(chartArgs.includes('--leader-elect'), 'the chart enables leader election');
      const args = chartArgs.map((a) => (a.startsWith('--metrics-listen=') ? `--metrics-listen=127.0.0.1:${port}` : a));
      operator = spawnManaged({
        name: 'operator',
        command: process.execPath,
        args: [join(ROOT, 'operator/bin/sftpgate-operator.js'), `--kubeconfig=${kubeconfig}`, ...args],
        env: { POD_NAMESPACE: NS, POD_NAME: 'sg-sftpgate-operator-test' },
        logFile: join(dir, 'operator.log'),
      });
      await waitUntil(
        'the operator to be ready',
        async () => (await httpGet(`http://127.0.0.1:${port}/readyz`)).status === 200,
        { timeoutMs: 90_000, intervalMs: 250, process: operator },
      );
    });

    after(async () => {
      await operator?.stop();
      await recorder?.close();
      await Promise.all([cp?.stop(), minio?.stop()]);
      if (dir) removeTempDir(dir);
      if (port) releasePorts([port]);
    });

    it('reconciles the examples with only the chart’s permissions', async () => {
      // The platform's part: credentials in the operator's namespace, the profile pointed at this MinIO.
      const secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'demo-s3-credentials', namespace: NS },
        stringData: { AWS_ACCESS_KEY_ID: operatorS3.accessKeyId, AWS_SECRET_ACCESS_KEY: operatorS3.secretAccessKey },
      };
      const profile = parseYaml(readFileSync(`${ROOT}examples/sftpstorageprofile.yaml`, 'utf8')) as {
        spec: { endpoint: string; bucket: string; root: string; namespaceSelector: unknown };
      };
      // Through the recorder, on a MinIO user holding only the operator's S3 policy for this bucket and root.
      profile.spec.endpoint = recorder.url;
      profile.spec.bucket = BUCKET;
      assert.equal(profile.spec.root, S3_ROOT);
      profile.spec.namespaceSelector = { matchLabels: { 'kubernetes.io/metadata.name': TENANT } };
      await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(profile) });
      const server = parseYaml(readFileSync(`${ROOT}examples/sftpserver.yaml`, 'utf8')) as { spec: object };
      // deletionPolicy Delete on both: their finalizers and the prefix purge run with the chart's permissions too.
      (server.spec as { deletionPolicy?: string }).deletionPolicy = 'Delete';
      const userObj = parseYaml(readFileSync(`${ROOT}examples/sftpuser.yaml`, 'utf8')) as {
        spec: Record<string, unknown>;
      };
      userObj.spec['deletionPolicy'] = 'Delete';
      const user = JSON.stringify(userObj);
      await cp.kubectl(['apply', '-n', NS, '-f', '-'], { input: JSON.stringify(secret) });
      await cp.kubectl(['apply', '-n', TENANT, '-f', '-'], { input: JSON.stringify(server) });
      await cp.kubectl(['apply', '-n', TENANT, '-f', '-'], { input: user });
      // The children the chart's rules must allow: Deployment, Service, ServiceAccount, PDB, NetworkPolicy, Role,
      // RoleBinding, host-key and users-table Secrets; and the user joining the table.
      const kinds = 'deployment,service,serviceaccount,poddisruptionbudget,networkpolicy,role,rolebinding,secret';
      try {
        await waitUntil(
          'the SftpServer children and a Ready SftpUser',
          async () => {
            const got = await cp.kubectl(['get', kinds, '-n', TENANT, '-l', 'sftpgate.io/server=demo', '-o', 'name'], {
              allowFailure: true,
            });
            const names = got.stdout;
            const user = await cp.kubectl(
              [
                'get',
                'sftpuser',
                'alice',
                '-n',
                TENANT,
                '-o',
                'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
              ],
              { allowFailure: true },
            );
            return (
              ['deployment.apps/', 'service/', 'poddisruptionbudget.policy/', 'networkpolicy.networking.k8s.io/'].every(
                (k) => names.includes(k),
              ) && user.stdout.trim() === 'True'
            );
          },
          { timeoutMs: 120_000, intervalMs: 500, process: running() },
        );
      } catch (err) {
        assert.fail(`${String(err)}\n--- operator log ---\n${operatorLog()}`);
      }
    });

    it('deletes them again (finalizers, cascading cleanup) with the same permissions', async () => {
      await cp.kubectl(['delete', 'sftpuser', 'alice', '-n', TENANT, '--wait=false']);
      await cp.kubectl(['delete', 'sftpserver', 'demo', '-n', TENANT, '--wait=false']);
      try {
        await waitUntil(
          'the SftpUser and SftpServer to be gone',
          async () => {
            const res = await cp.kubectl(['get', 'sftpusers,sftpservers', '-n', TENANT, '-o', 'name']);
            return res.stdout.trim() === '';
          },
          { timeoutMs: 120_000, intervalMs: 500, process: running() },
        );
      } catch (err) {
        assert.fail(`${String(err)}\n--- operator log ---\n${operatorLog()}`);
      }
    });

    it('every API call the operator made is granted by files/rbac-rules.yaml, and none was refused', async () => {
      const calls = apiCalls(await scrape());
      assert.ok(calls.length >= 10, `the operator made calls: ${JSON.stringify(calls)}`);
      const all = [
        ...rules.clusterRules,
        ...rules.platformRules,
        ...rules.operatorNamespaceRules,
        ...rules.leaderElectionRules,
      ];
      const notGranted = calls.filter(
        (c) =>
          !all.some((r) => r.resources.includes(c.resource) && rbacVerbs(c.verb).every((v) => r.verbs.includes(v))),
      );
      assert.deepEqual(notGranted, [], 'calls the chart does not allow');
      // For the record (and the reviewer of a new rule): which calls were observed.
      console.log(`operator API calls: ${calls.map((c) => `${c.verb} ${c.resource}`).join(', ')}`);
      assert.doesNotMatch(
        readFileSync(join(dir, 'operator.log'), 'utf8'),
        /\bforbidden\b/i,
        'the API server refused a call',
      );
    });

    it('every S3 call the operator made is allowed by its S3 policy (MinIO enforced it; the evaluator agrees)', () => {
      const calls = recorder.calls.filter((c) => c.accessKeyId === operatorS3.accessKeyId);
      const ops = [...new Set(calls.map((c) => c.operation))].sort();
      for (const op of ['GetBucketVersioning', 'PutBucketLifecycleConfiguration', 'PutObject', 'ListObjectVersions']) {
        assert.ok(ops.includes(op), `the operator ran ${op}: ${ops.join(', ')}`);
      }
      const problems = calls.flatMap((c) => [
        ...(c.status === 403 ? [`MinIO refused ${c.operation} ${c.url}`] : []),
        ...(c.operation.startsWith('Unknown') ? [`${c.operation}: not mapped`] : []),
        ...c.requests.filter((q) => !allowedByAll([s3Policy], q)).map((q) => `${q.action} ${q.resource}`),
      ]);
      assert.deepEqual(problems, []);
      assert.equal(recorder.calls.length, calls.length, 'every S3 call was the operator’s');
    });

    it(mode.scoped ? 'the grant is a Role in the watched namespace only' : 'the grant is cluster-wide', async () => {
      const clusterRole = await cp.kubectl(['get', 'clusterrole', 'sg-sftpgate-operator'], { allowFailure: true });
      assert.equal(clusterRole.code === 0, !mode.scoped);
      const kubeconfig = await cp.serviceAccountKubeconfig(NS, 'sg-sftpgate');
      const canI = async (args: string[]) =>
        (await cp.kubectl(['auth', 'can-i', ...args], { kubeconfig, allowFailure: true })).stdout.trim();
      assert.equal(await canI(['list', 'secrets', '-n', TENANT]), 'yes');
      assert.equal(await canI(['list', 'secrets', '-n', 'default']), mode.scoped ? 'no' : 'yes');
    });

    it('a tenant pod field the platform does not allow never reaches a Deployment; the server says why', async () => {
      // Runs after the "none was refused" check above: this refusal is the point here.
      const server = parseYaml(readFileSync(`${ROOT}examples/sftpserver.yaml`, 'utf8')) as {
        metadata: { name: string };
        spec: Record<string, unknown>;
      };
      // On the profile applied above; the operator derives servers/demo/tolerant.
      server.metadata.name = 'tolerant';
      // The control-plane toleration: how a tenant would schedule onto control-plane nodes.
      const toleration = { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' };
      server.spec['tolerations'] = [toleration];
      // The profile lets it through (spec.podTemplate): the chart's admission policy is the ceiling above profiles.
      const allow = { spec: { podTemplate: { allowedTolerations: [toleration] } } };
      await cp.kubectl(['patch', 'sftpstorageprofile', 'demo', '--type', 'merge', '-p', JSON.stringify(allow)]);
      await cp.kubectl(['apply', '-n', TENANT, '-f', '-'], { input: JSON.stringify(server) });
      let message = '';
      try {
        await waitUntil(
          'the SftpServer to report the refused Deployment',
          async () => {
            const got = await cp.kubectl(
              [
                'get',
                'sftpserver',
                'tolerant',
                '-n',
                TENANT,
                '-o',
                'jsonpath={.status.conditions[?(@.type=="Ready")]}',
              ],
              { allowFailure: true },
            );
            const ready = got.stdout ? (JSON.parse(got.stdout) as { status: string; message?: string }) : undefined;
            message = ready?.message ?? '';
            // The chart's policy, not the profile (whose refusal could come first while the patch propagates).
            return (
              ready?.status === 'False' && message.includes('allowedTolerations') && /denied request/.test(message)
            );
          },
          { timeoutMs: 60_000, intervalMs: 500, process: running() },
        );
      } catch (err) {
        assert.fail(`${String(err)}\nlast Ready message: ${message}\n--- operator log ---\n${operatorLog()}`);
      }
      assert.match(message, /denied request/);
      const deployment = await cp.kubectl(['get', 'deployment', 'tolerant-sftp', '-n', TENANT], { allowFailure: true });
      assert.notEqual(deployment.code, 0, 'no Deployment was created');
      await cp.kubectl(['delete', 'sftpserver', 'tolerant', '-n', TENANT, '--wait=false']);
    });

    it('every operator metric the dashboard and alerts query is in the live scrape', async () => {
      const used = [...dashboardMetricNames(), ...alertMetricNames()].filter((n) => n.startsWith('sftpgate_operator_'));
      assert.deepEqual(missingFromScrapes(new Set(used), [await scrape()]), []);
    });
  });
}
