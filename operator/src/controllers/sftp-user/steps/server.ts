// The user's server: it exists in the namespace, is not being deleted, and has storage and host keys ready.
import { ConditionType, Reason } from '../../../api/conditions.ts';
import { isConditionTrue } from '../../../runtime/conditions.ts';
import { StallingError, WaitingError } from '../../../runtime/errors.ts';
import { isDeleting } from '../../../runtime/finalizers.ts';
import { kube } from '../../context.ts';
import { placementOf } from '../../placement-of.ts';
import { usersOverCap } from '../../sftp-server/steps/users-table.ts';
import { resolvedPrefix } from '../desired.ts';
import { markUser, SERVER_RETRY_MS, type UserStep } from '../run.ts';

export const serverStep: UserStep = async (run) => {
  const { ctx, user, status } = run;
  const ns = user.metadata.namespace;
  const server = ctx.servers.get(`${ns}/${user.spec.serverRef.name}`);
  if (!server || isDeleting(kube(server))) {
    const msg = `SftpServer ${user.spec.serverRef.name} ${server ? 'is being deleted' : 'not found'} in namespace ${ns}`;
    markUser(run, ConditionType.ServerReady, false, Reason.ServerNotFound, msg);
    delete status.prefix;
    // The server's creation is a watch event that requeues us (checks.ts).
    throw new StallingError(Reason.ServerNotFound, msg);
  }
  const r = placementOf(ctx, server);
  if ('refusal' in r) {
    // The server's own status says why; the user only waits for it.
    const msg = `SftpServer ${server.metadata.name} cannot use its storage profile (${r.refusal.reason})`;
    markUser(run, ConditionType.ServerReady, false, Reason.ServerNotReady, msg);
    delete status.prefix;
    throw new WaitingError(Reason.ServerNotReady, msg, SERVER_RETRY_MS);
  }
  const ns2 = ns ?? '';
  if (usersOverCap(ctx, server).has(user.metadata.name ?? '')) {
    const profile = ctx.profiles.get(server.spec.storage.profile);
    const msg = `SftpStorageProfile ${server.spec.storage.profile} allows ${profile?.spec.limits.maxUsersPerNamespace} SftpUser(s) per namespace in ${ns2}`;
    markUser(run, ConditionType.ServerReady, false, Reason.QuotaExceeded, msg);
    throw new StallingError(Reason.QuotaExceeded, msg);
  }
  status.prefix = resolvedPrefix(r.placement, user);
  const conds = server.status?.conditions;
  if (!isConditionTrue(conds, ConditionType.StorageReady) || !isConditionTrue(conds, ConditionType.HostKeysReady)) {
    const msg = `SftpServer ${server.metadata.name} is not configured yet (storage and host keys must be ready)`;
    markUser(run, ConditionType.ServerReady, false, Reason.ServerNotReady, msg);
    throw new WaitingError(Reason.ServerNotReady, msg, SERVER_RETRY_MS);
  }
  markUser(run, ConditionType.ServerReady, true, Reason.Reconciled, `SftpServer ${server.metadata.name}`);
  run.server = server;
  run.placement = r.placement;
};
