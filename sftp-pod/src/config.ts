// Flags and environment of the sftp pod (docs/sftp-pod-config.md is the contract). Every flag has an environment
// variable; flags win. Parsing is pure (argv and env in, Config or ConfigError out) so it is unit-tested.
import { readFileSync } from 'node:fs';
import { CodedError } from '../../common/src/errors/coded-error.ts';
import { type AuditTarget, parseAuditTarget } from './audit/audit-log.ts';
import { notifyConfig } from './notify/config.ts';
import type { NotifyConfig } from './notify/notifier.ts';
import { ALGORITHM_POLICY_NAMES, type AlgorithmPolicyName, policyName } from './ssh/algorithms.ts';

export class ConfigError extends CodedError<'SFTPGATE_CONFIG'> {
  constructor(message: string, options?: ErrorOptions) {
    super('SFTPGATE_CONFIG', message, options);
  }
}

export interface Config {
  readonly listen: { readonly host: string; readonly port: number };
  readonly metricsListen: { readonly host: string; readonly port: number };
  readonly hostKeyDir: string;
  readonly usersFile?: string;
  readonly usersSecret?: string;
  readonly namespace?: string;
  readonly kubeconfig?: string;
  readonly s3: {
    readonly endpoint?: string;
    readonly region: string;
    readonly bucket: string;
    readonly prefix: string;
    readonly forcePathStyle: boolean;
    readonly storageClass?: string;
    readonly sse?: 'AES256' | 'aws:kms';
    readonly sseKmsKeyId?: string;
  };
  readonly iamMode: 'None' | 'STS' | 'AWS';
  readonly stsEndpoint?: string;
  readonly dataRoleArn?: string;
  /** STS mode: RoleArn sent with AssumeRole (AWS STS needs one; MinIO ignores it for plain users). */
  readonly stsRoleArn?: string;
  /** Region of the STS client (default: the S3 region). */
  readonly stsRegion?: string;
  /** STS/AWS: lifetime requested for each login's credentials, in seconds (broker default 3600). */
  readonly credentialsDurationSeconds?: number;
  readonly partSize: number;
  readonly uploadConcurrency: number;
  readonly downloadConcurrency: number;
  readonly memoryBudget: number;
  /** Fair shares of memoryBudget (docs/storage.md); 0 = derived from it. */
  readonly uploadBudgetPerUser: number;
  readonly uploadBudgetPerSession: number;
  readonly budgetWaitMs: number;
  readonly uploadIdleReleaseMs: number;
  readonly setstatMode: 'Error' | 'Ignore';
  /** Creating names with control characters, newlines or backslashes (sftp/names.ts). */
  readonly unsafeNames: 'Refuse' | 'Allow';
  readonly idleTimeoutMs: number;
  readonly maxSessionsPerUser: number;
  readonly algorithms: AlgorithmPolicyName;
  readonly banner?: string;
  /** File of trusted user CA public keys (authorized_keys lines) for OpenSSH user certificates. */
  readonly trustedUserCaKeys?: string;
  /** File of revoked user certificates (`serial:<n>` / `id:<key id>` lines). */
  readonly revokedUserCertificates?: string;
  readonly defender: {
    readonly enabled: boolean;
    readonly threshold: number;
    readonly observationMs: number;
    readonly banMs: number;
    readonly maxBanMs: number;
  };
  readonly allowedCidrs?: readonly string[];
  readonly maxRenameObjects: number;
  readonly shutdownGraceMs: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly maxAuthTries: number;
  readonly loginGraceMs: number;
  readonly maxUnauthenticated: number;
  readonly maxUnauthenticatedPerSource: number;
  /** OpenSSH-style start:rate:full random early drop of unauthenticated connections (full = maxUnauthenticated). */
  readonly maxStartups: { readonly start: number; readonly rate: number; readonly full: number };
  readonly maxChannelsPerConnection: number;
  readonly maxHandlesPerUser: number;
  /** 0: unlimited. */
  readonly maxSessionLifetimeMs: number;
  readonly outputTimeoutMs: number;
  readonly maxPasswordHashes: number;
  readonly proxyProtocolCidrs?: readonly string[];
  /** Audit events (docs/audit.md): `stdout` (marked `"audit":true`), `off`, or an absolute file path. */
  readonly auditLog: AuditTarget;
  /** The server named in audit events; default the S3 prefix. */
  readonly serverName?: string;
  /** Compute MD5 of each upload besides SHA-256 (costs CPU; rclone's default hash). */
  readonly uploadMd5: boolean;
  /** READDIR shows stored times (one HeadObject per file listed); false: LastModified, one request per 1,000. */
  readonly listingTimes: boolean;
  /** Stored-time lookups per READDIR reply, and per user per second (burst: 10 s of it). */
  readonly listingTimesMaxPerPage: number;
  readonly listingTimesRate: number;
  /** How long an interrupted upload stays resumable (0: off, a lost session aborts its upload). */
  readonly resumeRetentionMs: number;
  /** Save a running multipart upload's resume state this often, so a pod crash loses little (0: only at interruption). */
  readonly resumeCheckpointMs: number;
  /** Webhook notifications (docs/audit.md "Notifications"); absent without --notify-url. */
  readonly notify?: NotifyConfig;
}

