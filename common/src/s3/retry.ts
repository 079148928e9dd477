// Which failures are worth another attempt, and how long to wait: the AWS SDK's "standard" retry mode, which the pod
// used until now (3 attempts; full-jitter exponential backoff from 100 ms, 500 ms for throttling, capped at 20 s).
// Retried: throttling codes and 429, 5xx and S3's 200-with-error answers, timeouts, connection resets/refusals.
// Never retried: an abort, any other 4xx, and anything after a streamed GET body was handed to the caller (the
// client's job: it returns before the body is read).

export const DEFAULT_MAX_ATTEMPTS = 3;
const BASE_DELAY_MS = 100;
const THROTTLING_BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 20_000;

const THROTTLING: ReadonlySet<string> = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'TooManyRequests',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);
const TRANSIENT: ReadonlySet<string> = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

export type RetryKind = 'throttling' | 'transient' | 'none';

interface ErrorLike {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly Code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
  readonly $fault?: unknown;
}

/** How to treat `err` from one attempt. */
export function retryKind(err: unknown): RetryKind {
  if (typeof err !== 'object' || err === null) return 'none';
  const e = err as ErrorLike;
  if (e.name === 'AbortError') return 'none';
  const names = [e.Code, e.name, e.code].filter((v): v is string => typeof v === 'string');
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  if (status === 429 || names.some((n) => THROTTLING.has(n))) return 'throttling';
  if (names.some((n) => TRANSIENT.has(n))) return 'transient';
  if (status !== undefined && status >= 500) return 'transient';
  if (e.$fault === 'server') return 'transient';
  return 'none';
}

/** Full-jitter delay before attempt `attempt + 1` (attempt counts from 1). `random` in [0, 1). */
export function backoffMs(kind: RetryKind, attempt: number, random = Math.random()): number {
  const base = kind === 'throttling' ? THROTTLING_BASE_DELAY_MS : BASE_DELAY_MS;
  return Math.floor(Math.min(MAX_DELAY_MS, random * 2 ** attempt * base));
}
