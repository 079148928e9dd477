// Deletion branch and finalizer bookkeeping: the first step of every user pass.
import { Reason } from '../../../api/conditions.ts';
import type { SftpUser } from '../../../api/types.generated.ts';
import { WaitingError } from '../../../runtime/errors.ts';
import { ensureFinalizer, hasFinalizer, isDeleting, removeFinalizer } from '../../../runtime/finalizers.ts';
import { Resources } from '../../../runtime/kube-client.ts';
import { kube } from '../../context.ts';
import { allottedPlacement, bucketFor } from '../../placement-of.ts';
import { homeKey, homeOf, resolvedPrefix } from '../desired.ts';
import type { UserRun, UserStep } from '../run.ts';

/** Deleting: run the cleanup and end the pass. Otherwise: a finalizer exactly when deletionPolicy is Delete. */
export const userFinalizerStep: UserStep = async (run) => {
  const { ctx, user, signal } = run;
  if (isDeleting(kube(user))) {
    await finalize(run);
    run.done = true;
    return;
  }
  const updated =
    user.spec.deletionPolicy === 'Delete'
      ? await ensureFinalizer(ctx.client, Resources.SftpUser, kube(user), undefined, signal)
      : await removeFinalizer(ctx.client, Resources.SftpUser, kube(user), undefined, signal);
  user.metadata = updated.metadata as SftpUser['metadata'];
};

/**
 * Access goes as soon as the user is marked for deletion (the server's table skips deleting users). Delete purges
 * the home prefix — unless another live user shares that home, or the server is gone (then there is no storage
 * configuration to purge with; the server's own deletion policy decided the data's fate).
 */
async function finalize(run: UserRun): Promise<void> {
  const { ctx, user, signal } = run;
  if (!hasFinalizer(kube(user))) return;
  if (user.spec.deletionPolicy === 'Delete') {
    const ns = user.metadata.namespace;
    const server = ctx.servers.get(`${ns}/${user.spec.serverRef.name}`);
    const sharer = ctx.users
      .list()
      .find(
        (u) =>
          u.metadata.namespace === ns &&
          u.metadata.uid !== user.metadata.uid &&
          u.spec.serverRef.name === user.spec.serverRef.name &&
          homeOf(u) === homeOf(user) &&
          !isDeleting(kube(u)),
      );
    const placement = server ? allottedPlacement(ctx, server) : undefined;
    const skipped =
      !server || !placement
        ? `SftpServer ${user.spec.serverRef.name} or its profile is gone: nothing to purge with; data (if any) kept`
        : sharer
          ? `home ${homeOf(user)} is shared with SftpUser ${sharer.metadata.name}: data kept`
          : undefined;
    if (skipped !== undefined || !server || !placement) {
      await ctx.events.record(kube(user), 'Warning', 'PurgeSkipped', skipped ?? '', signal);
    } else {
      // Only inside the server's allotted prefix: home is validated relative (no '..', no leading '/').
      const manager = bucketFor(ctx, server, placement);
      const progress = await manager.purge(homeKey(placement, user), { maxBatches: 5, signal });
      const where = resolvedPrefix(placement, user);
      if (progress.remaining) throw new WaitingError(Reason.Deleting, `purging ${where}`, 100);
      await ctx.events.record(
        kube(user),
        'Normal',
        'Purged',
        `purged ${where} (every version and delete marker)`,
        signal,
      );
    }
  }
  await removeFinalizer(ctx.client, Resources.SftpUser, kube(user), undefined, signal);
}
