// Per-login S3 credentials for the data plane (docs/iam.md).
//
//   None: every login shares the base S3 client; isolation is the path jail alone.
//   STS:  AssumeRole against an S3-compatible STS (MinIO) with the base credentials and the user's session policy.
//   AWS:  AssumeRole of the server's data role (from the pod role's identity) with the user's session policy,
//         RoleSessionName `sftpgate-<user>-<session>` and SourceIdentity `<user>`, both visible in CloudTrail.
//
// Credentials are cached per user (and policy) until `refreshBeforeSeconds` before they expire. The S3 client handed
// to a session gets a credentials PROVIDER, not a value: the SDK asks it again when the identity nears its expiration,
// so an upload that outlives one set of credentials keeps signing with the next. Any STS failure is a
// CredentialError that refuses the login (or fails the request in flight): never a fallback to broader credentials.

import { createHash, randomBytes } from 'node:crypto';
import { AssumeRoleCommand, type AssumeRoleCommandOutput, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { S3Client } from '../../../common/src/s3/client.ts';
import { type Credentials, type CredentialsProvider, REFRESH_WINDOW_MS } from '../../../common/src/s3/credentials.ts';
import { CredentialError, CredentialErrorCode, type StsResult } from './errors.ts';

export type IamMode = 'None' | 'STS' | 'AWS';

export type { Credentials, CredentialsProvider } from '../../../common/src/s3/credentials.ts';

export interface CredentialBrokerConfig {
  readonly mode: IamMode;
  /** S3 connection shared by every client the broker makes. */
  readonly s3: { readonly region: string; readonly endpoint?: string; readonly forcePathStyle?: boolean };
  /**
   * None/STS: the base credentials (from the Secret). AWS: the pod role's credentials; omitted means the SDK's default
   * chain (IRSA web identity or EKS Pod Identity, as the ServiceAccount provides).
   */
  readonly baseCredentials?: Credentials | CredentialsProvider;
  /** STS endpoint URL: required in STS mode (MinIO serves STS on its S3 port); AWS mode uses the regional endpoint. */
  readonly stsEndpoint?: string;
  /** Region of the STS client; default the S3 region. */
  readonly stsRegion?: string;
  /** AWS mode: the data role to assume. STS mode: sent as RoleArn if set (MinIO ignores it for plain users). */
  readonly roleArn?: string;
  /** Lifetime requested per session, 900..43200 s (AWS mode: at most 3600, the role-chaining cap). Default 3600. */
  readonly durationSeconds?: number;
  /** Mint new credentials this long before the old ones expire. Default 300 s; under durationSeconds. */
  readonly refreshBeforeSeconds?: number;
  /** Counts each STS call by outcome: wire to `sftpgate_sts_requests_total{result}`. */
  readonly onStsRequest?: (result: StsResult) => void;
  /** Injectable clock (ms since epoch) for tests. */
  readonly now?: () => number;
}

export interface LoginUser {
  readonly username: string;
  /** The packed session policy from the users table; required in STS/AWS mode. */
  readonly sessionPolicy?: string | null | undefined;
}

export interface CredentialBroker {
  /**
   * The S3 client for one login. STS/AWS: mints (or reuses cached) scoped credentials first and rejects with a
   * CredentialError if it cannot; the returned client refreshes them by itself. Do not destroy() the client: it
   * shares the broker's connection pool (close() the broker instead).
   */
  clientFor(user: LoginUser, sessionId: string, signal?: AbortSignal): Promise<S3Client>;
  /** The scoped credentials provider for a user (what clientFor's client uses); exposed for tests and diagnostics. */
  credentialsFor(user: LoginUser, sessionId: string): CredentialsProvider;
  /** Releases every client and cached credential. */
  close(): void;
}

const MIN_DURATION = 900;
const MAX_DURATION = 43_200;
/** AWS: a role assumed with role credentials (role chaining) is capped at one hour whatever the role allows. */
const MAX_CHAINED_DURATION = 3600;
/** The S3 client re-asks a provider when the credentials it holds expire within this window (credentials.ts). */
const SDK_REFRESH_WINDOW_MS = REFRESH_WINDOW_MS;
/** Cached entries idle this long after their refresh point are dropped. */
const IDLE_EVICT_MS = 3_600_000;

interface Entry {
  current?: { readonly credentials: Credentials; readonly refreshAt: number; readonly expiresAt: number };
  inflight?: Promise<Credentials> | undefined;
  client?: S3Client;
  lastUsed: number;
}

/** Validates the configuration and builds the broker. Throws CredentialError INVALID_CONFIG. No I/O. */
export function createCredentialBroker(config: CredentialBrokerConfig): CredentialBroker {
  const now = config.now ?? Date.now;
  const duration = config.durationSeconds ?? 3600;
  const refreshBefore = config.refreshBeforeSeconds ?? 300;
  const invalid = (message: string) => new CredentialError(CredentialErrorCode.InvalidConfig, message);
  if (!Number.isInteger(duration) || duration < MIN_DURATION || duration > MAX_DURATION) {
    throw invalid(`durationSeconds must be an integer in ${MIN_DURATION}..${MAX_DURATION}, got ${duration}`);
  }
  if (config.mode === 'AWS' && duration > MAX_CHAINED_DURATION) {
    throw invalid(`durationSeconds must be at most ${MAX_CHAINED_DURATION} in AWS mode (role chaining cap)`);
  }
  if (!(refreshBefore >= 0 && refreshBefore < duration)) {
    throw invalid(`refreshBeforeSeconds must be in 0..${duration - 1}, got ${refreshBefore}`);
  }
  if (config.mode === 'STS' && !config.stsEndpoint) throw invalid('STS mode needs stsEndpoint');
  if (config.mode === 'AWS' && !config.roleArn) throw invalid('AWS mode needs roleArn (the data role)');
  if (config.mode !== 'AWS' && config.mode !== 'STS' && config.mode !== 'None') {
    throw invalid(`unknown IAM mode ${JSON.stringify(config.mode)}`);
  }

  // One connection pool for every client; per-user clients differ only in their credentials provider.
  let base: S3Client | undefined;
  let sts: STSClient | undefined;
  const entries = new Map<string, Entry>();
  let closed = false;

  const s3Options = {
    region: config.s3.region,
    ...(config.s3.endpoint !== undefined && { endpoint: config.s3.endpoint }),
    ...(config.s3.forcePathStyle !== undefined && { forcePathStyle: config.s3.forcePathStyle }),
  };
  const baseClient = (): S3Client => {
    base ??= new S3Client({
      ...s3Options,
      ...(config.baseCredentials !== undefined && { credentials: config.baseCredentials }),
    });
    return base;
  };
  const stsClient = (): STSClient => {
    sts ??= new STSClient({
      region: config.stsRegion ?? config.s3.region,
      ...(config.stsEndpoint !== undefined && { endpoint: config.stsEndpoint }),
      ...(config.baseCredentials !== undefined && { credentials: config.baseCredentials }),
      // One attempt per login beyond the SDK's own retries is enough; a slow STS must not hold a login for minutes.
      maxAttempts: 2,
    });
    return sts;
  };

  const count = (result: StsResult) => {
    try {
      config.onStsRequest?.(result);
    } catch {
      // A metrics hook must never decide a login.
    }
  };

  const assume = async (user: LoginUser, sessionId: string): Promise<Credentials> => {
    const policy = user.sessionPolicy;
    if (policy === undefined || policy === null || policy === '') {
      throw new CredentialError(
        CredentialErrorCode.NoSessionPolicy,
        `user ${JSON.stringify(user.username)} has no session policy; refusing to mint unscoped credentials`,
      );
    }
    const started = now();
    let out: AssumeRoleCommandOutput;
    try {
      out = await stsClient().send(
        new AssumeRoleCommand({
          // MinIO ignores RoleArn for plain users but the API requires one.
          RoleArn: config.roleArn ?? 'arn:aws:iam::000000000000:role/sftpgate',
          RoleSessionName: roleSessionName(user.username, sessionId),
          Policy: policy,
          DurationSeconds: duration,
          // MinIO does not implement source identity; AWS mode sets it for CloudTrail.
          ...(config.mode === 'AWS' && { SourceIdentity: sourceIdentity(user.username) }),
        }),
      );
    } catch (err) {
      const classified = classifyStsError(user.username, err);
      count(classified.code === CredentialErrorCode.Denied ? 'denied' : 'unavailable');
      throw classified;
    }
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) {
      count('unavailable');
      throw new CredentialError(CredentialErrorCode.Unavailable, 'STS answered AssumeRole without credentials');
    }
    count('ok');
    // Trust STS's expiration but never beyond what we asked for, measured on our own clock (skew-proof refresh).
    const expiresAt = Math.min(c.Expiration?.getTime() ?? Number.POSITIVE_INFINITY, started + duration * 1000);
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: new Date(expiresAt),
    };
  };

  const entryFor = (user: LoginUser): Entry => {
    if (closed) throw new CredentialError(CredentialErrorCode.Aborted, 'credential broker is closed');
    // A changed policy is a different cache entry: new rules never ride on credentials minted under old ones.
    const key = `${user.username}\0${createHash('sha256')
      .update(user.sessionPolicy ?? '')
      .digest('hex')}`;
    let entry = entries.get(key);
    if (!entry) {
      evictIdle();
      entry = { lastUsed: now() };
      entries.set(key, entry);
    }
    entry.lastUsed = now();
    return entry;
  };

  const evictIdle = () => {
    const t = now();
    for (const [key, e] of entries) {
      if (!e.inflight && (!e.current || e.current.refreshAt + IDLE_EVICT_MS < t) && e.lastUsed + IDLE_EVICT_MS < t) {
        entries.delete(key);
      }
    }
  };

  const credentialsFor = (user: LoginUser, sessionId: string): CredentialsProvider => {
    const entry = entryFor(user);
    return async () => {
      entry.lastUsed = now();
      const cur = entry.current;
      if (cur && now() < cur.refreshAt) return forSdk(cur);
      // Concurrent requests of every session of this user share one STS call.
      entry.inflight ??= assume(user, sessionId)
        .then((credentials) => {
          const expiresAt = credentials.expiration?.getTime() ?? now() + duration * 1000;
          entry.current = { credentials, expiresAt, refreshAt: expiresAt - refreshBefore * 1000 };
          return credentials;
        })
        .finally(() => {
          entry.inflight = undefined;
        });
      await entry.inflight;
      return forSdk(entry.current ?? { credentials: await entry.inflight, refreshAt: 0, expiresAt: 0 });
    };
  };

  return {
    async clientFor(user, sessionId, signal) {
      if (signal?.aborted) {
        throw new CredentialError(CredentialErrorCode.Aborted, 'login aborted', { cause: signal.reason });
      }
      if (config.mode === 'None') return baseClient();
      const entry = entryFor(user);
      const provider = credentialsFor(user, sessionId);
      // Mint now, so a failure refuses the login instead of the first request.
      await raceAbort(provider(), signal);
      entry.client ??= new S3Client({ ...s3Options, credentials: provider });
      return entry.client;
    },
    credentialsFor,
    close() {
      closed = true;
      entries.clear();
      sts?.destroy();
    },
  };

  /**
   * What the SDK sees as the expiration: our refresh point plus the SDK's own window, so the SDK asks again exactly
   * when we want to mint, and never later than the real expiry.
   */
  function forSdk(cur: { credentials: Credentials; refreshAt: number; expiresAt: number }): Credentials {
    const sdkExpiry = Math.min(cur.expiresAt, cur.refreshAt + SDK_REFRESH_WINDOW_MS);
    return { ...cur.credentials, expiration: new Date(sdkExpiry) };
  }
}

