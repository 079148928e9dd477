// Pure builders: SftpServer (+ operator settings + inputs read by the reconciler) → the child objects the operator
// server-side-applies. No clock, no randomness, no I/O: the same inputs give byte-identical objects, so a second
// reconcile is a no-op and a rollout happens only when the pods' configuration content changes.
import type {
  V1Affinity,
  V1Deployment,
  V1NetworkPolicy,
  V1NetworkPolicyIngressRule,
  V1OwnerReference,
  V1PodDisruptionBudget,
  V1Service,
  V1Toleration,
} from '@kubernetes/client-node';
import { apiVersion } from '../../api/resources.ts';
import type { SftpServer } from '../../api/types.generated.ts';
import { HOST_KEY_FILES } from '../../secrets/host-keys.ts';
import { shardSecretName } from '../../secrets/users-table.ts';
import type { Placement } from '../placement.ts';
import { quantityToBytes } from '../quantity.ts';
import { notifyVolumes } from './notifications.ts';
import { CONFIG_CHECKSUM_ANNOTATION, configChecksum, podEnv } from './pod-env.ts';

export const SSH_PORT = 2222;
export const METRICS_PORT = 9090;
/** UID/GID of the distroless "nonroot" user; numeric so runAsNonRoot can be verified by the kubelet. */
export const POD_UID = 65532;
export const HOST_KEY_DIR = '/etc/sftpgate/host-keys';
/** Where the profile's CA bundle is mounted (file `ca.crt`), for NODE_EXTRA_CA_CERTS. */
export const S3_CA_DIR = '/etc/sftpgate/s3-ca';
/** Where the user-certificate ConfigMap (spec.security.userCertificates) is mounted. */
export const USER_CA_DIR = '/etc/sftpgate/user-ca';
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
  credentials: string;
  caBundle: string;
  usersShard: (i: number) => string;
} {
  const name = server.metadata.name ?? '';
  return {
    workload: `${name}-sftp`,
    hostKeys: server.spec.hostKeys.secretName ?? `${name}-host-keys`,
    credentials: `${name}-s3-credentials`,
    caBundle: `${name}-s3-ca`,
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

export function commonLabels(server: SftpServer, component: string): Record<string, string> {
  return {
    ...selectorLabels(server),
    'app.kubernetes.io/instance': server.metadata.name ?? '',
    [LABEL_MANAGED_BY]: 'sftpgate',
    [LABEL_COMPONENT]: component,
  };
}

export function meta(server: SftpServer, name: string, component: string) {
  return {
    name,
    namespace: server.metadata.namespace ?? '',
    labels: commonLabels(server, component),
    ownerReferences: [ownerReference(server)],
  };
}

/** Drops undefined values from a string map (CRD maps are typed `string | undefined`). */
export function stringMap(m: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * The sftp pod's memory, measured on the compiled image build with default settings (docs/benchmarks.md, "Pod memory
 * and GC, session 19"), rounded up: idle after start and a login (62-63 MiB), what one transfer at full speed adds (a
 * 1 GiB upload at 117-163 MB/s peaked at 142-152 MiB, a download at 137-313 MB/s at 133-154 MiB, also when it follows
 * other transfers: the parts in flight and the per-packet garbage between collections; the slab pool and glibc give
 * their memory back after a transfer), and the garbage Buffers a busy pod holds between collections beyond what its
 * memory budget accounts.
 */
export const POD_MEMORY_MIB = { idle: 64, oneTransfer: 96, gcHeadroom: 128 } as const;

/**
 * Default resources (spec.resources unset): requests what a pod with one fast transfer measured; the limit adds the whole
 * transfer memory budget (the pod refuses to buffer beyond it) and the garbage headroom, so only a pod past its own
 * accounting is killed.
 */
export function defaultResources(memoryBudgetBytes: number) {
  const { idle, oneTransfer, gcHeadroom } = POD_MEMORY_MIB;
  const budgetMib = Math.ceil(memoryBudgetBytes / 2 ** 20);
  const limit = idle + budgetMib + gcHeadroom;
  const request = Math.min(idle + oneTransfer, limit);
  return { requests: { cpu: '250m', memory: `${request}Mi` }, limits: { memory: `${limit}Mi` } };
}

function resources(server: SftpServer) {
  const r = server.spec.resources;
  if (r && (r.requests || r.limits)) {
    return {
      ...(r.requests ? { requests: stringMap(toStrings(r.requests)) } : {}),
      ...(r.limits ? { limits: stringMap(toStrings(r.limits)) } : {}),
    };
  }
  return defaultResources(quantityToBytes(server.spec.transfer.memoryBudget) ?? 256 * 2 ** 20);
}

function toStrings(m: Record<string, number | string | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(m)) out[k] = v === undefined ? undefined : String(v);
  return out;
}

export function desiredDeployment(
  server: SftpServer,
  placement: Placement,
  settings: WorkloadSettings,
  hostKeysDigest: string,
  iam?: IamOutputs,
): V1Deployment {
  const s = server.spec;
  const userCa = s.security.userCertificates;
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
            [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(server, placement, settings, hostKeysDigest, iam),
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
              env: podEnv(server, placement, iam),
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
                ...(userCa ? [{ name: 'user-ca', mountPath: USER_CA_DIR, readOnly: true }] : []),
                { name: 'tmp', mountPath: '/tmp' },
                ...(placement.caBundle ? [{ name: 's3-ca', mountPath: S3_CA_DIR, readOnly: true }] : []),
                ...notifyVolumes(server).mounts,
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
            // The whole ConfigMap (not items): a revocations key that does not exist yet must not block the pod;
            // kubelet refreshes the files in place and the pod re-reads them.
            ...(userCa ? [{ name: 'user-ca', configMap: { name: userCa.configMapName, defaultMode: 0o444 } }] : []),
            // Node's and ssh2's scratch space only; file data never touches disk.
            { name: 'tmp', emptyDir: { sizeLimit: '16Mi' } },
            // The profile's CA bundle for a private S3 endpoint (NODE_EXTRA_CA_CERTS points at it).
            ...(placement.caBundle
              ? [{ name: 's3-ca', secret: { secretName: names.caBundle, defaultMode: 0o444 } }]
              : []),
            // The tenant's webhook HMAC key: mounted, never read or copied by the operator.
            ...notifyVolumes(server).volumes,
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
