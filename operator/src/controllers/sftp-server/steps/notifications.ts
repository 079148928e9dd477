// Notifications: a server's webhook must point where its profile's notifications.allowedDestinations allow — never
// an arbitrary tenant URL (the cloud metadata service, another namespace's Service). A refusal is StorageReady False
// with NotificationDestinationNotAllowed, like the other "not allowed by the profile" refusals, and stops the pass
// before host keys, storage, IAM and the Deployment: nothing is created or changed, and no request is ever made.
import { ConditionType, Reason } from '../../../api/conditions.ts';
import { StallingError } from '../../../runtime/errors.ts';
import { webhookRefusal } from '../notifications.ts';
import { placed, type ServerStep } from '../run.ts';
import { mark } from './mark.ts';

export const notificationsStep: ServerStep = async (run) => {
  const message = webhookRefusal(run.server, placed(run).placement);
  if (message === undefined) return;
  mark(run, ConditionType.StorageReady, false, Reason.NotificationDestinationNotAllowed, message);
  throw new StallingError(Reason.NotificationDestinationNotAllowed, message);
};
