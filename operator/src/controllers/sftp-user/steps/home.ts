// The home marker `<server prefix>/<home>/` in S3.
import { asReason, ConditionType, Reason } from '../../../api/conditions.ts';
import { S3ManagerError } from '../../../cloud/s3/errors.ts';
import { StallingError, WaitingError } from '../../../runtime/errors.ts';
import { bucketFor } from '../../placement-of.ts';
import { homeKey, resolvedPrefix } from '../desired.ts';
import { markUser, SERVER_RETRY_MS, type UserStep } from '../run.ts';

export const homeStep: UserStep = async (run) => {
  const { ctx, user, server, placement, signal } = run;
  if (!server || !placement) return;
  try {
    await bucketFor(ctx, server, placement).ensureMarker(homeKey(placement, user), signal);
    markUser(
      run,
      ConditionType.StorageReady,
      true,
      Reason.Reconciled,
      `home ${resolvedPrefix(placement, user)} exists`,
    );
  } catch (err) {
    const reason = err instanceof StallingError ? asReason(err.reason) : Reason.StorageError;
    markUser(run, ConditionType.StorageReady, false, reason, (err as Error).message);
    if (err instanceof S3ManagerError && !err.transient) {
      throw new WaitingError(reason, err.message, SERVER_RETRY_MS, { cause: err });
    }
    throw err;
  }
};
