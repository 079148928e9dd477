// Storage: the bucket is reachable with the configured credentials, our lifecycle rule is in place, the prefix
// marker exists. Skipped while a check with identical inputs is younger than RECHECK_MS.
import { asReason, ConditionType, Reason as R, type Reason } from '../../../api/conditions.ts';
import { S3ManagerError } from '../../../cloud/s3/errors.ts';
import { StallingError, WaitingError } from '../../../runtime/errors.ts';
import { bucketFor } from '../../placement-of.ts';
import { placed, RECHECK_MS, type ServerStep, STORAGE_RETRY_MS } from '../run.ts';
import { mark } from './mark.ts';

/** The condition reason for an S3 manager error. */
export function storageReason(err: S3ManagerError): Reason {
  if (err.code === 'SFTPGATE_S3_BUCKET_NOT_FOUND') return R.BucketNotFound;
  if (err.code === 'SFTPGATE_S3_ACCESS_DENIED' || err.code === 'SFTPGATE_S3_INVALID_CREDENTIALS') return R.AccessDenied;
  return R.StorageError;
}

export const storageStep: ServerStep = async (run) => {
  const { ctx, server, status, memo, signal } = run;
  const { placement: st } = placed(run);
  const uid = server.metadata.uid ?? '';
  try {
    const manager = bucketFor(ctx, server, st);
    const inputs = JSON.stringify([st, ctx.storage.digestOf(uid)]);
    const last = memo.storageChecked;
    const ready = status.conditions?.find((c) => c.type === ConditionType.StorageReady)?.status === 'True';
    if (ready && last?.inputs === inputs && run.now() - last.at < RECHECK_MS) return;
    memo.storageChecked = undefined;
    const { versioning } = await manager.checkBucket(signal);
    status.versioning = versioning;
    await manager.ensureLifecycle(st.rule, st.lifecycle, signal);
    await manager.ensureMarker(st.prefix, signal);
    memo.storageChecked = { inputs, at: run.now() };
    mark(
      run,
      ConditionType.StorageReady,
      true,
      R.LifecycleRulesApplied,
      `s3://${st.bucket}/${st.prefix}${st.prefix ? '/' : ''} reachable (versioning ${versioning}); lifecycle rules applied`,
    );
  } catch (err) {
    if (err instanceof StallingError) {
      mark(run, ConditionType.StorageReady, false, asReason(err.reason), err.message);
      throw err;
    }
    if (err instanceof S3ManagerError) {
      const reason = storageReason(err);
      mark(run, ConditionType.StorageReady, false, reason, err.message);
      // A missing bucket or wrong credentials are fixed outside the operator: check again now and then.
      if (!err.transient) throw new WaitingError(reason, err.message, STORAGE_RETRY_MS, { cause: err });
    }
    throw err;
  }
};
