// Pure builders: SftpServer (+ operator settings + inputs read by the reconciler) → the child objects the operator
// server-side-applies. No clock, no randomness, no I/O: the same inputs give byte-identical objects, so a second
// reconcile is a no-op and a rollout happens only when the pods' configuration content changes.
import { createHash } from 'node:crypto';
import type {
  V1Affinity,
  V1Deployment,
  V1EnvVar,
  V1NetworkPolicy,
  V1NetworkPolicyIngressRule,
  V1OwnerReference,
  V1PodDisruptionBudget,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1Toleration,
} from '@kubernetes/client-node';
import { apiVersion } from '../../api/resources.ts';
import type { SftpServer } from '../../api/types.generated.ts';
import { HOST_KEY_FILES } from '../../secrets/host-keys.ts';
import { shardSecretName, USERS_KEY, type UsersTableShard } from '../../secrets/users-table.ts';
import { quantityToBytes } from '../quantity.ts';

export const SSH_PORT = 2222;
export const METRICS_PORT = 9090;
/** UID/GID of the distroless "nonroot" user; numeric so runAsNonRoot can be verified by the kubelet. */
export const POD_UID = 65532;
export const HOST_KEY_DIR = '/etc/sftpgate/host-keys';
export const CONFIG_CHECKSUM_ANNOTATION = 'checksum/config';
export const SHUTDOWN_GRACE_SECONDS = 30;

/** What the IAM step produced (status.iam) that the workloads need: role ARNs in mode AWS. */
export interface IamOutputs {
  readonly podRoleArn?: string | undefined;
  readonly dataRoleArn?: string | undefined;
}

/** Operator-wide settings that shape the workloads (operator/src/config.ts). */
export interface WorkloadSettings {
  readonly image: string;
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never' | undefined;
}

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_SERVER = 'sftpgate.io/server';
export const LABEL_COMPONENT = 'sftpgate.io/component';

/** Names of every child of a server: one place, so reconcilers, checks and tests agree. */
export function childNames(server: SftpServer): {
  workload: string;
  hostKeys: string;
  usersShard: (i: number) => string;
} {
  const name = server.metadata.name ?? '';
  return {
    workload: `${name}-sftp`,
    hostKeys: server.spec.hostKeys.secretName ?? `${name}-host-keys`,
    usersShard: (i) => shardSecretName(name, i),
  };
}

