// Objects as the API server returns them (defaults filled in), for the controllers' unit tests.
import type { V1Namespace } from '@kubernetes/client-node';
import type { SftpServer, SftpStorageProfile, SftpUser } from '../../api/types.generated.ts';
import { locate, type Placement } from '../placement.ts';

export const OPERATOR_NAMESPACE = 'sftpgate-system';

/** Profile `minio`: bucket `bkt` on a MinIO endpoint, root `sftpgate`, selecting namespace `tenants`. */
export function profileFixture(patch: (s: SftpStorageProfile['spec']) => void = () => {}): SftpStorageProfile {
  const p: SftpStorageProfile = {
    apiVersion: 'sftpgate.io/v1alpha1',
    kind: 'SftpStorageProfile',
    metadata: { name: 'minio', uid: 'uid-profile', generation: 1, creationTimestamp: new Date(0) },
    spec: {
      bucket: 'bkt',
      root: 'sftpgate',
      region: 'us-east-1',
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
      credentials: {
        secretRef: {
          name: 'minio-creds',
          accessKeyIdKey: 'AWS_ACCESS_KEY_ID',
          secretAccessKeyKey: 'AWS_SECRET_ACCESS_KEY',
        },
      },
      lifecycle: {
        abortIncompleteMultipartUploadDays: 1,
        maxAbortIncompleteMultipartUploadDays: 7,
        noncurrentVersionExpirationDays: 30,
        maxNoncurrentVersionExpirationDays: 365,
        expiredObjectDeleteMarker: true,
      },
      iam: { mode: 'None' },
      podTemplate: {},
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'tenants' } },
      limits: { maxServersPerNamespace: 10, maxUsersPerNamespace: 1000 },
    },
  };
  patch(p.spec);
  return p;
}

export function namespaceFixture(name: string, labels: Record<string, string> = {}): V1Namespace {
  return { metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } };
}

/** The placement of server `tenants/demo` on profileFixture(). */
export function placementFixture(profile = profileFixture()): Placement {
  return locate(profile, 'tenants', 'demo');
}

/** An SftpServer `tenants/demo` with every default set; `patch` edits its spec. */
export function serverFixture(patch: (s: SftpServer['spec']) => void = () => {}): SftpServer {
  const s: SftpServer = {
    apiVersion: 'sftpgate.io/v1alpha1',
    kind: 'SftpServer',
    metadata: { name: 'demo', namespace: 'tenants', uid: 'uid-1', generation: 1 },
    spec: {
      storage: { profile: 'minio' },
      transfer: { partSize: '8Mi', uploadConcurrency: 4, downloadConcurrency: 4, memoryBudget: '256Mi' },
      sftp: {
        setstatMode: 'Error',
        idleTimeout: '15m',
        maxSessionsPerUser: 10,
        algorithms: 'default',
        maxRenameObjects: 1000,
        uploadMd5: false,
      },
      security: {
        defender: { enabled: true, threshold: 15, observationTime: '30m', banTime: '30m', maxBannedHosts: 10000 },
      },
      hostKeys: { types: ['ed25519', 'rsa'] },
      replicas: 2,
      service: { type: 'ClusterIP', port: 22 },
      networkPolicy: { enabled: true, metricsNamespaces: ['monitoring'] },
      deletionPolicy: 'Retain',
    },
  };
  patch(s.spec);
  return s;
}

/** An SftpUser of server `demo` in `tenants` with one key; `spec` overrides. */
export function userFixture(name: string, key: string, spec: Partial<SftpUser['spec']> = {}): SftpUser {
  return {
    apiVersion: 'sftpgate.io/v1alpha1',
    kind: 'SftpUser',
    metadata: { name, namespace: 'tenants', uid: `uid-${name}`, generation: 1, creationTimestamp: new Date(0) },
    spec: {
      serverRef: { name: 'demo' },
      permissions: ['upload', 'list', 'download'],
      disabled: false,
      deletionPolicy: 'Retain',
      authorizedKeys: [key],
      ...spec,
    },
  };
}
