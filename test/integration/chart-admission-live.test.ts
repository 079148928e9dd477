// The chart's admission policies against a real kube-apiserver, attacked with the operator's own ServiceAccount token:
// whoever holds that token may write the children the operator generates for an SftpServer (built here by the
// operator's own builders from an example server the API server defaulted) and nothing else — no other image, no
// privileged or host-reaching pod, no other ServiceAccount, no binding of any role but the sftp pods' Role to any
// subject but the pods' ServiceAccount, no token Secret, no change to objects it did not create. Tenant-settable pod
// fields pass only where the chart's allow-list (admissionPolicy.sftpPods) allows them. RBAC refusals (Pods,
// DaemonSets, ClusterRoleBindings, escalate/bind) are checked in the same table.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { SftpServer } from '../../operator/src/api/types.generated.ts';
import { locate } from '../../operator/src/controllers/placement.ts';
import {
  desiredDeployment,
  desiredNetworkPolicy,
  desiredPodDisruptionBudget,
  desiredService,
} from '../../operator/src/controllers/sftp-server/desired.ts';
import {
  desiredRole,
  desiredRoleBinding,
  desiredServiceAccount,
  desiredUsersSecret,
} from '../../operator/src/controllers/sftp-server/desired-access.ts';
import { profileFixture } from '../../operator/src/controllers/testing/fixtures.ts';
import { type ControlPlane, runCommand, startControlPlane, toolPath } from '../infra/index.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CHART = `${ROOT}charts/sftpgate`;
const NS = 'sftpgate-system';
const TENANT = 'demo';
const IMAGE = 'ghcr.io/sftpgate/sftpgate-sftp:9.9.9';

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> & { name: string } };
const clone = <T>(v: T): T => structuredClone(v);
const podSpec = (d: Obj) =>
  (d as unknown as { spec: { template: { spec: Record<string, unknown> } } }).spec.template.spec;
const podMeta = (d: Obj) =>
  (d as unknown as { spec: { template: { metadata: Record<string, Record<string, string>> } } }).spec.template.metadata;
/** Sets one pod-template annotation or label of a Deployment. */
const setPodMeta = (d: Obj, field: 'annotations' | 'labels', key: string, value: string) => {
  const m = podMeta(d);
  m[field] = { ...(m[field] ?? {}), [key]: value };
};
const container = (d: Obj) =>
  (podSpec(d)['containers'] as Array<Record<string, unknown>>)[0] as Record<string, unknown>;