export function ownerReference(server: SftpServer): V1OwnerReference {
  return {
    apiVersion,
    kind: 'SftpServer',
    name: server.metadata.name ?? '',
    uid: server.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Labels selecting this server's pods (immutable once the Deployment exists). */
export function selectorLabels(server: SftpServer): Record<string, string> {
  return { 'app.kubernetes.io/name': 'sftpgate-sftp', [LABEL_SERVER]: server.metadata.name ?? '' };
}

function commonLabels(server: SftpServer, component: string): Record<string, string> {
  return {
    ...selectorLabels(server),
    'app.kubernetes.io/instance': server.metadata.name ?? '',
    [LABEL_MANAGED_BY]: 'sftpgate',
    [LABEL_COMPONENT]: component,
  };
}

function meta(server: SftpServer, name: string, component: string) {
  return {
    name,
    namespace: server.metadata.namespace ?? '',
    labels: commonLabels(server, component),
    ownerReferences: [ownerReference(server)],
  };
}

/** Drops undefined values from a string map (CRD maps are typed `string | undefined`). */
function stringMap(m: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

const env = (name: string, value: string | number | boolean | undefined): V1EnvVar[] =>
  value === undefined ? [] : [{ name, value: String(value) }];

/**
 * The sftp container's environment, exactly per docs/sftp-pod-config.md. Sizes are plain byte counts. S3 credentials
 * come from the credentials Secret by reference (never copied). `make demo` runs the pod process with this env.
 */
export function podEnv(server: SftpServer, iam?: IamOutputs): V1EnvVar[] {
  const s = server.spec;
  const names = childNames(server);
  // STS mode may carry its own base credentials (they call AssumeRole); AWS mode has none (the pod role's).
  const creds = (s.iam.mode === 'STS' ? s.iam.sts?.credentialsSecretRef : undefined) ?? s.storage.credentialsSecretRef;
  const sts = s.iam.sts;
  return [
    ...env('SFTPGATE_LISTEN', `0.0.0.0:${SSH_PORT}`),
    ...env('SFTPGATE_METRICS_LISTEN', `0.0.0.0:${METRICS_PORT}`),
    ...env('SFTPGATE_HOST_KEY_DIR', HOST_KEY_DIR),
    ...env('SFTPGATE_USERS_SECRET', names.usersShard(0)),
    { name: 'SFTPGATE_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    ...env('SFTPGATE_S3_ENDPOINT', s.storage.endpoint),
    ...env('SFTPGATE_S3_REGION', s.storage.region),
    ...env('SFTPGATE_S3_BUCKET', s.storage.bucket),
    ...env('SFTPGATE_S3_PREFIX', s.storage.prefix),
    ...env('SFTPGATE_S3_FORCE_PATH_STYLE', s.storage.forcePathStyle),
    ...env('SFTPGATE_S3_STORAGE_CLASS', s.storage.storageClass),
    ...env('SFTPGATE_S3_SSE', s.storage.encryption?.type),
    ...env('SFTPGATE_S3_SSE_KMS_KEY_ID', s.storage.encryption?.kmsKeyId),
    ...(creds
      ? [
          {
            name: 'AWS_ACCESS_KEY_ID',
            valueFrom: { secretKeyRef: { name: creds.name, key: creds.accessKeyIdKey } },
          },
          {
            name: 'AWS_SECRET_ACCESS_KEY',
            valueFrom: { secretKeyRef: { name: creds.name, key: creds.secretAccessKeyKey } },
          },
        ]
      : []),
    ...env('SFTPGATE_IAM_MODE', s.iam.mode),
    ...env('SFTPGATE_STS_ENDPOINT', s.iam.mode === 'STS' ? sts?.endpoint : undefined),
    ...env('SFTPGATE_DATA_ROLE_ARN', s.iam.mode === 'AWS' ? iam?.dataRoleArn : undefined),
    // STS parameters reach the pods (docs/iam.md): the role to assume, the STS region, the credential lifetime.
    ...env('SFTPGATE_STS_ROLE_ARN', s.iam.mode === 'STS' ? sts?.roleArn : undefined),
    ...env('SFTPGATE_STS_REGION', s.iam.mode === 'STS' ? sts?.region : undefined),
    ...env(
      'SFTPGATE_CREDENTIALS_DURATION',
      s.iam.mode === 'STS' && sts?.durationSeconds !== undefined ? `${sts.durationSeconds}s` : undefined,
    ),
    ...env('SFTPGATE_PART_SIZE', quantityToBytes(s.transfer.partSize)),
    ...env('SFTPGATE_UPLOAD_CONCURRENCY', s.transfer.uploadConcurrency),
    ...env('SFTPGATE_DOWNLOAD_CONCURRENCY', s.transfer.downloadConcurrency),
    ...env('SFTPGATE_MEMORY_BUDGET', quantityToBytes(s.transfer.memoryBudget)),
    ...env('SFTPGATE_SETSTAT_MODE', s.sftp.setstatMode),
    ...env('SFTPGATE_IDLE_TIMEOUT', s.sftp.idleTimeout),
    ...env('SFTPGATE_MAX_SESSIONS_PER_USER', s.sftp.maxSessionsPerUser),
    ...env('SFTPGATE_ALGORITHMS', s.sftp.algorithms),
    ...env('SFTPGATE_BANNER', s.sftp.banner),
    ...env('SFTPGATE_DEFENDER', s.security.defender.enabled ? 'on' : 'off'),
    ...env('SFTPGATE_DEFENDER_THRESHOLD', s.security.defender.threshold),
    ...env('SFTPGATE_DEFENDER_OBSERVATION', s.security.defender.observationTime),
    ...env('SFTPGATE_DEFENDER_BAN_TIME', s.security.defender.banTime),
    ...env(
      'SFTPGATE_ALLOWED_CIDRS',
      s.security.allowedSourceCIDRs?.length ? s.security.allowedSourceCIDRs.join(',') : undefined,
    ),
    ...env('SFTPGATE_MAX_RENAME_OBJECTS', s.sftp.maxRenameObjects),
    ...env('SFTPGATE_SHUTDOWN_GRACE', `${SHUTDOWN_GRACE_SECONDS}s`),
    ...env('SFTPGATE_LOG_LEVEL', 'info'),
  ];
}

/**
 * Content hash of everything a running pod reads only at start: image, env, and the host keys' content. The users
 * table is NOT in it (pods watch it live), so adding a user never restarts pods.
 */
export function configChecksum(
  server: SftpServer,
  settings: WorkloadSettings,
  hostKeysDigest: string,
  iam?: IamOutputs,
): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ image: settings.image, env: podEnv(server, iam), hostKeys: hostKeysDigest }));
  return h.digest('hex');
}