interface Spec {
  readonly flag: string;
  readonly env: string;
}

/** Every option: flag name and environment variable (docs/sftp-pod-config.md; config.test.ts keeps them in step). */
export const OPTIONS = {
  listen: { flag: 'listen', env: 'SFTPGATE_LISTEN' },
  metricsListen: { flag: 'metrics-listen', env: 'SFTPGATE_METRICS_LISTEN' },
  hostKeyDir: { flag: 'host-key-dir', env: 'SFTPGATE_HOST_KEY_DIR' },
  usersFile: { flag: 'users-file', env: 'SFTPGATE_USERS_FILE' },
  usersSecret: { flag: 'users-secret', env: 'SFTPGATE_USERS_SECRET' },
  namespace: { flag: 'namespace', env: 'SFTPGATE_NAMESPACE' },
  kubeconfig: { flag: 'kubeconfig', env: 'KUBECONFIG' },
  s3Endpoint: { flag: 's3-endpoint', env: 'SFTPGATE_S3_ENDPOINT' },
  s3Region: { flag: 's3-region', env: 'SFTPGATE_S3_REGION' },
  s3Bucket: { flag: 's3-bucket', env: 'SFTPGATE_S3_BUCKET' },
  s3Prefix: { flag: 's3-prefix', env: 'SFTPGATE_S3_PREFIX' },
  s3ForcePathStyle: { flag: 's3-force-path-style', env: 'SFTPGATE_S3_FORCE_PATH_STYLE' },
  storageClass: { flag: 'storage-class', env: 'SFTPGATE_S3_STORAGE_CLASS' },
  sse: { flag: 'sse', env: 'SFTPGATE_S3_SSE' },
  sseKmsKeyId: { flag: 'sse-kms-key-id', env: 'SFTPGATE_S3_SSE_KMS_KEY_ID' },
  iamMode: { flag: 'iam-mode', env: 'SFTPGATE_IAM_MODE' },
  stsEndpoint: { flag: 'sts-endpoint', env: 'SFTPGATE_STS_ENDPOINT' },
  dataRoleArn: { flag: 'data-role-arn', env: 'SFTPGATE_DATA_ROLE_ARN' },
  stsRoleArn: { flag: 'sts-role-arn', env: 'SFTPGATE_STS_ROLE_ARN' },
  stsRegion: { flag: 'sts-region', env: 'SFTPGATE_STS_REGION' },
  credentialsDuration: { flag: 'credentials-duration', env: 'SFTPGATE_CREDENTIALS_DURATION' },
  partSize: { flag: 'part-size', env: 'SFTPGATE_PART_SIZE' },
  uploadConcurrency: { flag: 'upload-concurrency', env: 'SFTPGATE_UPLOAD_CONCURRENCY' },
  downloadConcurrency: { flag: 'download-concurrency', env: 'SFTPGATE_DOWNLOAD_CONCURRENCY' },
  memoryBudget: { flag: 'memory-budget', env: 'SFTPGATE_MEMORY_BUDGET' },
  uploadBudgetPerUser: { flag: 'upload-budget-per-user', env: 'SFTPGATE_UPLOAD_BUDGET_PER_USER' },
  uploadBudgetPerSession: { flag: 'upload-budget-per-session', env: 'SFTPGATE_UPLOAD_BUDGET_PER_SESSION' },
  budgetWaitTimeout: { flag: 'budget-wait-timeout', env: 'SFTPGATE_BUDGET_WAIT_TIMEOUT' },
  uploadIdleRelease: { flag: 'upload-idle-release', env: 'SFTPGATE_UPLOAD_IDLE_RELEASE' },
  setstatMode: { flag: 'setstat-mode', env: 'SFTPGATE_SETSTAT_MODE' },
  unsafeNames: { flag: 'unsafe-names', env: 'SFTPGATE_UNSAFE_NAMES' },
  idleTimeout: { flag: 'idle-timeout', env: 'SFTPGATE_IDLE_TIMEOUT' },
  maxSessionsPerUser: { flag: 'max-sessions-per-user', env: 'SFTPGATE_MAX_SESSIONS_PER_USER' },
  algorithms: { flag: 'algorithms', env: 'SFTPGATE_ALGORITHMS' },
  banner: { flag: 'banner', env: 'SFTPGATE_BANNER' },
  trustedUserCaKeys: { flag: 'trusted-user-ca-keys', env: 'SFTPGATE_TRUSTED_USER_CA_KEYS' },
  revokedUserCertificates: { flag: 'revoked-user-certificates', env: 'SFTPGATE_REVOKED_USER_CERTIFICATES' },
  defender: { flag: 'defender', env: 'SFTPGATE_DEFENDER' },
  defenderThreshold: { flag: 'defender-threshold', env: 'SFTPGATE_DEFENDER_THRESHOLD' },
  defenderObservation: { flag: 'defender-observation', env: 'SFTPGATE_DEFENDER_OBSERVATION' },
  defenderBanTime: { flag: 'defender-ban-time', env: 'SFTPGATE_DEFENDER_BAN_TIME' },
  defenderMaxBanTime: { flag: 'defender-max-ban-time', env: 'SFTPGATE_DEFENDER_MAX_BAN_TIME' },
  allowedCidrs: { flag: 'allowed-cidrs', env: 'SFTPGATE_ALLOWED_CIDRS' },
  maxRenameObjects: { flag: 'max-rename-objects', env: 'SFTPGATE_MAX_RENAME_OBJECTS' },
  shutdownGrace: { flag: 'shutdown-grace', env: 'SFTPGATE_SHUTDOWN_GRACE' },
  logLevel: { flag: 'log-level', env: 'SFTPGATE_LOG_LEVEL' },
  maxAuthTries: { flag: 'max-auth-tries', env: 'SFTPGATE_MAX_AUTH_TRIES' },
  loginGraceTime: { flag: 'login-grace-time', env: 'SFTPGATE_LOGIN_GRACE_TIME' },
  maxUnauthenticated: { flag: 'max-unauthenticated', env: 'SFTPGATE_MAX_UNAUTHENTICATED' },
  maxUnauthenticatedPerSource: {
    flag: 'max-unauthenticated-per-source',
    env: 'SFTPGATE_MAX_UNAUTHENTICATED_PER_SOURCE',
  },
  maxStartups: { flag: 'max-startups', env: 'SFTPGATE_MAX_STARTUPS' },
  maxChannelsPerConnection: { flag: 'max-channels-per-connection', env: 'SFTPGATE_MAX_CHANNELS_PER_CONNECTION' },
  maxHandlesPerUser: { flag: 'max-handles-per-user', env: 'SFTPGATE_MAX_HANDLES_PER_USER' },
  maxSessionLifetime: { flag: 'max-session-lifetime', env: 'SFTPGATE_MAX_SESSION_LIFETIME' },
  outputTimeout: { flag: 'output-timeout', env: 'SFTPGATE_OUTPUT_TIMEOUT' },
  maxPasswordHashes: { flag: 'max-password-hashes', env: 'SFTPGATE_MAX_PASSWORD_HASHES' },
  proxyProtocolCidrs: { flag: 'proxy-protocol-cidrs', env: 'SFTPGATE_PROXY_PROTOCOL_CIDRS' },
  auditLog: { flag: 'audit-log', env: 'SFTPGATE_AUDIT_LOG' },
  serverName: { flag: 'server-name', env: 'SFTPGATE_SERVER_NAME' },
  uploadMd5: { flag: 'upload-md5', env: 'SFTPGATE_UPLOAD_MD5' },
  listingTimes: { flag: 'listing-times', env: 'SFTPGATE_LISTING_TIMES' },
  listingTimesMaxPerPage: { flag: 'listing-times-max-per-page', env: 'SFTPGATE_LISTING_TIMES_MAX_PER_PAGE' },
  listingTimesRate: { flag: 'listing-times-rate', env: 'SFTPGATE_LISTING_TIMES_RATE' },
  resumeRetention: { flag: 'resume-retention', env: 'SFTPGATE_RESUME_RETENTION' },
  resumeCheckpoint: { flag: 'resume-checkpoint', env: 'SFTPGATE_RESUME_CHECKPOINT' },
  notifyUrl: { flag: 'notify-url', env: 'SFTPGATE_NOTIFY_URL' },
  notifyAllowedPrefix: { flag: 'notify-allowed-prefix', env: 'SFTPGATE_NOTIFY_ALLOWED_PREFIX' },
  notifyAllowHttp: { flag: 'notify-allow-http', env: 'SFTPGATE_NOTIFY_ALLOW_HTTP' },
  notifyAllowPrivate: { flag: 'notify-allow-private-addresses', env: 'SFTPGATE_NOTIFY_ALLOW_PRIVATE_ADDRESSES' },
  notifyEvents: { flag: 'notify-events', env: 'SFTPGATE_NOTIFY_EVENTS' },
  notifyHmacKeyFile: { flag: 'notify-hmac-key-file', env: 'SFTPGATE_NOTIFY_HMAC_KEY_FILE' },
  notifyQueueSize: { flag: 'notify-queue-size', env: 'SFTPGATE_NOTIFY_QUEUE_SIZE' },
  notifyMaxAge: { flag: 'notify-max-age', env: 'SFTPGATE_NOTIFY_MAX_AGE' },
  notifyTimeout: { flag: 'notify-timeout', env: 'SFTPGATE_NOTIFY_TIMEOUT' },
  notifyRetryBase: { flag: 'notify-retry-base', env: 'SFTPGATE_NOTIFY_RETRY_BASE' },
  notifyRetryMax: { flag: 'notify-retry-max', env: 'SFTPGATE_NOTIFY_RETRY_MAX' },
} as const satisfies Record<string, Spec>;

