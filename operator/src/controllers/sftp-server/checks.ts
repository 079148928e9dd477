// Maps events on other objects back to the SftpServer keys they affect (cert-manager's checks.go).
import type { V1Secret } from '@kubernetes/client-node';
import type { SftpServer, SftpUser } from '../../api/types.generated.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';
import { controllerOf } from '../../runtime/owner.ts';
import type { Cache } from '../context.ts';
import { LABEL_SERVER } from './desired.ts';

/** A child (Deployment, Service, our Secrets) → its controlling SftpServer. */
export function ownerServerKeys(object: KubeObject): string[] {
  const ref = controllerOf(object);
  if (ref?.kind !== 'SftpServer') return [];
  return [`${object.metadata?.namespace}/${ref.name}`];
}

/**
 * An SftpUser → the server whose users table lists it. Status-only updates (the user reconciler's own writes) are
 * skipped: the table depends on spec, metadata and deletion only. Resyncs (old === user) pass, level-based.
 */
export function userServerKeys(user: SftpUser, _type?: unknown, old?: SftpUser): string[] {
  if (
    old !== undefined &&
    old !== user &&
    old.metadata.generation === user.metadata.generation &&
    String(old.metadata.deletionTimestamp) === String(user.metadata.deletionTimestamp) &&
    JSON.stringify(old.metadata.labels) === JSON.stringify(user.metadata.labels)
  ) {
    return [];
  }
  const keys = new Set([`${user.metadata.namespace}/${user.spec.serverRef.name}`]);
  if (old) keys.add(`${old.metadata.namespace}/${old.spec.serverRef.name}`);
  return [...keys];
}

/**
 * A Secret → servers that use it: their own children (label), their S3 credentials, and the password Secrets of
 * their users (a new password means a new hash in the users table).
 */
export function secretServerKeys(servers: Cache<SftpServer>, users: Cache<SftpUser>) {
  return (secret: V1Secret): string[] => {
    const ns = secret.metadata?.namespace;
    const name = secret.metadata?.name;
    const keys = new Set<string>();
    const label = secret.metadata?.labels?.[LABEL_SERVER];
    if (label && secret.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'sftpgate') keys.add(`${ns}/${label}`);
    for (const s of servers.list()) {
      if (s.metadata.namespace !== ns) continue;
      if (s.spec.storage.credentialsSecretRef?.name === name || s.spec.hostKeys.secretName === name) {
        keys.add(`${ns}/${s.metadata.name}`);
      }
    }
    for (const u of users.list()) {
      if (u.metadata.namespace === ns && u.spec.passwordSecretRef?.name === name) {
        keys.add(`${ns}/${u.spec.serverRef.name}`);
      }
    }
    return [...keys];
  };
}