/** Digest of a host-keys Secret's data (sorted keys), for the config checksum. */
export function secretDataDigest(data: Record<string, string> | undefined): string {
  const h = createHash('sha256');
  for (const k of Object.keys(data ?? {}).sort())
    h.update(k)
      .update('\0')
      .update(data?.[k] ?? '')
      .update('\0');
  return h.digest('hex');
}

/** Default resources: the transfer memory budget plus ~160 MiB for Node, ssh2 and buffers. */
function resources(server: SftpServer) {
  const r = server.spec.resources;
  if (r && (r.requests || r.limits)) {
    return {
      ...(r.requests ? { requests: stringMap(toStrings(r.requests)) } : {}),
      ...(r.limits ? { limits: stringMap(toStrings(r.limits)) } : {}),
    };
  }
  const budget = quantityToBytes(server.spec.transfer.memoryBudget) ?? 256 * 2 ** 20;
  const mib = Math.ceil(budget / 2 ** 20) + 160;
  return { requests: { cpu: '250m', memory: `${mib}Mi` }, limits: { memory: `${mib + 128}Mi` } };
}

function toStrings(m: Record<string, number | string | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(m)) out[k] = v === undefined ? undefined : String(v);
  return out;
}

export function desiredDeployment(
  server: SftpServer,
  settings: WorkloadSettings,
  hostKeysDigest: string,
  iam?: IamOutputs,
): V1Deployment {
  const s = server.spec;
  const names = childNames(server);
  const selector = selectorLabels(server);
  const podLabels = { ...stringMap(s.podLabels), ...commonLabels(server, 'sftp') };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(server, names.workload, 'sftp'),
    spec: {
      replicas: s.replicas,
      selector: { matchLabels: selector },
      // Surge first: a rollout never drops below the desired count of pods serving sessions.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      revisionHistoryLimit: 5,
      template: {
        metadata: {
          labels: podLabels,
          annotations: {
            ...stringMap(s.podAnnotations),
            [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(server, settings, hostKeysDigest, iam),
          },
        },
        spec: {
          serviceAccountName: names.workload,
          // The pod watches its users Secrets through the API, so it needs its token; the ServiceAccount itself has
          // automount off, and its Role reaches only this server's Secrets by name.
          automountServiceAccountToken: true,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: SHUTDOWN_GRACE_SECONDS + 10,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: POD_UID,
            runAsGroup: POD_UID,
            fsGroup: POD_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          ...(s.nodeSelector ? { nodeSelector: stringMap(s.nodeSelector) } : {}),
          ...(s.tolerations ? { tolerations: s.tolerations as V1Toleration[] } : {}),
          ...(s.affinity ? { affinity: s.affinity as V1Affinity } : {}),
          ...(s.priorityClassName ? { priorityClassName: s.priorityClassName } : {}),
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selector },
            },
            {
              maxSkew: 1,
              topologyKey: 'topology.kubernetes.io/zone',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selector },
            },
          ],
          containers: [
            {
              name: 'sftp',
              image: settings.image,
              ...(settings.imagePullPolicy ? { imagePullPolicy: settings.imagePullPolicy } : {}),
              env: podEnv(server, iam),
              ports: [
                { name: 'ssh', containerPort: SSH_PORT, protocol: 'TCP' },
                { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
              ],
              readinessProbe: {
                httpGet: { path: '/readyz', port: 'metrics' },
                periodSeconds: 5,
                failureThreshold: 2,
              },
              livenessProbe: {
                httpGet: { path: '/healthz', port: 'metrics' },
                initialDelaySeconds: 10,
                periodSeconds: 10,
                failureThreshold: 3,
              },
              resources: resources(server),
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                runAsUser: POD_UID,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: [
                { name: 'host-keys', mountPath: HOST_KEY_DIR, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            {
              name: 'host-keys',
              secret: {
                secretName: names.hostKeys,
                defaultMode: 0o440,
                items: s.hostKeys.types.map((t) => ({ key: HOST_KEY_FILES[t], path: HOST_KEY_FILES[t] })),
              },
            },
            // Node's and ssh2's scratch space only; file data never touches disk.
            { name: 'tmp', emptyDir: { sizeLimit: '16Mi' } },
          ],
        },
      },
    },
  };
}