type Key = keyof typeof OPTIONS;

export const USAGE = `usage: sftpgate-sftp [--flag value | --flag=value]...
Standalone: sftpgate-sftp --users-file users.yaml --host-key-dir ./keys --s3-bucket B [--s3-endpoint URL]
Every flag has an environment variable (flags win); see docs/sftp-pod-config.md:
${Object.values(OPTIONS)
  .map((o) => `  --${o.flag.padEnd(32)} ${o.env}`)
  .join('\n')}`;

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
};

export function parseSize(what: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? SIZE_UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError(`${what}: invalid size ${JSON.stringify(text)} (e.g. 8MiB)`);
  return Math.floor(Number(m[1]) * unit);
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations: `30s`, `15m`, `1h30m`, `250ms`. */
export function parseDuration(what: string, text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (const m of text.trim().matchAll(re)) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] ?? ''] ?? 0);
    matched += m[0].length;
  }
  if (matched === 0 || matched !== text.trim().length) {
    throw new ConfigError(`${what}: invalid duration ${JSON.stringify(text)} (e.g. 30s, 15m)`);
  }
  return total;
}

function parseListen(what: string, text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  const host = (i < 0 ? '0.0.0.0' : text.slice(0, i)).replace(/^\[(.*)\]$/, '$1');
  const port = Number(i < 0 ? text : text.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`${what}: invalid address ${JSON.stringify(text)} (host:port)`);
  }
  return { host: host || '0.0.0.0', port };
}

