// Pod-template fields: a server may set only the annotations, labels, node keys, tolerations and priority class its
// profile allows (SftpStorageProfile.spec.podTemplate). A refusal is StorageReady False with PodFieldNotAllowed, like
// the placement's other "not allowed by the profile" refusals, and stops the pass before host keys, storage, IAM and
// the Deployment: a refused server gets no pods. The users table (built before) keeps revocation working.
import { ConditionType, Reason } from '../../../api/conditions.ts';
import { StallingError } from '../../../runtime/errors.ts';
import { disallowedPodField } from '../pod-fields.ts';
import type { ServerStep } from '../run.ts';
import { mark } from './mark.ts';

export const podFieldsStep: ServerStep = async (run) => {
  const profile = run.ctx.profiles.get(run.server.spec.storage.profile);
  const refusal = disallowedPodField(run.server.spec, profile?.spec.podTemplate);
  if (!refusal) return;
  mark(run, ConditionType.StorageReady, false, Reason.PodFieldNotAllowed, refusal.message);
  throw new StallingError(Reason.PodFieldNotAllowed, refusal.message);
};
