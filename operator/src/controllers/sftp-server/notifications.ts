// A server's webhook (spec.notifications.webhook) as the pods receive it: refused unless its URL falls under one of
// the profile's notifications.allowedDestinations (common/src/notify/destination.ts, the matcher the pods apply
// again); otherwise environment variables naming the URL and the entry that allowed it, and the tenant's HMAC key
// Secret mounted as a file — the operator never reads or copies the key. Pure.
import type { V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { matchDestination } from '../../../../common/src/notify/destination.ts';
import type { SftpServer } from '../../api/types.generated.ts';
import type { Placement } from '../placement.ts';

export const NOTIFY_KEY_DIR = '/etc/sftpgate/notify';
const KEY_FILE = 'hmac-key';

/** Why the profile does not allow the server's webhook, or undefined (also when there is none). */
export function webhookRefusal(server: SftpServer, placement: Pick<Placement, 'notifications'>): string | undefined {
  const webhook = server.spec.notifications?.webhook;
  if (!webhook) return undefined;
  const match = matchDestination(webhook.url, placement.notifications);
  return match.ok ? undefined : `notifications.webhook.url: ${match.reason}`;
}

/** The pod's --notify-* environment; empty without a webhook or when the profile does not allow it. */
export function notifyEnv(server: SftpServer, placement: Pick<Placement, 'notifications'>): V1EnvVar[] {
  const webhook = server.spec.notifications?.webhook;
  if (!webhook) return [];
  const match = matchDestination(webhook.url, placement.notifications);
  if (!match.ok) return [];
  const e = match.entry;
  return [
    { name: 'SFTPGATE_NOTIFY_URL', value: webhook.url },
    { name: 'SFTPGATE_NOTIFY_ALLOWED_PREFIX', value: e.urlPrefix },
    { name: 'SFTPGATE_NOTIFY_ALLOW_HTTP', value: String(e.allowInsecureHTTP === true) },
    { name: 'SFTPGATE_NOTIFY_ALLOW_PRIVATE_ADDRESSES', value: String(e.allowPrivateAddresses === true) },
    { name: 'SFTPGATE_NOTIFY_EVENTS', value: webhook.events.join(',') },
    { name: 'SFTPGATE_NOTIFY_HMAC_KEY_FILE', value: `${NOTIFY_KEY_DIR}/${KEY_FILE}` },
    { name: 'SFTPGATE_NOTIFY_QUEUE_SIZE', value: String(webhook.queueSize) },
    { name: 'SFTPGATE_NOTIFY_MAX_AGE', value: webhook.maxAge },
  ];
}

/** The key Secret's volume and mount (only the one key, as a file the pod re-reads); none without a webhook. */
export function notifyVolumes(server: SftpServer): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const webhook = server.spec.notifications?.webhook;
  if (!webhook) return { volumes: [], mounts: [] };
  return {
    volumes: [
      {
        name: 'notify-key',
        secret: {
          secretName: webhook.secretRef.name,
          defaultMode: 0o440,
          items: [{ key: webhook.secretRef.key, path: KEY_FILE }],
        },
      },
    ],
    mounts: [{ name: 'notify-key', mountPath: NOTIFY_KEY_DIR, readOnly: true }],
  };
}
