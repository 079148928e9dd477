// Maps events on other objects back to the SftpServer keys they affect (cert-manager's checks.go).
import type { V1Namespace, V1Secret } from '@kubernetes/client-node';
import type { SftpServer, SftpStorageProfile, SftpUser } from '../../api/types.generated.ts';
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
 * One of our own Secrets (users shards, generated host keys, credentials copies; the informer sees only those) →
 * its server; a user-provided host-keys Secret carries no label and is read by GET each pass instead.
 */
export function secretServerKeys() {
  return (secret: V1Secret): string[] => {
    const label = secret.metadata?.labels?.[LABEL_SERVER];
    if (!label || secret.metadata?.labels?.['app.kubernetes.io/managed-by'] !== 'sftpgate') return [];
    return [`${secret.metadata?.namespace}/${label}`];
  };
}

/** A profile → every server on a profile with the same bucket (its own, and those an overlap may now release). */
export function profileServerKeys(servers: Cache<SftpServer>, profiles: Cache<SftpStorageProfile>) {
  return (profile: SftpStorageProfile): string[] => {
    const sameBucket = new Set(
      profiles
        .list()
        .filter((p) => p.spec.bucket === profile.spec.bucket)
        .map((p) => p.metadata.name),
    );
    sameBucket.add(profile.metadata.name);
    return servers
      .list()
      .filter((s) => sameBucket.has(s.spec.storage.profile))
      .map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
  };
}

/** A namespace (its labels decide which profiles it may use) → its servers. */
export function namespaceServerKeys(servers: Cache<SftpServer>) {
  return (namespace: V1Namespace): string[] =>
    servers
      .list()
      .filter((s) => s.metadata.namespace === namespace.metadata?.name)
      .map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
}

/** A server that comes or goes → the servers of its namespace on the same profile (the per-namespace cap). */
export function siblingServerKeys(servers: Cache<SftpServer>) {
  return (server: SftpServer): string[] =>
    servers
      .list()
      .filter(
        (s) =>
          s.metadata.namespace === server.metadata.namespace &&
          s.spec.storage.profile === server.spec.storage.profile &&
          s.metadata.name !== server.metadata.name,
      )
      .map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
}

/** A Secret of the operator's namespace → servers whose profile takes its credentials from it. */
export function credentialsServerKeys(servers: Cache<SftpServer>, profiles: Cache<SftpStorageProfile>) {
  return (secret: V1Secret): string[] => {
    const using = new Set(
      profiles
        .list()
        .filter((p) => p.spec.credentials?.secretRef.name === secret.metadata?.name)
        .map((p) => p.metadata.name),
    );
    return servers
      .list()
      .filter((s) => using.has(s.spec.storage.profile))
      .map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
  };
}
