// The Helm chart against real helm and a real kube-apiserver: lint, render (defaults and every value set), apply with
// --dry-run=server (with the prometheus-operator CRDs installed and Pod Security "restricted" enforced), the schema
// refusing typos, a real install/upgrade/uninstall, the operator's RBAC exercised with its own ServiceAccount token,
// and the examples applied against the chart's CRDs.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { type ControlPlane, runCommand, startControlPlane, toolPath, waitUntil } from '../infra/index.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CHART = `${ROOT}charts/sftpgate`;
const ALL_VALUES = `${ROOT}test/fixtures/chart/all-values.yaml`;
const NS = 'sftpgate-system';
const RELEASE = 'sg';
/** The ServiceAccount the default values create for release "sg". */
const OPERATOR_SA = 'sg-sftpgate';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [key: string]: unknown;
}

function docs(yamlText: string): K8sObject[] {
  return parseAllDocuments(yamlText)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((d): d is K8sObject => d !== null);
}

/** Leaf paths of a values tree; an empty map or list counts as a leaf (it is a key the user can set). */
function leafPaths(node: unknown, prefix = ''): string[] {
  if (node && typeof node === 'object' && !Array.isArray(node) && Object.keys(node).length > 0) {
    return Object.entries(node).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

describe('helm chart (real helm, real kube-apiserver)', () => {
  const helmBin = toolPath('helm');
  let cp: ControlPlane;

  const helm = (args: readonly string[], opts: { allowFailure?: boolean; input?: string } = {}) =>
    runCommand(helmBin, [...args, '--kubeconfig', cp.kubeconfigPath], { timeoutMs: 180_000, ...opts });
  const template = async (...extra: string[]) =>
    (await helm(['template', RELEASE, CHART, '--namespace', NS, ...extra])).stdout;
  const dryRun = (manifest: string) =>
    cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: manifest, allowFailure: true });

  before(async () => {
    cp = await startControlPlane();
    // The prometheus-operator CRDs (cached by the fetch script from the pinned Go module; instant when warm).
    const { stdout } = await runCommand('bash', [`${CHART}/hack/fetch-monitoring-crds.sh`], { timeoutMs: 600_000 });
    const crdDir = stdout.trim().split('\n').at(-1) ?? '';
    for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml'))) {
      await cp.kubectl(['create', '-f', `${crdDir}/${file}`]);
    }
    await cp.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/servicemonitors.monitoring.coreos.com',
      'crd/podmonitors.monitoring.coreos.com',
      'crd/prometheusrules.monitoring.coreos.com',
    ]);
    for (const ns of [NS, 'monitoring', 'tenant-a', 'tenant-b', 'demo']) await cp.kubectl(['create', 'namespace', ns]);
    // Enforce and warn on Pod Security "restricted" where the operator runs: the API server then reports any
    // Deployment whose pod template would violate it.
    await cp.kubectl([
      'label',
      'namespace',
      NS,
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/warn=restricted',
    ]);
  });

  after(async () => {
    await cp?.stop();
  });

  it('helm lint passes with the defaults and with every value set', async () => {
    await helm(['lint', CHART, '--strict']);
    await helm(['lint', CHART, '--strict', '-f', ALL_VALUES]);
  });

  it('the all-values fixture sets every key of values.yaml', () => {
    const defaults = leafPaths(parseYaml(readFileSync(`${CHART}/values.yaml`, 'utf8')));
    const all = new Set(leafPaths(parseYaml(readFileSync(ALL_VALUES, 'utf8'))));
    const isSet = (p: string) => all.has(p) || [...all].some((a) => a.startsWith(`${p}.`));
    assert.deepEqual(
      defaults.filter((p) => !isSet(p)),
      [],
    );
    assert.ok(defaults.length > 60, `found ${defaults.length} keys`);
  });

  it('the defaults render and pass --dry-run=server under Pod Security "restricted"', async () => {
    const manifest = await template();
    const kinds = docs(manifest)
      .map((d) => d.kind)
      .sort();
    assert.deepEqual(kinds, [
      // The operator's rules, and the platform rules over cluster-scoped profiles and namespaces.
      ...Array(2).fill('ClusterRole'),
      ...Array(2).fill('ClusterRoleBinding'),
      ...Array(3).fill('CustomResourceDefinition'),
      'Deployment',
      'PodDisruptionBudget',
      // Leader election, and reading the profiles' credentials in the operator's namespace.
      ...Array(2).fill('Role'),
      ...Array(2).fill('RoleBinding'),
      'Service',
      'ServiceAccount',
      // The four admission policies bounding the operator's writes, and their bindings.
      ...Array(4).fill('ValidatingAdmissionPolicy'),
      ...Array(4).fill('ValidatingAdmissionPolicyBinding'),
    ]);
    const res = await dryRun(manifest);
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stderr, /PodSecurity|violate/i);
    assert.match(res.stdout, /deployment.apps\/sg-sftpgate-operator created \(server dry run\)/);
    // The check is not vacuous: a pod template that breaks "restricted" is reported by the API server.
    const bad = await dryRun(await template('--set', 'operator.securityContext.allowPrivilegeEscalation=true'));
    assert.match(bad.stderr, /would violate PodSecurity "restricted.*allowPrivilegeEscalation/s);
    const deploy = docs(manifest).find((d) => d.kind === 'Deployment') as unknown as {
      spec: { replicas: number; template: { spec: { containers: Array<{ image: string; args: string[] }> } } };
    };
    assert.equal(deploy.spec.replicas, 2);
    const [container] = deploy.spec.template.spec.containers;
    assert.ok(container);
    const chart = parseYaml(readFileSync(`${CHART}/Chart.yaml`, 'utf8')) as { appVersion: string };
    assert.equal(container.image, `ghcr.io/sftpgate/sftpgate-operator:${chart.appVersion}`);
    assert.ok(container.args.includes('--leader-elect'));
    assert.ok(container.args.includes(`--sftp-image=ghcr.io/sftpgate/sftpgate-sftp:${chart.appVersion}`));
  });

  it('every value set renders and passes --dry-run=server, monitoring objects included', async () => {
    const manifest = await template('-f', ALL_VALUES);
    const objs = docs(manifest);
    const kinds = new Set(objs.map((d) => d.kind));
    for (const k of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule', 'ConfigMap']) assert.ok(kinds.has(k), k);
    const res = await dryRun(manifest);
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stderr, /PodSecurity|violate/i);

    // The PrometheusRule: the disabled alert is gone, runbook URLs point at the configured base.
    const rule = objs.find((d) => d.kind === 'PrometheusRule') as unknown as {
      spec: { groups: Array<{ rules: Array<{ alert: string; annotations: Record<string, string> }> }> };
    };
    const rules = rule.spec.groups.flatMap((g) => g.rules);
    assert.ok(!rules.some((r) => r.alert === 'SftpgateDefenderBans'));
    assert.ok(rules.length >= 12);
    for (const r of rules) {
      assert.equal(r.annotations['runbook_url'], `https://wiki.example.com/sftpgate/runbooks#${r.alert.toLowerCase()}`);
    }
    // The dashboard ConfigMap carries the committed JSON verbatim, labelled for the Grafana sidecar.
    const cm = objs.find((d) => d.kind === 'ConfigMap') as unknown as {
      metadata: { namespace: string; labels: Record<string, string> };
      data: Record<string, string>;
    };
    assert.equal(cm.metadata.namespace, 'monitoring');
    assert.equal(cm.metadata.labels['grafana_dashboard'], '1');
    assert.equal(cm.data['sftpgate.json'], readFileSync(`${CHART}/dashboards/sftpgate.json`, 'utf8').trimEnd());
    // The PodMonitor copies the configured pod label into `server`.
    const pm = objs.find((d) => d.kind === 'PodMonitor') as unknown as {
      spec: { podMetricsEndpoints: Array<{ relabelings: Array<{ sourceLabels: string[]; targetLabel: string }> }> };
    };
    assert.deepEqual(pm.spec.podMetricsEndpoints[0]?.relabelings[0], {
      sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_instance'],
      targetLabel: 'server',
      action: 'replace',
    });
  });

  it('the schema rejects a misspelled key and a wrong type, before anything is rendered', async () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['misspelled key', ['--set', 'operator.replicaz=3'], /additional properties 'replicaz' not allowed/],
      [
        'misspelled nested key',
        ['--set', 'monitoring.serviceMonitor.enable=true'],
        /additional properties 'enable' not allowed/,
      ],
      ['wrong type', ['--set', 'operator.replicas=two'], /operator\/replicas.*got string, want integer/],
      ['bad enum', ['--set', 'operator.logLevel=verbose'], /logLevel/],
      ['unknown top-level key', ['--set', 'crd.enabled=false'], /additional properties 'crd' not allowed/],
    ];
    for (const [name, args, message] of cases) {
      const res = await helm(['template', RELEASE, CHART, ...args], { allowFailure: true });
      assert.notEqual(res.code, 0, name);
      assert.match(res.stderr, message, name);
    }
    // Same for install: nothing reaches the cluster.
    const res = await helm(['install', 'typo', CHART, '-n', NS, '--set', 'operator.replicaz=3'], {
      allowFailure: true,
    });
    assert.notEqual(res.code, 0);
    const releases = await helm(['list', '-A', '-q']);
    assert.doesNotMatch(releases.stdout, /typo/);
  });

  it('helm install creates the CRDs, the operator and exactly the RBAC rules of files/rbac-rules.yaml', async () => {
    const installed = await helm(['install', RELEASE, CHART, '-n', NS]);
    // NOTES.txt tells what to do next.
    assert.match(installed.stdout, /sftpgate \S+ is installed in namespace sftpgate-system/);
    assert.match(installed.stdout, /kubectl apply -n <ns> -f examples\/sftpuser.yaml/);
    assert.match(installed.stdout, /helm uninstall` keeps the CRDs/);
    for (const crd of ['sftpservers.sftpgate.io', 'sftpusers.sftpgate.io', 'sftpstorageprofiles.sftpgate.io']) {
      await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${crd}`]);
      const { stdout } = await cp.kubectl(['get', 'crd', crd, '-o', 'json']);
      const obj = JSON.parse(stdout) as K8sObject;
      assert.equal(obj.metadata.annotations?.['helm.sh/resource-policy'], 'keep', `${crd} kept on uninstall`);
    }
    const rules = parseYaml(readFileSync(`${CHART}/files/rbac-rules.yaml`, 'utf8')) as {
      clusterRules: unknown[];
      platformRules: unknown[];
      leaderElectionRules: unknown[];
    };
    const platform = JSON.parse(
      (await cp.kubectl(['get', 'clusterrole', 'sg-sftpgate-operator-platform', '-o', 'json'])).stdout,
    ) as { rules: unknown[] };
    assert.deepEqual(platform.rules, rules.platformRules);
    const cr = JSON.parse((await cp.kubectl(['get', 'clusterrole', 'sg-sftpgate-operator', '-o', 'json'])).stdout) as {
      rules: unknown[];
    };
    assert.deepEqual(cr.rules, rules.clusterRules);
    const role = JSON.parse(
      (await cp.kubectl(['get', 'role', 'sg-sftpgate-leader-election', '-n', NS, '-o', 'json'])).stdout,
    ) as { rules: unknown[] };
    assert.deepEqual(role.rules, rules.leaderElectionRules);
  });

  it("the operator's own ServiceAccount can do what it needs and nothing more (real RBAC, token auth)", async () => {
    const kubeconfig = await cp.serviceAccountKubeconfig(NS, OPERATOR_SA);
    const canI = async (args: string[]) =>
      (await cp.kubectl(['auth', 'can-i', ...args], { kubeconfig, allowFailure: true })).stdout.trim();
    const table: Array<[string, string[], 'yes' | 'no']> = [
      ['watch SftpUsers anywhere', ['watch', 'sftpusers.sftpgate.io', '-A'], 'yes'],
      ['patch SftpServer status', ['patch', 'sftpservers.sftpgate.io', '--subresource=status', '-n', 'demo'], 'yes'],
      ['create SftpUsers (only users do)', ['create', 'sftpusers.sftpgate.io', '-n', 'demo'], 'no'],
      ['delete SftpServers (only users do)', ['delete', 'sftpservers.sftpgate.io', '-n', 'demo'], 'no'],
      ['create Deployments', ['create', 'deployments.apps', '-n', 'demo'], 'yes'],
      ['delete Secrets', ['delete', 'secrets', '-n', 'demo'], 'yes'],
      ['create NetworkPolicies', ['create', 'networkpolicies.networking.k8s.io', '-n', 'demo'], 'yes'],
      ['create PodDisruptionBudgets', ['create', 'poddisruptionbudgets.policy', '-n', 'demo'], 'yes'],
      ['create events', ['create', 'events', '-n', 'demo'], 'yes'],
      ['update the Lease in its namespace', ['update', 'leases.coordination.k8s.io', '-n', NS], 'yes'],
      ['touch Leases elsewhere', ['update', 'leases.coordination.k8s.io', '-n', 'demo'], 'no'],
      ['read SftpStorageProfiles', ['watch', 'sftpstorageprofiles.sftpgate.io'], 'yes'],
      ['create SftpStorageProfiles (only the platform does)', ['create', 'sftpstorageprofiles.sftpgate.io'], 'no'],
      ['delete SftpStorageProfiles', ['delete', 'sftpstorageprofiles.sftpgate.io'], 'no'],
      ['read Namespaces (profiles select on their labels)', ['list', 'namespaces'], 'yes'],
      ['label Namespaces', ['patch', 'namespaces'], 'no'],
      ['read Pods', ['get', 'pods', '-n', 'demo'], 'no'],
      ['exec into Pods', ['create', 'pods/exec', '-n', 'demo'], 'no'],
      ['touch ConfigMaps', ['get', 'configmaps', '-n', 'demo'], 'no'],
      ['delete CRDs', ['delete', 'customresourcedefinitions.apiextensions.k8s.io'], 'no'],
      ['bind ClusterRoles', ['create', 'clusterrolebindings.rbac.authorization.k8s.io'], 'no'],
      ['escalate', ['escalate', 'roles.rbac.authorization.k8s.io', '-n', 'demo'], 'no'],
    ];
    for (const [name, args, want] of table) assert.equal(await canI(args), want, name);

    // The RBAC escalation rule, for real: the operator may create the sftp pods' Role (secrets get/watch by name)
    // because it holds those permissions itself, and may not create a Role granting anything it lacks.
    const podRole = (name: string, resource: string) =>
      JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        // Labelled and owned like the operator's own children: the chart's admission policies admit nothing else.
        metadata: {
          name,
          namespace: 'demo',
          labels: { 'app.kubernetes.io/managed-by': 'sftpgate' },
          ownerReferences: [
            {
              apiVersion: 'sftpgate.io/v1alpha1',
              kind: 'SftpServer',
              name: 'demo',
              uid: '00000000-0000-4000-8000-000000000001',
            },
          ],
        },
        rules: [
          { apiGroups: [''], resources: [resource], resourceNames: ['demo-users-0'], verbs: ['get', 'list', 'watch'] },
        ],
      });
    await cp.kubectl(['create', '-f', '-'], { kubeconfig, input: podRole('demo-sftp', 'secrets') });
    const denied = await cp.kubectl(['create', '-f', '-'], {
      kubeconfig,
      input: podRole('too-much', 'pods'),
      allowFailure: true,
    });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /forbidden.*attempting to grant RBAC permissions not currently held/s);
    await cp.kubectl(['delete', 'role', 'demo-sftp', '-n', 'demo']);
  });

  it('helm upgrade applies changed values (replicas, monitoring on)', async () => {
    await helm([
      'upgrade',
      RELEASE,
      CHART,
      '-n',
      NS,
      '--set',
      'operator.replicas=3',
      '--set',
      'monitoring.serviceMonitor.enabled=true',
      '--set',
      'monitoring.podMonitor.enabled=true',
      '--set',
      'monitoring.prometheusRule.enabled=true',
      '--set',
      'monitoring.dashboard.enabled=true',
    ]);
    const { stdout } = await cp.kubectl(['get', 'deployment', 'sg-sftpgate-operator', '-n', NS, '-o', 'json']);
    assert.equal((JSON.parse(stdout) as { spec: { replicas: number } }).spec.replicas, 3);
    for (const kind of ['servicemonitor', 'podmonitor', 'prometheusrule', 'configmap']) {
      const res = await cp.kubectl(['get', kind, '-n', NS, '-l', 'app.kubernetes.io/managed-by=Helm', '-o', 'name']);
      assert.ok(res.stdout.trim().length > 0, `${kind} created by the upgrade`);
    }
    const history = await helm(['history', RELEASE, '-n', NS, '-o', 'json']);
    assert.equal((JSON.parse(history.stdout) as unknown[]).length, 2);
  });

  it('the examples apply against the installed CRDs', async () => {
    const dir = `${ROOT}examples`;
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    assert.ok(files.length > 0);
    // The platform's objects first (credentials in the operator's namespace, cluster-scoped profiles), then servers,
    // then users (users reference servers by name only; order is for readability).
    const platform = (f: string) => f.startsWith('s3-') || f.startsWith('sftpstorageprofile');
    const rank = (f: string) => (platform(f) ? 0 : f.startsWith('sftpserver') ? 1 : 2);
    for (const f of files.sort((a, b) => rank(a) - rank(b))) {
      const where = platform(f) ? [] : ['-n', 'demo'];
      const res = await cp.kubectl(['apply', ...where, '-f', `${dir}/${f}`], { allowFailure: true });
      assert.equal(res.code, 0, `${f}: ${res.stderr}`);
    }
    const { stdout } = await cp.kubectl(['get', 'sftpservers,sftpusers', '-n', 'demo', '-o', 'name']);
    const names = stdout.trim().split('\n');
    assert.ok(names.some((n) => n.startsWith('sftpserver.sftpgate.io/')));
    assert.ok(names.some((n) => n.startsWith('sftpuser.sftpgate.io/')));
  });

  it('helm uninstall keeps the CRDs (and every SftpServer/SftpUser) with crds.keep, removes them without', async () => {
    await helm(['uninstall', RELEASE, '-n', NS]);
    await cp.kubectl(['get', 'crd', 'sftpservers.sftpgate.io', 'sftpusers.sftpgate.io']);
    const left = await cp.kubectl(['get', 'sftpservers', '-n', 'demo', '-o', 'name']);
    assert.ok(left.stdout.trim().length > 0, 'the SftpServers survive the uninstall');
    const gone = await cp.kubectl(['get', 'deployment', 'sg-sftpgate-operator', '-n', NS], { allowFailure: true });
    assert.notEqual(gone.code, 0);

    // Reinstall under the same name (it adopts the kept CRDs), then uninstall with crds.keep=false.
    const again = await helm(['install', RELEASE, CHART, '-n', NS, '--set', 'crds.keep=false']);
    assert.doesNotMatch(again.stdout, /keeps the CRDs/);
    await helm(['uninstall', RELEASE, '-n', NS]);
    await waitUntil(
      'the SftpServer CRD to be deleted',
      async () => {
        const res = await cp.kubectl(['get', 'crd', 'sftpservers.sftpgate.io'], { allowFailure: true });
        return res.code !== 0;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  });
});
