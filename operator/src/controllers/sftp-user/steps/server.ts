// The user's server: it exists in the namespace, is not being deleted, and has storage and host keys ready.
import { ConditionType, Reason } from '../../../api/conditions.ts';
import { isConditionTrue } from '../../../runtime/conditions.ts';
import { StallingError, WaitingError } from '../../../runtime/errors.ts';
import { isDeleting } from '../../../runtime/finalizers.ts';
import { kube } from '../../context.ts';
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
  status.prefix = resolvedPrefix(server, user);
  const conds = server.status?.conditions;
  if (!isConditionTrue(conds, ConditionType.StorageReady) || !isConditionTrue(conds, ConditionType.HostKeysReady)) {
    const msg = `SftpServer ${server.metadata.name} is not configured yet (storage and host keys must be ready)`;
    markUser(run, ConditionType.ServerReady, false, Reason.ServerNotReady, msg);
    throw new WaitingError(Reason.ServerNotReady, msg, SERVER_RETRY_MS);
  }
  markUser(run, ConditionType.ServerReady, true, Reason.Reconciled, `SftpServer ${server.metadata.name}`);
  run.server = server;
};
