// The notification flags of the pod (docs/sftp-pod-config.md "Notifications"), parsed apart from config.ts so that
// file only lists them. Pure: reads values through `get`, throws the caller's error type through `fail`.
import { invalidWebhookUrl, matchDestination } from '../../../common/src/notify/destination.ts';
import type { NotifyConfig } from './notifier.ts';

/** Audit actions a server may be notified of (docs/audit.md); `notify` itself never is. */
export const NOTIFIABLE_EVENTS = [
  'upload',
  'download',
  'delete',
  'rename',
  'mkdir',
  'rmdir',
  'setstat',
  'copy',
  'link',
  'login',
  'logout',
] as const;

export interface NotifyFlagValues {
  readonly url: string | undefined;
  readonly allowedPrefix: string | undefined;
  readonly allowHttp: boolean;
  readonly allowPrivate: boolean;
  readonly events: string | undefined;
  readonly hmacKeyFile: string | undefined;
  readonly queueSize: number;
  readonly maxAgeMs: number;
  readonly timeoutMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

/** The notifier's configuration, or undefined without --notify-url. `fail` throws (ConfigError). */
export function notifyConfig(v: NotifyFlagValues, fail: (message: string) => never): NotifyConfig | undefined {
  if (v.url === undefined) {
    if (v.allowedPrefix !== undefined || v.hmacKeyFile !== undefined) {
      fail('--notify-allowed-prefix and --notify-hmac-key-file need --notify-url');
    }
    return undefined;
  }
  const invalid = invalidWebhookUrl(v.url);
  if (invalid !== undefined) fail(`--notify-url: ${invalid}`);
  if (v.allowedPrefix === undefined) {
    fail('--notify-url needs --notify-allowed-prefix (the destination the platform allows)');
  }
  if (v.hmacKeyFile === undefined) fail('--notify-url needs --notify-hmac-key-file (deliveries are always signed)');
  const events = (v.events ?? 'upload')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const unknown = events.filter((e) => !(NOTIFIABLE_EVENTS as readonly string[]).includes(e));
  if (unknown.length > 0 || events.length === 0) {
    fail(`--notify-events: expected some of ${NOTIFIABLE_EVENTS.join(', ')}, got ${JSON.stringify(v.events)}`);
  }
  if (v.retryMaxMs < v.retryBaseMs) fail('--notify-retry-max must be at least --notify-retry-base');
  const allowed = {
    urlPrefix: v.allowedPrefix as string,
    allowInsecureHTTP: v.allowHttp,
    allowPrivateAddresses: v.allowPrivate,
  };
  const match = matchDestination(v.url, [allowed]);
  if (!match.ok) fail(`--notify-url: ${match.reason} (--notify-allowed-prefix)`);
  return {
    url: v.url,
    allowed,
    events,
    hmacKeyFile: v.hmacKeyFile as string,
    queueSize: v.queueSize,
    maxAgeMs: v.maxAgeMs,
    timeoutMs: v.timeoutMs,
    retryBaseMs: v.retryBaseMs,
    retryMaxMs: v.retryMaxMs,
  };
}