describe('chart admission policies vs the operator ServiceAccount (real kube-apiserver)', () => {
  let cp: ControlPlane;
  let operatorKubeconfig: string;
  let server: SftpServer;
  const children: Record<string, Obj> = {};

  /** kubectl as the operator; resolves with the exit code and stderr. */
  const asOperator = (args: string[], obj?: unknown) =>
    cp.kubectl(args, {
      kubeconfig: operatorKubeconfig,
      allowFailure: true,
      ...(obj === undefined ? {} : { input: JSON.stringify(obj) }),
    });
  const create = (obj: unknown) => asOperator(['create', '-f', '-'], obj);

  before(async () => {
    cp = await startControlPlane();
    for (const ns of [NS, TENANT]) await cp.kubectl(['create', 'namespace', ns]);
    await runCommand(
      toolPath('helm'),
      [
        'install',
        'sg',
        CHART,
        '-n',
        NS,
        '--kubeconfig',
        cp.kubeconfigPath,
        '--set',
        'operator.replicas=1',
        '--set',
        'sftpImage.tag=9.9.9',
        '--set-json',
        'admissionPolicy.sftpPods={"allowedAnnotations":["example.com/*"],"allowedLabels":["team"],"allowedNodeSelectorKeys":["topology.kubernetes.io/zone"],"allowedTolerations":[{"key":"dedicated","operator":"Equal","value":"sftp","effect":"NoSchedule"}],"allowedPriorityClassNames":["sftp-high"]}',
      ],
      { timeoutMs: 180_000 },
    );
    operatorKubeconfig = await cp.serviceAccountKubeconfig(NS, 'sg-sftpgate');
    // A Role of the tenant's granting only what the operator itself holds (RBAC would let it bind that one).
    await cp.kubectl(['create', 'role', 'secret-reader', '-n', TENANT, '--verb=get', '--resource=secrets']);
    // The example server, defaulted by the API server (the operator reads it back the same way).
    const example = parseYaml(readFileSync(`${ROOT}examples/sftpserver.yaml`, 'utf8')) as SftpServer;
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/sftpservers.sftpgate.io']);
    await cp.kubectl(['apply', '-n', TENANT, '-f', '-'], { input: JSON.stringify(example) });
    server = JSON.parse(
      (await cp.kubectl(['get', 'sftpserver', example.metadata.name ?? '', '-n', TENANT, '-o', 'json'])).stdout,
    ) as SftpServer;
    const asObj = (o: unknown) => o as Obj;
    // Where the operator would place it on a platform profile (the env only; admission does not look at it).
    const placement = locate(profileFixture(), TENANT, server.metadata.name ?? '');
    Object.assign(children, {
      serviceAccount: asObj(desiredServiceAccount(server, placement)),
      role: asObj(desiredRole(server, 1)),
      roleBinding: asObj(desiredRoleBinding(server)),
      deployment: asObj(desiredDeployment(server, placement, { image: IMAGE }, 'digest')),
      service: asObj(desiredService(server)),
      pdb: asObj(desiredPodDisruptionBudget(server)),
      networkPolicy: JSON.parse(JSON.stringify(desiredNetworkPolicy(server)).replaceAll('"_from":', '"from":')) as Obj,
      usersSecret: asObj(desiredUsersSecret(server, { index: 0, content: '{"users":[]}', userCount: 0 })),
    });
  });

  after(async () => {
    await cp?.stop();
  });

  it('the API server has the policies and their bindings', async () => {
    const { stdout } = await cp.kubectl([
      'get',
      'validatingadmissionpolicies,validatingadmissionpolicybindings',
      '-o',
      'name',
    ]);
    for (const p of ['children', 'rbac', 'objects', 'workload']) {
      assert.match(
        stdout,
        new RegExp(`validatingadmissionpolicy.admissionregistration.k8s.io/sg-sftpgate-operator-${p}\\b`),
      );
      assert.match(
        stdout,
        new RegExp(`validatingadmissionpolicybinding.admissionregistration.k8s.io/sg-sftpgate-operator-${p}\\b`),
      );
    }
  });

  it('the children the operator generates are admitted, created and updated (server-side apply)', async () => {
    // As the operator writes them: server-side apply with its field manager (CREATE, then an UPDATE).
    const apply = (obj: unknown) => asOperator(['apply', '--server-side', '--field-manager=sftpgate', '-f', '-'], obj);
    for (const [name, obj] of Object.entries(children)) {
      const res = await apply(obj);
      assert.equal(res.code, 0, `${name}: ${res.stderr}`);
    }
    for (const [name, obj] of Object.entries(children)) {
      const changed = clone(obj);
      changed.metadata['labels'] = { ...((obj.metadata['labels'] as object) ?? {}), 'sftpgate.io/pass': '2' };
      const res = await apply(changed);
      assert.equal(res.code, 0, `${name} (update): ${res.stderr}`);
    }
  });

  /** A variant of a generated child under a fresh name; `mutate` edits it in place. */
  const variant = (base: keyof typeof children, name: string, mutate: (o: Obj) => void): Obj => {
    const o = clone(children[base] as Obj);
    o.metadata.name = name;
    if (base === 'deployment') podSpec(o)['serviceAccountName'] = name;
    if (base === 'roleBinding') {
      (o as unknown as { subjects: Array<{ name: string }> }).subjects[0] = {
        kind: 'ServiceAccount',
        name,
        namespace: TENANT,
      } as never;
    }
    mutate(o);
    return o;
  };

  const ALLOWED: Array<[string, () => Obj]> = [
    [
      'a toleration, annotation, label, zone selector and priority class the platform allows',
      () =>
        variant('deployment', 'allowed-sftp', (d) => {
          podSpec(d)['tolerations'] = [{ key: 'dedicated', operator: 'Equal', value: 'sftp', effect: 'NoSchedule' }];
          podSpec(d)['nodeSelector'] = { 'topology.kubernetes.io/zone': 'z1' };
          podSpec(d)['priorityClassName'] = 'sftp-high';
          setPodMeta(d, 'annotations', 'example.com/team', 'x');
          setPodMeta(d, 'labels', 'team', 'x');
        }),
    ],
  ];
  for (const [name, make] of ALLOWED) {
    it(`admitted: ${name}`, async () => {
      const res = await create(make());
      assert.equal(res.code, 0, res.stderr);
    });
  }

  // [case, object, what the refusal must say]
  const DENIED: Array<[string, () => Obj, RegExp]> = [
    [
      'a Deployment running another image',
      () => variant('deployment', 'img-sftp', (d) => (container(d)['image'] = 'busybox:1')),
      /may run only the sftp image/,
    ],
    [
      'a second (sidecar) container',
      () =>
        variant('deployment', 'two-sftp', (d) =>
          (podSpec(d)['containers'] as unknown[]).push({ ...container(d), name: 'side' }),
        ),
      /one container/,
    ],
    [
      'an init container',
      () =>
        variant(
          'deployment',
          'init-sftp',
          (d) =>
            (podSpec(d)['initContainers'] = [
              { name: 'init', image: 'busybox:1', securityContext: container(d)['securityContext'] },
            ]),
        ),
      /may run only the sftp image/,
    ],
    [
      'a privileged container',
      () =>
        variant('deployment', 'priv-sftp', (d) => {
          // The API server itself refuses privileged without privilege escalation.
          const sc = container(d)['securityContext'] as Record<string, unknown>;
          sc['privileged'] = true;
          sc['allowPrivilegeEscalation'] = true;
        }),
      /unprivileged/,
    ],
    [
      'an added capability',
      () =>
        variant(
          'deployment',
          'cap-sftp',
          (d) =>
            ((container(d)['securityContext'] as Record<string, unknown>)['capabilities'] = { add: ['NET_ADMIN'] }),
        ),
      /without added capabilities/,
    ],
    [
      'a hostPath volume',
      () =>
        variant('deployment', 'hostpath-sftp', (d) =>
          (podSpec(d)['volumes'] as unknown[]).push({ name: 'root', hostPath: { path: '/' } }),
        ),
      /no hostPath/,
    ],
    [
      'the host network',
      () => variant('deployment', 'hostnet-sftp', (d) => (podSpec(d)['hostNetwork'] = true)),
      /no host namespace/,
    ],
    [
      'a host port',
      () =>
        variant(
          'deployment',
          'hostport-sftp',
          (d) =>
            (((container(d)['ports'] as Array<Record<string, unknown>>)[0] as Record<string, unknown>)['hostPort'] =
              22),
        ),
      /host ports/,
    ],
    [
      'a pod pinned to a node (nodeName skips the scheduler and NoSchedule taints)',
      () => variant('deployment', 'node-sftp', (d) => (podSpec(d)['nodeName'] = 'control-plane-1')),
      /no nodeName/,
    ],
    [
      'an unconfined seccomp profile',
      () =>
        variant('deployment', 'seccomp-sftp', (d) => {
          (podSpec(d)['securityContext'] as Record<string, unknown>)['seccompProfile'] = { type: 'Unconfined' };
        }),
      /RuntimeDefault seccomp/,
    ],
    [
      'another runtime class',
      () => variant('deployment', 'rtc-sftp', (d) => (podSpec(d)['runtimeClassName'] = 'runc-privileged')),
      /no nodeName, runtime class/,
    ],
    [
      'another ServiceAccount (the namespace default)',
      () => variant('deployment', 'sa-sftp', (d) => (podSpec(d)['serviceAccountName'] = 'default')),
      /own ServiceAccount/,
    ],
    [
      'the control-plane toleration',
      () =>
        variant(
          'deployment',
          'tol-sftp',
          (d) =>
            (podSpec(d)['tolerations'] = [
              { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
            ]),
        ),
      /allowedTolerations/,
    ],
    [
      'a tolerate-everything toleration',
      () => variant('deployment', 'tolall-sftp', (d) => (podSpec(d)['tolerations'] = [{ operator: 'Exists' }])),
      /allowedTolerations/,
    ],
    [
      'a kube2iam role annotation',
      () => variant('deployment', 'ann-sftp', (d) => setPodMeta(d, 'annotations', 'iam.amazonaws.com/role', 'admin')),
      /iam\.amazonaws\.com\/role/,
    ],
    [
      'a label the platform does not allow',
      () => variant('deployment', 'lbl-sftp', (d) => setPodMeta(d, 'labels', 'azure.workload.identity/use', 'true')),
      /azure\.workload\.identity\/use/,
    ],
    [
      'a node selector on another key',
      () =>
        variant(
          'deployment',
          'ns-sftp',
          (d) => (podSpec(d)['nodeSelector'] = { 'node-role.kubernetes.io/control-plane': '' }),
        ),
      /allowedNodeSelectorKeys/,
    ],
    [
      'node affinity on another key',
      () =>
        variant(
          'deployment',
          'aff-sftp',
          (d) =>
            (podSpec(d)['affinity'] = {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [
                    { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['cp'] }] },
                  ],
                },
              },
            }),
        ),
      /node affinity/,
    ],
    [
      'the system-node-critical priority class',
      () => variant('deployment', 'prio-sftp', (d) => (podSpec(d)['priorityClassName'] = 'system-node-critical')),
      /system-node-critical is not in/,
    ],
    [
      'a workload not owned by an SftpServer',
      () => variant('deployment', 'orphan-sftp', (d) => delete d.metadata['ownerReferences']),
      /only children of an SftpServer/,
    ],
    [
      'a RoleBinding of the pod Role to the namespace default ServiceAccount',
      () =>
        variant(
          'roleBinding',
          'rb1-sftp',
          (o) =>
            ((o as unknown as { subjects: unknown[] }).subjects = [
              { kind: 'ServiceAccount', name: 'default', namespace: TENANT },
            ]),
        ),
      /may bind only/,
    ],
    [
      'a RoleBinding of the pod Role to a user',
      () =>
        variant(
          'roleBinding',
          'rb2-sftp',
          (o) =>
            ((o as unknown as { subjects: unknown[] }).subjects = [
              { kind: 'User', name: 'mallory', apiGroup: 'rbac.authorization.k8s.io' },
            ]),
        ),
      /may bind only/,
    ],
    [
      'a RoleBinding of another Role it holds',
      () =>
        variant(
          'roleBinding',
          'rb3-sftp',
          (o) => ((o as unknown as { roleRef: { name: string } }).roleRef.name = 'secret-reader'),
        ),
      /may bind only/,
    ],
    [
      'a RoleBinding of a ClusterRole',
      () =>
        variant(
          'roleBinding',
          'rb4-sftp',
          (o) =>
            ((o as unknown as { roleRef: unknown }).roleRef = {
              apiGroup: 'rbac.authorization.k8s.io',
              kind: 'ClusterRole',
              name: 'edit',
            }),
        ),
      /forbidden/,
    ],
    [
      'a Role granting Deployments (which the operator holds)',
      () =>
        variant(
          'role',
          'r1-sftp',
          (o) =>
            ((o as unknown as { rules: unknown[] }).rules = [
              { apiGroups: ['apps'], resources: ['deployments'], verbs: ['create'] },
            ]),
        ),
      /may write only the sftp pods' Role/,
    ],
    [
      'a Role reading every Secret (no resourceNames)',
      () =>
        variant(
          'role',
          'r2-sftp',
          (o) =>
            ((o as unknown as { rules: unknown[] }).rules = [
              { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
            ]),
        ),
      /may write only the sftp pods' Role/,
    ],
    [
      'a service-account-token Secret (mints a token for any ServiceAccount)',
      () =>
        variant('usersSecret', 'tok', (o) => {
          o['type'] = 'kubernetes.io/service-account-token';
          o.metadata['annotations'] = { 'kubernetes.io/service-account.name': 'default' };
          delete o['data'];
        }),
      /only Opaque Secrets/,
    ],
    [
      'an ExternalName Service',
      () =>
        variant(
          'service',
          'ext-sftp',
          (o) =>
            ((o as unknown as { spec: Record<string, unknown> }).spec = {
              type: 'ExternalName',
              externalName: 'kubernetes.default.svc',
            }),
        ),
      /only the sftp Service/,
    ],
    [
      'a Service with externalIPs',
      () =>
        variant(
          'service',
          'eip-sftp',
          (o) => ((o as unknown as { spec: Record<string, unknown> }).spec['externalIPs'] = ['10.0.0.99']),
        ),
      /only the sftp Service/,
    ],
    [
      'a Service selecting other pods',
      () =>
        variant(
          'service',
          'sel-sftp',
          (o) => ((o as unknown as { spec: Record<string, unknown> }).spec['selector'] = { app: 'database' }),
        ),
      /only the sftp Service/,
    ],
    [
      'a ServiceAccount with another annotation',
      () =>
        variant(
          'serviceAccount',
          'sa2-sftp',
          (o) => (o.metadata['annotations'] = { 'kubernetes.io/enforce-mountable-secrets': 'false' }),
        ),
      /only the sftp pods' ServiceAccount/,
    ],
    [
      'a NetworkPolicy isolating other pods',
      () =>
        variant(
          'networkPolicy',
          'np-sftp',
          (o) =>
            ((o as unknown as { spec: { podSelector: unknown } }).spec.podSelector = {
              matchLabels: { app: 'database' },
            }),
        ),
      /NetworkPolicies of sftp pods/,
    ],
    [
      'a PodDisruptionBudget over other pods',
      () =>
        variant(
          'pdb',
          'pdb-sftp',
          (o) =>
            ((o as unknown as { spec: { selector: unknown } }).spec.selector = { matchLabels: { app: 'database' } }),
        ),
      /PodDisruptionBudgets of sftp pods/,
    ],
  ];
  for (const [name, make, why] of DENIED) {
    it(`refused: ${name}`, async () => {
      const res = await create(make());
      assert.notEqual(res.code, 0, `${name} was admitted`);
      assert.match(res.stderr, why);
    });
  }

  it('objects the operator did not create are neither changed nor deleted by it', async () => {
    const foreign = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'tenant-tls', namespace: TENANT },
      stringData: { k: 'v' },
    };
    await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(foreign) });
    const changed = await asOperator([
      'patch',
      'secret',
      'tenant-tls',
      '-n',
      TENANT,
      '--type=merge',
      '-p',
      '{"stringData":{"k":"stolen"}}',
    ]);
    assert.notEqual(changed.code, 0);
    assert.match(changed.stderr, /only objects it created/);
    const deleted = await asOperator(['delete', 'secret', 'tenant-tls', '-n', TENANT]);
    assert.notEqual(deleted.code, 0);
    assert.match(deleted.stderr, /only objects it created/);
    // Relabelling first does not help: that is a change to an object it did not create.
    const relabel = await asOperator([
      'label',
      'secret',
      'tenant-tls',
      '-n',
      TENANT,
      'app.kubernetes.io/managed-by=sftpgate',
    ]);
    assert.notEqual(relabel.code, 0);
    // A Deployment of another application (created by an admin, who is not bound by the policies).
    const app = variant('deployment', 'app-sftp', (d) => {
      container(d)['image'] = 'busybox:1';
      delete d.metadata['labels'];
    });
    await cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(app) });
    // Deployments are never deleted by the operator (garbage collection follows the owner), so RBAC refuses first.
    const gone = await asOperator(['delete', 'deployment', 'app-sftp', '-n', TENANT]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /forbidden/);
  });

  it('RBAC refuses what the policies need not cover: Pods, other workload kinds, cluster bindings, escalate, bind', async () => {
    const canI = async (args: string[]) =>
      (
        await cp.kubectl(['auth', 'can-i', ...args], { kubeconfig: operatorKubeconfig, allowFailure: true })
      ).stdout.trim();
    const table: Array<[string, string[]]> = [
      ['create Pods', ['create', 'pods', '-n', TENANT]],
      ['create DaemonSets', ['create', 'daemonsets.apps', '-n', TENANT]],
      ['create StatefulSets', ['create', 'statefulsets.apps', '-n', TENANT]],
      ['create Jobs', ['create', 'jobs.batch', '-n', TENANT]],
      ['create CronJobs', ['create', 'cronjobs.batch', '-n', TENANT]],
      ['update Deployments (only server-side apply)', ['update', 'deployments.apps', '-n', TENANT]],
      ['create ClusterRoleBindings', ['create', 'clusterrolebindings.rbac.authorization.k8s.io']],
      ['create ClusterRoles', ['create', 'clusterroles.rbac.authorization.k8s.io']],
      ['escalate Roles', ['escalate', 'roles.rbac.authorization.k8s.io', '-n', TENANT]],
      ['bind Roles', ['bind', 'roles.rbac.authorization.k8s.io', '-n', TENANT]],
      ['bind ClusterRoles', ['bind', 'clusterroles.rbac.authorization.k8s.io']],
      ['impersonate', ['impersonate', 'serviceaccounts', '-n', TENANT]],
      ['create ServiceAccount tokens', ['create', 'serviceaccounts', '--subresource=token', '-n', TENANT]],
      ['write admission policies', ['delete', 'validatingadmissionpolicybindings.admissionregistration.k8s.io']],
      ['delete Services', ['delete', 'services', '-n', TENANT]],
    ];
    for (const [name, args] of table) assert.equal(await canI(args), 'no', name);
  });

  it('the policies bind only the operator: an admin may still create any Deployment', async () => {
    const admin = variant('deployment', 'admin-sftp', (d) => (container(d)['image'] = 'busybox:1'));
    const res = await cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(admin), allowFailure: true });
    assert.equal(res.code, 0, res.stderr);
  });
});
