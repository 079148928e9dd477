// Deletion branch (first step) and finalizer bookkeeping (right after the placement step: a server the profile
// refused never gets one, so deleting it never makes the operator touch storage).
import { Reason } from '../../../api/conditions.ts';
import type { SftpServer } from '../../../api/types.generated.ts';
import { WaitingError } from '../../../runtime/errors.ts';
import { ensureFinalizer, hasFinalizer, isDeleting, removeFinalizer } from '../../../runtime/finalizers.ts';
import { Resources } from '../../../runtime/kube-client.ts';
import { kube } from '../../context.ts';
import type { Placement } from '../../placement.ts';
import { allottedPlacement, bucketFor } from '../../placement-of.ts';
import type { ServerRun, ServerStep } from '../run.ts';

/** Batches of 1000 deleted per reconcile pass while purging; progress lands in status between passes. */
export const PURGE_BATCHES_PER_PASS = 5;

/** A finalizer only when deletion needs cleanup we do: purging S3 (Delete) or IAM objects (mode AWS). */
export function needsFinalizer(run: ServerRun, placement: Placement): boolean {
  return run.server.spec.deletionPolicy === 'Delete' || (placement.iam.mode === 'AWS' && !!run.ctx.iam?.cleanupServer);
}

/** Deleting: run the cleanup and end the pass. */
export const deletionStep: ServerStep = async (run) => {
  if (!isDeleting(kube(run.server))) return;
  await finalize(run);
  run.done = true;
};

/** Holds a finalizer exactly when deletion needs one (after the placement step). */
export const finalizerStep: ServerStep = async (run) => {
  const { ctx, server, signal, placement } = run;
  if (!placement) return;
  const updated = needsFinalizer(run, placement)
    ? await ensureFinalizer(ctx.client, Resources.SftpServer, kube(server), undefined, signal)
    : await removeFinalizer(ctx.client, Resources.SftpServer, kube(server), undefined, signal);
  server.metadata = updated.metadata as SftpServer['metadata'];
};

async function finalize(run: ServerRun): Promise<void> {
  const { ctx, server, signal } = run;
  if (!hasFinalizer(kube(server))) return;
  // Exactly the prefix the operator allotted (derived again from immutable inputs), never a spec value.
  const placement = allottedPlacement(ctx, server);
  if (!placement) {
    await ctx.events.record(
      kube(server),
      'Warning',
      'PurgeSkipped',
      `SftpStorageProfile ${server.spec.storage.profile} is gone: nothing to clean up with; data (if any) kept`,
      signal,
    );
  } else {
    if (server.spec.deletionPolicy === 'Delete') await purge(run, placement);
    if (ctx.iam?.cleanupServer && placement.iam.mode === 'AWS')
      await ctx.iam.cleanupServer({ server, placement }, signal);
  }
  // Write the final progress before the object can vanish, then release it.
  await run.writeStatusNow();
  const released = await removeFinalizer(ctx.client, Resources.SftpServer, kube(server), undefined, signal);
  // Released: the object may be gone any moment, so the pass writes no status after this.
  server.metadata = released.metadata as SftpServer['metadata'];
  ctx.logger.info('Finalized SftpServer', {
    sftpserver: `${server.metadata.namespace}/${server.metadata.name}`,
    deletionPolicy: server.spec.deletionPolicy,
  });
}

async function purge(run: ServerRun, placement: Placement): Promise<void> {
  const { ctx, server, status, signal } = run;
  const manager = bucketFor(ctx, server, placement);
  const deletion = status.deletion ?? {
    startedAt: new Date(run.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    objectsDeleted: 0,
  };
  let progress: { deleted: number; remaining: boolean };
  try {
    progress = await manager.purge(placement.prefix, { maxBatches: PURGE_BATCHES_PER_PASS, signal });
  } catch (err) {
    status.deletion = { ...deletion, remaining: true, message: String((err as Error).message) };
    throw err;
  }
  const total = (deletion.objectsDeleted ?? 0) + progress.deleted;
  const where = `s3://${placement.bucket}/${placement.prefix}/`;
  status.deletion = {
    ...deletion,
    objectsDeleted: total,
    remaining: progress.remaining,
    message: progress.remaining
      ? `purging ${where}: ${total} object versions and delete markers deleted so far`
      : `purged ${where}: ${total} object versions and delete markers deleted`,
  };
  if (progress.remaining) throw new WaitingError(Reason.Deleting, status.deletion.message ?? 'purging', 100);
  await manager.removeLifecycle(placement.rule, signal);
}
