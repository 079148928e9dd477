// Generates charts/sftpgate/values.schema.json. Kept as code because the schema repeats shapes (images, probes,
// label maps, resource lists) that are easier to get right once than 40 times by hand; the JSON is committed (Helm
// reads it) and test/integration/chart-files.test.ts fails when it drifts from this file.
//
// Strict by design: every object schema forbids unknown keys, so a misspelled value fails `helm install`. The only
// free-form objects are Kubernetes pass-through fields (affinity, tolerations, topologySpreadConstraints, an env
// var's valueFrom), which the API server validates on apply.
//
// Run: `node charts/sftpgate/hack/values-schema.ts` (then `biome format --write charts/sftpgate/values.schema.json`).

import { writeFileSync } from 'node:fs';

export const SCHEMA_PATH = new URL('../values.schema.json', import.meta.url).pathname;

type S = Record<string, unknown>;
const str = (extra: S = {}): S => ({ type: 'string', ...extra });
const bool: S = { type: 'boolean' };
const strMap: S = { type: 'object', additionalProperties: { type: 'string' } };
const obj = (properties: Record<string, S>, required?: string[]): S => ({
  type: 'object',
  additionalProperties: false,
  properties,
  ...(required ? { required } : {}),
});
const quantity: S = {
  anyOf: [
    { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$' },
    { type: 'number', minimum: 0 },
  ],
};
const resList: S = obj({ cpu: quantity, memory: quantity, 'ephemeral-storage': quantity });
const duration = str({ pattern: '^([0-9]+(ms|s|m|h))+$' });
const posInt: S = { type: 'integer', minimum: 1 };
const k8sObjArray = { type: 'array', items: { type: 'object' } };
const probe: S = obj({ periodSeconds: posInt, failureThreshold: posInt, timeoutSeconds: posInt });
const image = (withPull: boolean): S =>
  obj(
    {
      repository: str({ minLength: 1 }),
      tag: str({ pattern: '^$|^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$' }),
      digest: str({ pattern: '^$|^sha256:[a-f0-9]{64}$' }),
      pullPolicy: { enum: withPull ? ['Always', 'IfNotPresent', 'Never'] : ['', 'Always', 'IfNotPresent', 'Never'] },
    },
    ['repository'],
  );
const seccomp: S = obj({ type: { enum: ['RuntimeDefault', 'Localhost', 'Unconfined'] }, localhostProfile: str() }, [
  'type',
]);
const labelsOnly = strMap;
/** The schema object. */
export const schema: S = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'sftpgate chart values',
  description:
    'Strict: every object rejects unknown keys, so a misspelled value fails the install. Kubernetes pass-through fields (affinity, tolerations, topologySpreadConstraints, an env var valueFrom) are checked by the API server.',
  ...obj({
    nameOverride: str({ pattern: '^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 40 }),
    fullnameOverride: str({ pattern: '^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 52 }),
    commonLabels: strMap,
    crds: obj({ enabled: bool, keep: bool }),
    image: image(true),
    sftpImage: image(false),
    imagePullSecrets: { type: 'array', items: obj({ name: str({ minLength: 1 }) }, ['name']) },
    operator: obj({
      replicas: { type: 'integer', minimum: 0 },
      leaderElection: obj({ enabled: bool }),
      watchNamespaces: {
        type: 'array',
        uniqueItems: true,
        items: str({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 }),
      },
      metricsPort: { type: 'integer', minimum: 1024, maximum: 65535 },
      workers: { type: 'integer', minimum: 1, maximum: 64 },
      logLevel: { enum: ['debug', 'info', 'warn', 'error'] },
      extraArgs: { type: 'array', items: { type: 'string' } },
      extraEnv: {
        type: 'array',
        items: obj({ name: str({ minLength: 1 }), value: str(), valueFrom: { type: 'object' } }, ['name']),
      },
      resources: obj({ requests: resList, limits: resList }),
      nodeSelector: strMap,
      tolerations: k8sObjArray,
      affinity: { type: 'object' },
      topologySpreadConstraints: k8sObjArray,
      priorityClassName: str(),
      podAnnotations: strMap,
      podLabels: strMap,
      terminationGracePeriodSeconds: { type: 'integer', minimum: 0 },
      podDisruptionBudget: obj({
        enabled: bool,
        minAvailable: { anyOf: [{ type: 'integer', minimum: 0 }, str({ pattern: '^[0-9]+%$' })] },
      }),
      podSecurityContext: obj({
        runAsNonRoot: bool,
        runAsUser: { type: 'integer', minimum: 0 },
        runAsGroup: { type: 'integer', minimum: 0 },
        fsGroup: { type: 'integer', minimum: 0 },
        fsGroupChangePolicy: { enum: ['Always', 'OnRootMismatch'] },
        supplementalGroups: { type: 'array', items: { type: 'integer', minimum: 0 } },
        seccompProfile: seccomp,
      }),
      securityContext: obj({
        allowPrivilegeEscalation: bool,
        readOnlyRootFilesystem: bool,
        privileged: bool,
        runAsNonRoot: bool,
        runAsUser: { type: 'integer', minimum: 0 },
        runAsGroup: { type: 'integer', minimum: 0 },
        capabilities: obj({ drop: { type: 'array', items: str() }, add: { type: 'array', items: str() } }),
        seccompProfile: seccomp,
      }),
      livenessProbe: probe,
      readinessProbe: probe,
    }),
    serviceAccount: obj({
      create: bool,
      name: str({ pattern: '^$|^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$', maxLength: 253 }),
      annotations: strMap,
      labels: labelsOnly,
    }),
    rbac: obj({ create: bool }),
    admissionPolicy: obj({
      enabled: bool,
      validationActions: {
        type: 'array',
        minItems: 1,
        uniqueItems: true,
        items: { enum: ['Deny', 'Warn', 'Audit'] },
      },
      sftpPods: obj({
        allowedAnnotations: { type: 'array', uniqueItems: true, items: str({ minLength: 1, maxLength: 317 }) },
        allowedLabels: { type: 'array', uniqueItems: true, items: str({ minLength: 1, maxLength: 317 }) },
        allowedNodeSelectorKeys: { type: 'array', uniqueItems: true, items: str({ minLength: 1, maxLength: 317 }) },
        allowedTolerations: {
          type: 'array',
          items: obj({
            key: str(),
            operator: { enum: ['Equal', 'Exists'] },
            value: str(),
            effect: { enum: ['', 'NoSchedule', 'PreferNoSchedule', 'NoExecute'] },
          }),
        },
        allowedPriorityClassNames: { type: 'array', uniqueItems: true, items: str({ minLength: 1, maxLength: 253 }) },
      }),
    }),
    metricsService: obj({ enabled: bool, port: { type: 'integer', minimum: 1, maximum: 65535 } }),
    monitoring: obj({
      serviceMonitor: obj({ enabled: bool, interval: duration, scrapeTimeout: duration, labels: labelsOnly }),
      podMonitor: obj({
        enabled: bool,
        interval: duration,
        scrapeTimeout: duration,
        labels: labelsOnly,
        serverLabel: str({ minLength: 1 }),
      }),
      prometheusRule: obj({
        enabled: bool,
        labels: labelsOnly,
        runbookBaseURL: str({ pattern: '^https?://' }),
        disabledAlerts: { type: 'array', uniqueItems: true, items: str({ pattern: '^Sftpgate[A-Za-z]+$' }) },
      }),
      dashboard: obj({ enabled: bool, namespace: str(), labels: labelsOnly, annotations: strMap }),
    }),
  }),
};

/** The file content (unformatted JSON; Biome formats it). */
export function renderSchema(): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (import.meta.main) {
  writeFileSync(SCHEMA_PATH, renderSchema());
  console.log(`wrote ${SCHEMA_PATH}`);
}
