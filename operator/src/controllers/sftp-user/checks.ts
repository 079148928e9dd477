// Maps events on other objects back to the SftpUser keys they affect (cert-manager's checks.go).
import type { V1Secret } from '@kubernetes/client-node';
import { ConditionType } from '../../api/conditions.ts';
import type { SftpServer, SftpUser } from '../../api/types.generated.ts';
import { getCondition, isConditionTrue } from '../../runtime/conditions.ts';
import type { Cache } from '../context.ts';
import { LABEL_COMPONENT, LABEL_SERVER } from '../sftp-server/desired.ts';
import { usernameOf } from './desired.ts';
import { shardUsernames } from './reconciler.ts';

const key = (u: SftpUser): string => `${u.metadata.namespace}/${u.metadata.name}`;

/**
 * A server change that matters to its users: created/deleted, spec or deletion changed, or readiness of storage and
 * host keys flipped. Status-only noise (readyReplicas, users count) does not requeue a thousand users.
 */
export function serverUserKeys(users: Cache<SftpUser>) {
  return (server: SftpServer, type: string, old?: SftpServer): string[] => {
    if (type === 'update' && old && old !== server) {
      const same =
        old.metadata.generation === server.metadata.generation &&
        String(old.metadata.deletionTimestamp) === String(server.metadata.deletionTimestamp) &&
        [ConditionType.StorageReady, ConditionType.HostKeysReady].every(
          (t) => getCondition(old.status?.conditions, t)?.status === getCondition(server.status?.conditions, t)?.status,
        ) &&
        JSON.stringify(old.status?.usersSecrets) === JSON.stringify(server.status?.usersSecrets);
      if (same) return [];
    }
    return users
      .list()
      .filter(
        (u) => u.metadata.namespace === server.metadata.namespace && u.spec.serverRef.name === server.metadata.name,
      )
      .map(key);
  };
}

/**
 * One of our Secrets → for a users-table shard, only the users of that server whose Published condition disagrees
 * with the shard's content (so one table write does not requeue all). Password Secrets are not watched (the
 * operator caches only its own Secrets): their changes come from the poller in password-secrets.ts.
 */
export function secretUserKeys(users: Cache<SftpUser>, servers: Cache<SftpServer>, secrets: Cache<V1Secret>) {
  return (secret: V1Secret): string[] => {
    const ns = secret.metadata?.namespace;
    const name = secret.metadata?.name;
    const out: string[] = [];
    const server = secret.metadata?.labels?.[LABEL_SERVER];
    const isShard = secret.metadata?.labels?.[LABEL_COMPONENT] === 'users' && server !== undefined;
    let listed: Set<string> | undefined;
    if (isShard) {
      const srv = servers.get(`${ns}/${server}`);
      listed = new Set<string>();
      for (const shardName of srv?.status?.usersSecrets ?? [name ?? '']) {
        const s = shardName === name ? secret : secrets.get(`${ns}/${shardName}`);
        if (s) for (const u of shardUsernames(s)) listed.add(u);
      }
    }
    if (!listed) return out;
    for (const u of users.list()) {
      if (u.metadata.namespace !== ns) continue;
      if (listed && u.spec.serverRef.name === server) {
        const published = isConditionTrue(u.status?.conditions, ConditionType.Published);
        if (published !== listed.has(usernameOf(u))) out.push(key(u));
      }
    }
    return out;
  };
}
