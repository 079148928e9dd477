// Pure builders of what gives the sftp pods access: their ServiceAccount, the Role reaching exactly this server's
// Secrets by name, its binding, and the Secrets themselves (users-table shards, host keys).
import type { V1Role, V1RoleBinding, V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import type { SftpServer } from '../../api/types.generated.ts';
import { USERS_KEY, type UsersTableShard } from '../../secrets/users-table.ts';
import type { Placement } from '../placement.ts';
import { childNames, type IamOutputs, meta } from './desired.ts';

export function desiredServiceAccount(server: SftpServer, placement: Placement, iam?: IamOutputs): V1ServiceAccount {
  const irsa = placement.iam.mode === 'AWS' && placement.iam.aws?.irsa !== undefined && iam?.podRoleArn;
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

/**
 * The pods' copy of the profile's static S3 credentials, in the server's namespace (a pod can only reference a Secret
 * of its own namespace). Whoever may read Secrets in that namespace may read it: docs/security.md says what follows.
 */
export function desiredCredentialsSecret(
  server: SftpServer,
  credentials: { accessKeyId: string; secretAccessKey: string },
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(server, childNames(server).credentials, 's3-credentials'),
    type: 'Opaque',
    data: {
      AWS_ACCESS_KEY_ID: Buffer.from(credentials.accessKeyId).toString('base64'),
      AWS_SECRET_ACCESS_KEY: Buffer.from(credentials.secretAccessKey).toString('base64'),
    },
  };
}

/** The profile's CA bundle for the pods (a pod mounts only Secrets of its own namespace). Public data, no key. */
export function desiredCaSecret(server: SftpServer, pem: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(server, childNames(server).caBundle, 's3-ca'),
    type: 'Opaque',
    data: { 'ca.crt': Buffer.from(pem).toString('base64') },
  };
}
