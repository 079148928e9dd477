// Deletion branch and finalizer bookkeeping: the first step of every server pass.
import { Reason } from '../../../api/conditions.ts';
import type { SftpServer } from '../../../api/types.generated.ts';
import { WaitingError } from '../../../runtime/errors.ts';
import { ensureFinalizer, hasFinalizer, isDeleting, removeFinalizer } from '../../../runtime/finalizers.ts';
import { Resources } from '../../../runtime/kube-client.ts';
import type { ControllerContext } from '../../context.ts';
import { kube } from '../../context.ts';
import type { ServerRun, ServerStep } from '../run.ts';

/** Batches of 1000 deleted per reconcile pass while purging; progress lands in status between passes. */
export const PURGE_BATCHES_PER_PASS = 5;

/** A finalizer only when deletion needs cleanup we do: purging S3 (Delete) or IAM objects (mode AWS). */
export function needsFinalizer(ctx: ControllerContext, server: SftpServer): boolean {
  return server.spec.deletionPolicy === 'Delete' || (server.spec.iam.mode === 'AWS' && !!ctx.iam?.cleanupServer);
}

/** Deleting: run the cleanup and end the pass. Otherwise: hold a finalizer exactly when deletion needs one. */
export const finalizerStep: ServerStep = async (run) => {
  const { ctx, server, signal } = run;
  if (isDeleting(kube(server))) {
    await finalize(run);
    run.done = true;
    return;
  }
  const updated = needsFinalizer(ctx, server)
    ? await ensureFinalizer(ctx.client, Resources.SftpServer, kube(server), undefined, signal)
    : await removeFinalizer(ctx.client, Resources.SftpServer, kube(server), undefined, signal);
  server.metadata = updated.metadata as SftpServer['metadata'];
};

async function finalize(run: ServerRun): Promise<void> {
  const { ctx, server, status, signal } = run;
  if (!hasFinalizer(kube(server))) return;
  const prefix = server.spec.storage.prefix;
  if (server.spec.deletionPolicy === 'Delete') {
    if (prefix === '') {
      // The bucket root may be shared with other servers or other data: never purge it.
      await ctx.events.record(
        kube(server),
        'Warning',
        'PurgeSkipped',
        'deletionPolicy Delete with an empty storage.prefix: the bucket root is never purged; data kept',
        signal,
      );
    } else {
      const manager = ctx.storage.for(server, ctx.secrets);
      const deletion = status.deletion ?? {
        startedAt: new Date(run.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        objectsDeleted: 0,
      };
      let progress: { deleted: number; remaining: boolean };
      try {
        progress = await manager.purge(prefix, { maxBatches: PURGE_BATCHES_PER_PASS, signal });
      } catch (err) {
        status.deletion = { ...deletion, remaining: true, message: String((err as Error).message) };
        throw err;
      }
      const total = (deletion.objectsDeleted ?? 0) + progress.deleted;
      const where = `s3://${server.spec.storage.bucket}/${prefix}/`;
      status.deletion = {
        ...deletion,
        objectsDeleted: total,
        remaining: progress.remaining,
        message: progress.remaining
          ? `purging ${where}: ${total} object versions and delete markers deleted so far`
          : `purged ${where}: ${total} object versions and delete markers deleted`,
      };
      if (progress.remaining) {
        throw new WaitingError(Reason.Deleting, status.deletion.message ?? 'purging', 100);
      }
      await manager.removeLifecycle(prefix, signal);
    }
  }
  if (ctx.iam?.cleanupServer && server.spec.iam.mode === 'AWS') await ctx.iam.cleanupServer(server, signal);
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
