// Placement: the server may use its profile (exists, selects the namespace, no overlap, within the caps) and asks
// only for what it allows. A refusal is StorageReady False with the registry's reason. A server never placed stops
// here: nothing is written anywhere. A server that was placed and no longer may (the platform withdrew its namespace,
// say) goes on to the users table, which then revokes every login, and stops right after it (refusalStep).
import { ConditionType } from '../../../api/conditions.ts';
import { StallingError } from '../../../runtime/errors.ts';
import { placementOf } from '../../placement-of.ts';
import type { ServerStep } from '../run.ts';
import { mark } from './mark.ts';

export const placementStep: ServerStep = async (run) => {
  const r = placementOf(run.ctx, run.server);
  if ('refusal' in r) {
    mark(run, ConditionType.StorageReady, false, r.refusal.reason, r.refusal.message);
    if (run.status.location === undefined) throw new StallingError(r.refusal.reason, r.refusal.message);
    run.refusal = r.refusal;
    return;
  }
  run.placement = r.placement;
  run.status.location = `s3://${r.placement.bucket}/${r.placement.prefix}/`;
};

/** After the users table revoked everything of a server that lost its placement: stop, until something changes. */
export const refusalStep: ServerStep = async (run) => {
  if (run.refusal) throw new StallingError(run.refusal.reason, run.refusal.message);
};