/** `start:rate:full` (OpenSSH MaxStartups) or a single number (start = full, no random drop). */
function parseMaxStartups(what: string, text: string): { start: number; rate: number; full: number } {
  const parts = text.split(':').map((p) => Number(p.trim()));
  const [start, rate, full] = parts.length === 1 ? [parts[0], 100, parts[0]] : parts;
  if (
    (parts.length !== 1 && parts.length !== 3) ||
    [start, rate, full].some((n) => n === undefined || !Number.isInteger(n) || n < 0) ||
    (start ?? 0) < 1 ||
    (rate ?? 0) > 100 ||
    (full ?? 0) < (start ?? 0)
  ) {
    throw new ConfigError(`${what}: expected start:rate:full with 1 <= start <= full and rate <= 100, got ${text}`);
  }
  return { start: start ?? 1, rate: rate ?? 100, full: full ?? 1 };
}

/** A duration, or 0 / off for none. */
function parseOptionalDuration(what: string, text: string): number {
  return ['0', 'off', 'none'].includes(text.trim().toLowerCase()) ? 0 : parseDuration(what, text);
}

function parseCidrList(text: string): string[] {
  return text
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
}

function parseInt_(what: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${what}: expected an integer >= ${min}, got ${text}`);
  return n;
}

function parseBool(what: string, text: string): boolean {
  const t = text.toLowerCase();
  if (['true', '1', 'on', 'yes'].includes(t)) return true;
  if (['false', '0', 'off', 'no'].includes(t)) return false;
  throw new ConfigError(`${what}: expected on/off or true/false, got ${JSON.stringify(text)}`);
}

function oneOf<T extends string>(what: string, text: string, allowed: readonly T[]): T {
  const hit = allowed.find((a) => a.toLowerCase() === text.toLowerCase());
  if (!hit) throw new ConfigError(`${what}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(text)}`);
  return hit;
}

/** Parses argv (without node and script) and env. Throws ConfigError; `--help` throws ConfigError with USAGE. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config {
  const byFlag = new Map<string, Key>(Object.entries(OPTIONS).map(([k, o]) => [o.flag, k as Key]));
  const flags = new Map<Key, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') throw new ConfigError(USAGE);
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/s.exec(arg);
    const key = m?.[1] ? byFlag.get(m[1]) : undefined;
    if (!m || !key) throw new ConfigError(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    let value = m[2];
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new ConfigError(`--${m[1]} needs a value`);
    }
    flags.set(key, value);
  }
  const get = (k: Key): string | undefined => {
    const v = flags.get(k) ?? env[OPTIONS[k].env];
    return v === undefined || v === '' ? undefined : v;
  };
  const name = (k: Key) => `--${OPTIONS[k].flag}`;
  const opt = <T>(k: Key, parse: (what: string, text: string) => T, fallback: T): T => {
    const v = get(k);
    return v === undefined ? fallback : parse(name(k), v);
  };

  const bucket = get('s3Bucket');
  if (!bucket) throw new ConfigError(`${name('s3Bucket')} (or ${OPTIONS.s3Bucket.env}) is required`);
  const usersFile = get('usersFile');
  const usersSecret = get('usersSecret');
  if (!usersFile === !usersSecret) {
    throw new ConfigError(`exactly one of ${name('usersFile')} and ${name('usersSecret')} is required`);
  }
  const sse = get('sse');
  const partSize = opt('partSize', parseSize, 8 * 1024 ** 2);
  if (partSize < 5 * 1024 ** 2) throw new ConfigError(`${name('partSize')} must be at least 5MiB (an S3 limit)`);
  const memoryBudget = opt('memoryBudget', parseSize, 256 * 1024 ** 2);
  const uploadConcurrency = opt('uploadConcurrency', (w, t) => parseInt_(w, t, 1), 4);
  if (memoryBudget < partSize * 2) {
    throw new ConfigError(`${name('memoryBudget')} must hold at least two parts (${2 * partSize} bytes)`);
  }
  for (const k of ['uploadBudgetPerUser', 'uploadBudgetPerSession'] as const) {
    const v = opt(k, parseSize, 0);
    if (v !== 0 && v < partSize * 2)
      throw new ConfigError(`${name(k)} must hold at least two parts (${2 * partSize} bytes)`);
  }
  let namespace = get('namespace');
  if (!namespace && usersSecret) {
    try {
      namespace = readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
    } catch (cause) {
      throw new ConfigError(`${name('namespace')} is required outside a pod`, { cause });
    }
  }
  const cidrs = get('allowedCidrs');
  const proxyCidrs = get('proxyProtocolCidrs');
  const serverName = get('serverName');
  const maxUnauthenticated = opt('maxUnauthenticated', (w, t) => parseInt_(w, t, 1), 128);
  const endpoint = get('s3Endpoint');
  const storageClass = get('storageClass');
  const kms = get('sseKmsKeyId');
  const stsEndpoint = get('stsEndpoint');
  const dataRoleArn = get('dataRoleArn');
  const stsRoleArn = get('stsRoleArn');
  const stsRegion = get('stsRegion');
  const credentialsDuration = get('credentialsDuration');
  const credentialsDurationMs =
    credentialsDuration === undefined ? undefined : parseDuration(name('credentialsDuration'), credentialsDuration);
  if (credentialsDurationMs !== undefined && credentialsDurationMs % 1000 !== 0) {
    throw new ConfigError(`${name('credentialsDuration')} must be whole seconds, got ${credentialsDuration}`);
  }
  const kubeconfig = get('kubeconfig');
  const banner = get('banner');
  const trustedUserCaKeys = get('trustedUserCaKeys');
  const revokedUserCertificates = get('revokedUserCertificates');
  const notify = notifyConfig(
    {
      url: get('notifyUrl'),
      allowedPrefix: get('notifyAllowedPrefix'),
      allowHttp: opt('notifyAllowHttp', parseBool, false),
      allowPrivate: opt('notifyAllowPrivate', parseBool, false),
      events: get('notifyEvents'),
      hmacKeyFile: get('notifyHmacKeyFile'),
      queueSize: opt('notifyQueueSize', (w, t) => parseInt_(w, t, 1), 10_000),
      maxAgeMs: opt('notifyMaxAge', parseDuration, 24 * 3_600_000),
      timeoutMs: opt('notifyTimeout', parseDuration, 10_000),
      retryBaseMs: opt('notifyRetryBase', parseDuration, 1_000),
      retryMaxMs: opt('notifyRetryMax', parseDuration, 5 * 60_000),
    },
    (message) => {
      throw new ConfigError(message);
    },
  );
  return {
    listen: opt('listen', parseListen, { host: '0.0.0.0', port: 2222 }),
    metricsListen: opt('metricsListen', parseListen, { host: '0.0.0.0', port: 9090 }),
    hostKeyDir: get('hostKeyDir') ?? '/etc/sftpgate/host-keys',
    ...(usersFile ? { usersFile } : {}),
    ...(usersSecret ? { usersSecret } : {}),
    ...(namespace ? { namespace } : {}),
    ...(kubeconfig ? { kubeconfig } : {}),
    s3: {
      ...(endpoint ? { endpoint } : {}),
      region: get('s3Region') ?? 'us-east-1',
      bucket,
      prefix: (get('s3Prefix') ?? '').replace(/^\/+|\/+$/g, ''),
      forcePathStyle: opt('s3ForcePathStyle', parseBool, false),
      ...(storageClass ? { storageClass } : {}),
      ...(sse ? { sse: oneOf(name('sse'), sse, ['AES256', 'aws:kms'] as const) } : {}),
      ...(kms ? { sseKmsKeyId: kms } : {}),
    },
    iamMode: opt('iamMode', (w, t) => oneOf(w, t, ['None', 'STS', 'AWS'] as const), 'None'),
    ...(stsEndpoint ? { stsEndpoint } : {}),
    ...(dataRoleArn ? { dataRoleArn } : {}),
    ...(stsRoleArn ? { stsRoleArn } : {}),
    ...(stsRegion ? { stsRegion } : {}),
    ...(credentialsDurationMs !== undefined ? { credentialsDurationSeconds: credentialsDurationMs / 1000 } : {}),
    partSize,
    uploadConcurrency,
    downloadConcurrency: opt('downloadConcurrency', (w, t) => parseInt_(w, t, 1), 4),
    memoryBudget,
    uploadBudgetPerUser: Math.min(memoryBudget, opt('uploadBudgetPerUser', parseSize, 0)),
    uploadBudgetPerSession: Math.min(memoryBudget, opt('uploadBudgetPerSession', parseSize, 0)),
    budgetWaitMs: opt('budgetWaitTimeout', parseDuration, 60_000),
    uploadIdleReleaseMs: opt('uploadIdleRelease', parseDuration, 120_000),
    setstatMode: opt('setstatMode', (w, t) => oneOf(w, t, ['Error', 'Ignore'] as const), 'Error'),
    unsafeNames: opt('unsafeNames', (w, t) => oneOf(w, t, ['Refuse', 'Allow'] as const), 'Refuse'),
    idleTimeoutMs: opt('idleTimeout', parseDuration, 15 * 60_000),
    maxSessionsPerUser: opt('maxSessionsPerUser', (w, t) => parseInt_(w, t, 1), 10),
    algorithms: opt('algorithms', (w, t) => policyName(t) ?? oneOf(w, t, ALGORITHM_POLICY_NAMES), 'default'),
    ...(banner ? { banner } : {}),
    ...(trustedUserCaKeys ? { trustedUserCaKeys } : {}),
    ...(revokedUserCertificates ? { revokedUserCertificates } : {}),
    defender: {
      enabled: opt('defender', parseBool, true),
      threshold: opt('defenderThreshold', (w, t) => parseInt_(w, t, 1), 10),
      observationMs: opt('defenderObservation', parseDuration, 10 * 60_000),
      banMs: opt('defenderBanTime', parseDuration, 5 * 60_000),
      maxBanMs: opt('defenderMaxBanTime', parseDuration, 24 * 3_600_000),
    },
    ...(cidrs ? { allowedCidrs: parseCidrList(cidrs) } : {}),
    maxRenameObjects: opt('maxRenameObjects', (w, t) => parseInt_(w, t, 0), 1000),
    shutdownGraceMs: opt('shutdownGrace', parseDuration, 30_000),
    logLevel: opt('logLevel', (w, t) => oneOf(w, t, ['debug', 'info', 'warn', 'error'] as const), 'info'),
    maxAuthTries: opt('maxAuthTries', (w, t) => parseInt_(w, t, 1), 6),
    loginGraceMs: opt('loginGraceTime', parseDuration, 30_000),
    maxUnauthenticated,
    maxUnauthenticatedPerSource: opt('maxUnauthenticatedPerSource', (w, t) => parseInt_(w, t, 1), 8),
    maxStartups: opt('maxStartups', parseMaxStartups, {
      start: Math.max(1, Math.floor(maxUnauthenticated / 2)),
      rate: 30,
      full: maxUnauthenticated,
    }),
    maxChannelsPerConnection: opt('maxChannelsPerConnection', (w, t) => parseInt_(w, t, 1), 4),
    maxHandlesPerUser: opt('maxHandlesPerUser', (w, t) => parseInt_(w, t, 1), 256),
    maxSessionLifetimeMs: opt('maxSessionLifetime', parseOptionalDuration, 24 * 3_600_000),
    outputTimeoutMs: opt('outputTimeout', parseDuration, 2 * 60_000),
    maxPasswordHashes: opt('maxPasswordHashes', (w, t) => parseInt_(w, t, 1), 4),
    ...(proxyCidrs ? { proxyProtocolCidrs: parseCidrList(proxyCidrs) } : {}),
    auditLog: opt('auditLog', parseAudit, 'stdout'),
    ...(serverName ? { serverName } : {}),
    uploadMd5: opt('uploadMd5', parseBool, false),
    listingTimes: opt('listingTimes', parseBool, true),
    listingTimesMaxPerPage: opt('listingTimesMaxPerPage', (w, t) => parseInt_(w, t, 1), 100),
    listingTimesRate: opt('listingTimesRate', (w, t) => parseInt_(w, t, 1), 100),
    resumeRetentionMs: opt('resumeRetention', parseOptionalDuration, 24 * 3_600_000),
    resumeCheckpointMs: opt('resumeCheckpoint', parseOptionalDuration, 60_000),
    ...(notify ? { notify } : {}),
  };
}

function parseAudit(what: string, text: string): AuditTarget {
  const t = parseAuditTarget(text);
  if (!t) throw new ConfigError(`${what}: expected stdout, off or an absolute file path, got ${JSON.stringify(text)}`);
  return t;
}