async function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  const { promise: aborted, reject } = Promise.withResolvers<never>();
  const onAbort = () =>
    reject(new CredentialError(CredentialErrorCode.Aborted, 'login aborted', { cause: signal.reason }));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

// STS: RoleSessionName and SourceIdentity are 2..64 characters of [\w+=,.@-].
const STS_NAME_CHARS = /[^\w+=,.@-]/g;

/** `sftpgate-<user>-<session>`: the user is cut to fit, the session reduced to 8 safe characters. */
export function roleSessionName(username: string, sessionId: string): string {
  let session = sessionId.replace(/[^A-Za-z0-9]/g, '').slice(0, 8);
  if (session.length === 0) session = randomBytes(4).toString('hex');
  const user = username.replace(STS_NAME_CHARS, '_').slice(0, 64 - 'sftpgate-'.length - 1 - session.length);
  return `sftpgate-${user}-${session}`;
}

/** The username, made valid for STS (a one-character name is padded: STS wants at least two). */
export function sourceIdentity(username: string): string {
  const safe = username.replace(STS_NAME_CHARS, '_').slice(0, 64);
  return safe.length >= 2 ? safe : `${safe}_`;
}

/** STS refused (4xx: policy, permission, parameters) vs STS unreachable/failing (network, throttling, 5xx). */
function classifyStsError(username: string, err: unknown): CredentialError {
  const who = `user ${JSON.stringify(username)}`;
  if (err instanceof Error && err.name === 'AbortError') {
    return new CredentialError(CredentialErrorCode.Aborted, `STS AssumeRole for ${who} was aborted`, { cause: err });
  }
  if (err instanceof STSServiceException) {
    const status = err.$metadata.httpStatusCode ?? 0;
    const throttled = err.name === 'Throttling' || err.name === 'ThrottlingException' || status === 429;
    if (err.$fault === 'client' && !throttled) {
      return new CredentialError(CredentialErrorCode.Denied, `STS refused AssumeRole for ${who}: ${err.name}`, {
        cause: err,
      });
    }
    return new CredentialError(CredentialErrorCode.Unavailable, `STS failed AssumeRole for ${who}: ${err.name}`, {
      cause: err,
    });
  }
  const name = err instanceof Error ? err.name : 'unknown error';
  return new CredentialError(CredentialErrorCode.Unavailable, `STS unreachable for ${who}: ${name}`, { cause: err });
}
