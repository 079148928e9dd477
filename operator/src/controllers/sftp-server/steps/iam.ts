// IAM: the integration point (controllers/context.ts IamIntegration) for modes STS and AWS; mode None reports none.
import { asReason, ConditionType, Reason } from '../../../api/conditions.ts';
import { removeCondition } from '../../../runtime/conditions.ts';
import { StallingError, WaitingError } from '../../../runtime/errors.ts';
import { placed, type ServerStep, STORAGE_RETRY_MS } from '../run.ts';
import { mark } from './mark.ts';

export const iamStep: ServerStep = async (run) => {
  const { ctx, status, signal } = run;
  const iam = ctx.iam;
  const target = placed(run);
  const mode = target.placement.iam.mode;
  if (mode === 'None' || !iam) {
    status.conditions = removeCondition(status.conditions, ConditionType.IAMReady);
    if (mode !== 'None') {
      const message = `iam.mode ${mode} is not available in this operator build`;
      mark(run, ConditionType.IAMReady, false, Reason.IAMError, message);
      throw new StallingError(Reason.IAMError, message);
    }
    delete status.iam;
    return;
  }
  const r = await iam.reconcileServer(target, signal);
  if (r.status) status.iam = r.status;
  const reason = asReason(r.reason, Reason.IAMError);
  mark(run, ConditionType.IAMReady, r.ready, reason, r.message);
  if (!r.ready) throw new WaitingError(reason, r.message, STORAGE_RETRY_MS);
};