export function desiredService(server: SftpServer): V1Service {
  const svc = server.spec.service;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      ...meta(server, childNames(server).workload, 'sftp'),
      ...(svc.annotations ? { annotations: stringMap(svc.annotations) } : {}),
    },
    spec: {
      type: svc.type,
      selector: selectorLabels(server),
      ports: [
        {
          name: 'ssh',
          port: svc.port,
          targetPort: 'ssh',
          protocol: 'TCP',
          ...(svc.nodePort !== undefined ? { nodePort: svc.nodePort } : {}),
        },
      ],
      ...(svc.externalTrafficPolicy ? { externalTrafficPolicy: svc.externalTrafficPolicy } : {}),
      ...(svc.loadBalancerClass ? { loadBalancerClass: svc.loadBalancerClass } : {}),
      ...(svc.loadBalancerSourceRanges?.length ? { loadBalancerSourceRanges: svc.loadBalancerSourceRanges } : {}),
    },
  };
}

export function desiredServiceAccount(server: SftpServer, iam?: IamOutputs): V1ServiceAccount {
  const irsa = server.spec.iam.mode === 'AWS' && server.spec.iam.aws?.irsa !== undefined && iam?.podRoleArn;
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      ...meta(server, childNames(server).workload, 'sftp'),
      // IRSA: the pods' token is exchanged for the pod role (docs/iam.md).
      ...(irsa ? { annotations: { 'eks.amazonaws.com/role-arn': iam.podRoleArn as string } } : {}),
    },
    automountServiceAccountToken: false,
  };
}

export function desiredPodDisruptionBudget(server: SftpServer): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(server, childNames(server).workload, 'sftp'),
    // maxUnavailable 1 (not minAvailable) so a single-replica server never blocks a node drain forever.
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(server) } },
  };
}

/** SFTP from the allowed source CIDRs (anywhere when none), metrics from the monitoring namespaces only. */
export function desiredNetworkPolicy(server: SftpServer): V1NetworkPolicy {
  const cidrs = server.spec.security.allowedSourceCIDRs ?? [];
  const sftp: V1NetworkPolicyIngressRule = {
    ports: [{ port: SSH_PORT, protocol: 'TCP' }],
    ...(cidrs.length > 0 ? { _from: cidrs.map((cidr) => ({ ipBlock: { cidr } })) } : {}),
  };
  const metrics: V1NetworkPolicyIngressRule = {
    ports: [{ port: METRICS_PORT, protocol: 'TCP' }],
    _from: server.spec.networkPolicy.metricsNamespaces.map((ns) => ({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
    })),
  };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(server, childNames(server).workload, 'sftp'),
    spec: { podSelector: { matchLabels: selectorLabels(server) }, policyTypes: ['Ingress'], ingress: [sftp, metrics] },
  };
}

/** get/list/watch on exactly this server's users shards and host-key Secret, by name. */
export function desiredRole(server: SftpServer, shardCount: number): V1Role {
  const names = childNames(server);
  const secrets = [...Array.from({ length: shardCount }, (_, i) => names.usersShard(i)), names.hostKeys];
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta(server, names.workload, 'sftp'),
    rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'], resourceNames: secrets }],
  };
}

export function desiredRoleBinding(server: SftpServer): V1RoleBinding {
  const names = childNames(server);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta(server, names.workload, 'sftp'),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: names.workload },
    subjects: [{ kind: 'ServiceAccount', name: names.workload, namespace: server.metadata.namespace ?? '' }],
  };
}

/** One users-table shard Secret. `stringData` would not round-trip on read, so data is base64 here. */
export function desiredUsersSecret(server: SftpServer, shard: UsersTableShard): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(server, childNames(server).usersShard(shard.index), 'users'),
    type: 'Opaque',
    data: { [USERS_KEY]: Buffer.from(shard.content).toString('base64') },
  };
}

/** The host-keys Secret the operator creates (only when absent; see the reconciler). */
export function desiredHostKeysSecret(server: SftpServer, keys: Record<string, string>): V1Secret {
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(keys)) data[k] = Buffer.from(v).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(server, childNames(server).hostKeys, 'host-keys'),
    type: 'Opaque',
    data,
  };
}

/** Where clients connect, from the Service as the API server reports it. */
export function endpointOf(server: SftpServer, service: V1Service | undefined): string | undefined {
  if (!service) return undefined;
  const port = server.spec.service.port;
  if (server.spec.service.type === 'LoadBalancer') {
    const ing = service.status?.loadBalancer?.ingress?.[0];
    const host = ing?.hostname ?? ing?.ip;
    return host ? `${host}:${port}` : undefined;
  }
  if (server.spec.service.type === 'NodePort') {
    const np = service.spec?.ports?.[0]?.nodePort;
    return np ? `<node>:${np}` : undefined;
  }
  return `${service.metadata?.name}.${service.metadata?.namespace}.svc:${port}`;
}
