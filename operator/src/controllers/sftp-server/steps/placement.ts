// Placement: the server may use its profile (exists, selects the namespace, no overlap, within the caps) and asks
// only for what it allows. A refusal is StorageReady False with the registry's reason; nothing is written anywhere.
import { ConditionType } from '../../../api/conditions.ts';
import { StallingError } from '../../../runtime/errors.ts';
import { placementOf } from '../../placement-of.ts';
import type { ServerStep } from '../run.ts';
import { mark } from './mark.ts';

export const placementStep: ServerStep = async (run) => {
  const r = placementOf(run.ctx, run.server);
  if ('refusal' in r) {
    mark(run, ConditionType.StorageReady, false, r.refusal.reason, r.refusal.message);
    throw new StallingError(r.refusal.reason, r.refusal.message);
  }
  run.placement = r.placement;
  run.status.location = `s3://${r.placement.bucket}/${r.placement.prefix}/`;
};
