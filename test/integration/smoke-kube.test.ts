// Smoke tests of the test control plane: the machine's kubectl, CRD structural schemas and CEL rules enforced by the
// real apiserver, RBAC for a ServiceAccount token, and the controller-manager's garbage collector.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { type ControlPlane, startControlPlane, waitUntil } from '../infra/index.ts';

const CRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.smoke.sftpgate.io
spec:
  group: smoke.sftpgate.io
  scope: Namespaced
  names: { kind: Widget, plural: widgets, singular: widget, listKind: WidgetList }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              x-kubernetes-validations:
                - rule: "self.minReplicas <= self.maxReplicas"
                  message: "minReplicas must not exceed maxReplicas"
              properties:
                size: { type: integer, minimum: 1 }
                minReplicas: { type: integer, default: 1 }
                maxReplicas: { type: integer, default: 3 }
`;

function widget(name: string, spec: string): string {
  return `apiVersion: smoke.sftpgate.io/v1\nkind: Widget\nmetadata: { name: ${name}, namespace: default }\nspec: ${spec}\n`;
}

let cp: ControlPlane;

before(async () => {
  cp = await startControlPlane({ controllerManager: true });
  await cp.kubectl(['apply', '-f', '-'], { input: CRD });
  await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/widgets.smoke.sftpgate.io']);
});
after(() => cp?.stop());

async function widgetExists(name: string): Promise<boolean> {
  const res = await cp.kubectl(['get', 'widget', name, '-n', 'default', '--ignore-not-found', '-o', 'name'], {});
  return res.stdout.trim() !== '';
}

describe('control plane smoke', () => {
  it('kubectl applies a custom resource and reads it back, with schema defaults', async () => {
    const applied = await cp.kubectl(['apply', '-f', '-'], { input: widget('small', '{ size: 2 }') });
    assert.match(applied.stdout, /widget\.smoke\.sftpgate\.io\/small created/);
    const got = JSON.parse((await cp.kubectl(['get', 'widget', 'small', '-n', 'default', '-o', 'json'])).stdout);
    assert.deepEqual(got.spec, { size: 2, minReplicas: 1, maxReplicas: 3 });
    const table = await cp.kubectl(['get', 'widgets', '-n', 'default']);
    assert.match(table.stdout, /^small\s/m);
  });

  const refused = [
    {
      name: 'a type violation',
      spec: '{ size: "big" }',
      message: /spec\.size: Invalid value: "string": spec\.size in body must be of type integer/,
    },
    {
      name: 'a minimum violation',
      spec: '{ size: 0 }',
      message: /spec\.size in body should be greater than or equal to 1/,
    },
    { name: 'a missing required field', spec: '{ minReplicas: 1 }', message: /spec\.size: Required value/ },
    {
      name: 'a CEL rule violation',
      spec: '{ size: 1, minReplicas: 5, maxReplicas: 2 }',
      message: /minReplicas must not exceed maxReplicas/,
    },
  ];
  for (const [i, c] of refused.entries()) {
    it(`the apiserver refuses ${c.name}, and stores nothing`, async () => {
      const name = `refused-${i}`;
      const res = await cp.kubectl(['apply', '-f', '-'], { input: widget(name, c.spec), allowFailure: true });
      assert.notEqual(res.code, 0);
      assert.match(res.stderr, /is invalid/);
      assert.match(res.stderr, c.message);
      assert.equal(await widgetExists(name), false);
    });
  }

  it('a ServiceAccount token with a narrow Role is refused outside it (403)', async () => {
    await cp.kubectl(['apply', '-f', '-'], {
      input: `
apiVersion: v1
kind: Namespace
metadata: { name: team-a }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: reader, namespace: team-a }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: settings, namespace: team-a }
data: { colour: blue }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: configmap-reader, namespace: team-a }
rules:
  - { apiGroups: [""], resources: [configmaps], verbs: [get, list] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: reader, namespace: team-a }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmap-reader }
subjects:
  - { kind: ServiceAccount, name: reader, namespace: team-a }
`,
    });
    const kubeconfig = await cp.serviceAccountKubeconfig('team-a', 'reader');
    // Inside the Role: allowed.
    const allowed = await cp.kubectl(
      ['get', 'configmap', 'settings', '-n', 'team-a', '-o', 'jsonpath={.data.colour}'],
      {
        kubeconfig,
      },
    );
    assert.equal(allowed.stdout, 'blue');
    // Outside it: another resource, another verb, another namespace.
    for (const args of [
      ['get', 'secrets', '-n', 'team-a'],
      ['delete', 'configmap', 'settings', '-n', 'team-a'],
      ['get', 'configmaps', '-n', 'default'],
    ]) {
      const res = await cp.kubectl(args, { kubeconfig, allowFailure: true });
      assert.notEqual(res.code, 0, args.join(' '));
      assert.match(res.stderr, /Forbidden.*User "system:serviceaccount:team-a:reader" cannot/, args.join(' '));
    }
    // The refused delete had no effect.
    assert.match((await cp.kubectl(['get', 'configmap', 'settings', '-n', 'team-a', '-o', 'name'])).stdout, /settings/);

    // The same through client-node: the status code is 403.
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const cm = await core.readNamespacedConfigMap({ name: 'settings', namespace: 'team-a' });
    assert.equal(cm.data?.['colour'], 'blue');
    await assert.rejects(core.listNamespacedSecret({ namespace: 'team-a' }), (err) => {
      assert.ok(err instanceof ApiException, String(err));
      assert.equal(err.code, 403);
      return true;
    });
  });

  it('the garbage collector deletes a child whose owner was deleted', async () => {
    const core = cp.kubeConfig().makeApiClient(CoreV1Api);
    const parent = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'parent' } },
    });
    assert.ok(parent.metadata?.uid);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: {
        metadata: {
          name: 'child',
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'parent', uid: parent.metadata.uid }],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ name: 'parent', namespace: 'default' });
    await waitUntil(
      'child garbage-collected',
      async () => {
        try {
          await core.readNamespacedConfigMap({ name: 'child', namespace: 'default' });
          return false;
        } catch (err) {
          if (err instanceof ApiException && err.code === 404) return true;
          throw err;
        }
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  });

  it('keeps its data across an apiserver restart', async () => {
    await cp.restartApiServer();
    const got = JSON.parse((await cp.kubectl(['get', 'widget', 'small', '-n', 'default', '-o', 'json'])).stdout);
    assert.equal(got.spec.size, 2);
  });
});
