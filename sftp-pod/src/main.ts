// The sftp pod: wiring only. startPod() builds and starts every piece from a Config and returns a handle (tests run
// it in-process); main() is the process entry (bin/sftpgate-sftp.js) and the only code that exits the process.
import type { AddressInfo } from 'node:net';
import { HealthServer } from '../../common/src/http/health-server.ts';
import { S3Client } from '../../common/src/s3/client.ts';
import { openAuditLog } from './audit/audit-log.ts';
import type { AuditLog } from './audit/event.ts';
import { type Config, ConfigError, parseConfig } from './config.ts';
// Type-only: the broker (and the STS client it carries) loads only in the STS/AWS modes, see credentialBroker().
import type { CredentialBroker } from './credentials/broker.ts';
import { createS3ReadinessCheck, partitionOf } from './credentials/readiness.ts';
import { QuotaRegistry } from './quota/registry.ts';
import { algorithmPolicy } from './ssh/algorithms.ts';
import { compileCidrs } from './ssh/cidr.ts';
import { Defender } from './ssh/defender.ts';
import { loadHostKeys } from './ssh/host-keys.ts';
import { SshServer } from './ssh/server.ts';
import { loadTrustedUserCas } from './ssh/user-certificates.ts';
import { ByteBudget } from './storage/budget.ts';
import { settleCommits } from './storage/commit-tracker.ts';
import type { StorageMetrics } from './storage/metrics.ts';
import { S3Storage, type S3StorageOptions } from './storage/s3-storage.ts';
import type { Storage } from './storage/types.ts';
import { createLogger, type Logger } from './telemetry/log.ts';
import { Metrics } from './telemetry/metrics.ts';
import { collectStartupGarbage } from './telemetry/startup-gc.ts';
import { startFileSource } from './users/file-source.ts';
import { UsersStore } from './users/store.ts';
import type { UserRecord } from './users/types.ts';

/**
 * What one connection's socket may queue before channel writes wait: several 256 KiB READ replies in flight, small
 * next to the per-connection cost the memory budget plans for (docs/sftp-pod.md, "Bounds on what a client holds").
 */
const SOCKET_BUFFER_BYTES = 1024 * 1024;

export interface PodOptions {
  readonly log?: Logger;
  readonly metrics?: Metrics;
  /** Replaces S3 storage (unit tests of the protocol layers only; e2e tests use the real S3 path). */
  readonly storageFor?: (user: UserRecord, sessionId: string) => Promise<Storage> | Storage;
  /** Replaces the --audit-log target (tests capture events in process). */
  readonly audit?: AuditLog;
}

export interface Pod {
  readonly sshAddress: AddressInfo;
  readonly metricsAddress: AddressInfo;
  readonly users: UsersStore;
  readonly metrics: Metrics;
  readonly ssh: SshServer;
  /**
   * Graceful stop: readiness fails, no new connections, open uploads get `graceMs` to finish, then every session is
   * ended (uncommitted uploads aborted: no object, no multipart upload left). Idempotent.
   */
  shutdown(graceMs?: number): Promise<void>;
}

interface StorageFactoryDeps {
  readonly config: Config;
  readonly client: S3Client;
  readonly budget: ByteBudget;
  readonly metrics: StorageMetrics;
  /** STS/AWS mode: the per-login credential broker (also used by the readiness check). */
  readonly broker: CredentialBroker | undefined;
  /** Users with a quota get their storage wrapped by their ledger (quota/registry.ts). */
  readonly quotas: QuotaRegistry;
}

/** The S3Storage settings every login shares; only the client differs between logins in the STS/AWS modes. */
function storageOptions(config: Config, deps: StorageFactoryDeps, client: S3Client): S3StorageOptions {
  return {
    client,
    bucket: config.s3.bucket,
    partSize: config.partSize,
    uploadConcurrency: config.uploadConcurrency,
    downloadConcurrency: config.downloadConcurrency,
    podBudget: deps.budget,
    ...(config.uploadBudgetPerUser ? { perUserBudgetBytes: config.uploadBudgetPerUser } : {}),
    ...(config.uploadBudgetPerSession ? { perSessionBudgetBytes: config.uploadBudgetPerSession } : {}),
    budgetWaitMs: config.budgetWaitMs,
    idleReleaseMs: config.uploadIdleReleaseMs,
    maxRenameObjects: Math.max(1, config.maxRenameObjects),
    uploadMd5: config.uploadMd5,
    listingTimes: config.listingTimes,
    listingTimesLimits: {
      maxPerPage: config.listingTimesMaxPerPage,
      ratePerSecond: config.listingTimesRate,
      burst: 10 * config.listingTimesRate,
    },
    resume: {
      serverPrefix: config.s3.prefix,
      retentionMs: config.resumeRetentionMs,
      checkpointMs: config.resumeCheckpointMs,
    },
    metrics: deps.metrics,
    ...(config.s3.storageClass ? { storageClass: config.s3.storageClass } : {}),
    ...(config.s3.sse === 'AES256' ? { sse: { type: 'AES256' as const } } : {}),
    ...(config.s3.sse === 'aws:kms'
      ? { sse: { type: 'aws:kms' as const, ...(config.s3.sseKmsKeyId ? { kmsKeyId: config.s3.sseKmsKeyId } : {}) } }
      : {}),
  };
}

/**
 * Storage for a login. IAM mode None: every login shares one S3Storage on the pod's credentials (the path jail is
 * the isolation). STS/AWS: the credential broker mints per-login credentials limited by the user's session policy
 * (docs/iam.md), so S3 itself refuses a cross-tenant request; a broker failure refuses the login, never falls back.
 */
function createS3StorageFactory(
  deps: StorageFactoryDeps,
): (user: UserRecord, sessionId: string) => Promise<Storage> | Storage {
  const { config } = deps;
  if (config.iamMode === 'None') {
    const shared = new S3Storage(storageOptions(config, deps, deps.client));
    return (user) => deps.quotas.wrap(user, deps.client, shared);
  }
  const broker = deps.broker;
  if (!broker) throw new ConfigError(`IAM mode ${config.iamMode} needs the credential broker`);
  return async (user, sessionId) => {
    const client = await broker.clientFor({ username: user.username, sessionPolicy: user.sessionPolicy }, sessionId);
    // Session policies grant the tagging actions the upload tags need (docs/iam.md).
    return deps.quotas.wrap(user, client, new S3Storage(storageOptions(config, deps, client)));
  };
}

/**
 * STS/AWS mode: the broker minting each login's credentials with the STS parameters of the configuration. Imported
 * only in those modes: the STS client costs memory a None-mode pod never uses (docs/benchmarks.md, "Pod memory").
 */
async function credentialBroker(
  config: Config,
  stsResult: (result: string) => void,
): Promise<CredentialBroker | undefined> {
  if (config.iamMode === 'None') return undefined;
  const { createCredentialBroker } = await import('./credentials/broker.ts');
  // AWS: the data role; STS: the platform's role ARN, if any (MinIO ignores it for plain users).
  const roleArn = config.iamMode === 'AWS' ? config.dataRoleArn : config.stsRoleArn;
  return createCredentialBroker({
    mode: config.iamMode,
    s3: {
      region: config.s3.region,
      forcePathStyle: config.s3.forcePathStyle,
      ...(config.s3.endpoint ? { endpoint: config.s3.endpoint } : {}),
    },
    ...(config.stsEndpoint ? { stsEndpoint: config.stsEndpoint } : {}),
    ...(config.stsRegion ? { stsRegion: config.stsRegion } : {}),
    ...(roleArn ? { roleArn } : {}),
    ...(config.credentialsDurationSeconds !== undefined ? { durationSeconds: config.credentialsDurationSeconds } : {}),
    onStsRequest: (result) => stsResult(result),
  });
}

function s3Client(config: Config): S3Client {
  return new S3Client({
    region: config.s3.region,
    forcePathStyle: config.s3.forcePathStyle,
    ...(config.s3.endpoint ? { endpoint: config.s3.endpoint } : {}),
  });
}

/** Starts the pod. Throws (ConfigError, HostKeyError, UsersDocumentError, listen errors) when it cannot serve. */
export async function startPod(config: Config, options: PodOptions = {}): Promise<Pod> {
  const log = options.log ?? createLogger(config.logLevel, { component: 'sftp-pod' });
  const metrics = options.metrics ?? new Metrics();
  const lifetime = new AbortController();
  const hostKeys = await loadHostKeys(config.hostKeyDir);
  for (const k of hostKeys) log.info('host key loaded', { type: k.type, fingerprint: k.fingerprint });

  const users = new UsersStore();
  users.onChange(() => metrics.usersLoaded.set(users.size));
  if (config.usersFile) {
    await startFileSource({ path: config.usersFile, store: users, log }, lifetime.signal);
  } else if (config.usersSecret && config.namespace) {
    // The Kubernetes client loads only when users come from Secrets (a users file needs none of it).
    const { startSecretSource } = await import('./users/secret-source.ts');
    await startSecretSource(
      {
        namespace: config.namespace,
        shard0: config.usersSecret,
        store: users,
        log,
        ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {}),
      },
      lifetime.signal,
    );
  }

  const client = s3Client(config);
  // Backpressure pauses are counted by the SFTP session (it sees both the per-upload and the pod budget waits).
  const budget = new ByteBudget(config.memoryBudget);
  metrics.uploadBufferBudgetBytes.set(config.memoryBudget);
  const broker = options.storageFor
    ? undefined
    : await credentialBroker(config, (result) => metrics.stsRequests.inc({ result }));
  const quotas = new QuotaRegistry({
    bucket: config.s3.bucket,
    serverPrefix: config.s3.prefix,
    userRecord: (name) => users.get(name),
    sse: config.s3.sse
      ? {
          ServerSideEncryption: config.s3.sse,
          ...(config.s3.sse === 'aws:kms' && config.s3.sseKmsKeyId ? { SSEKMSKeyId: config.s3.sseKmsKeyId } : {}),
        }
      : undefined,
  });
  const storageFor =
    options.storageFor ??
    createS3StorageFactory({ config, client, budget, metrics: metrics.storageMetrics(), broker, quotas });

  const defender = new Defender(config.defender);
  const userCas = await loadTrustedUserCas(config.trustedUserCaKeys, config.revokedUserCertificates, {
    signal: lifetime.signal,
    onError: (err) => log.warn('trusted user CA or revocation file not applied; keeping the last valid one', { err }),
  });
  const auditFile = options.audit
    ? undefined
    : openAuditLog(config.auditLog, (err) => log.error('audit log write failed', { err }));
  // Webhook notifications tee the audit events; their own failures go to the audit log only (docs/audit.md).
  // Loaded only when configured (idle memory of pods without a webhook).
  const notifier = config.notify
    ? (await import('./notify/start.ts')).startNotifier(config, options.audit ?? auditFile, metrics.registry, log)
    : undefined;
  const audit = notifier?.audit ?? options.audit ?? auditFile;
  const ssh = new SshServer({
    ...(userCas ? { userCas } : {}),
    hostKeys,
    policy: algorithmPolicy(config.algorithms),
    ...(config.banner ? { banner: config.banner } : {}),
    users,
    defender,
    ...(config.allowedCidrs ? { allowedCidrs: compileCidrs(config.allowedCidrs) } : {}),
    maxAuthTries: config.maxAuthTries,
    loginGraceMs: config.loginGraceMs,
    ...(config.proxyProtocolCidrs ? { proxyProtocolCidrs: compileCidrs(config.proxyProtocolCidrs) } : {}),
    maxStartups: config.maxStartups,
    maxUnauthenticatedPerSource: config.maxUnauthenticatedPerSource,
    maxPasswordHashes: config.maxPasswordHashes,
    defaultMaxSessions: config.maxSessionsPerUser,
    maxChannelsPerConnection: config.maxChannelsPerConnection,
    maxHandlesPerUser: config.maxHandlesPerUser,
    maxSessionLifetimeMs: config.maxSessionLifetimeMs,
    idleTimeoutMs: config.idleTimeoutMs,
    outputTimeoutMs: config.outputTimeoutMs,
    socketBufferBytes: SOCKET_BUFFER_BYTES,
    serverPrefix: config.s3.prefix,
    setstatMode: config.setstatMode,
    unsafeNames: config.unsafeNames,
    storageFor,
    metrics,
    log,
    ...(audit ? { audit } : {}),
    ...(config.serverName ? { serverName: config.serverName } : {}),
  });

  // S3 reachability for /readyz, with the credentials this mode really holds (docs/iam.md), at most every 10 s.
  const s3Check = createS3ReadinessCheck({
    bucket: config.s3.bucket,
    prefix: config.s3.prefix,
    baseClient: client,
    broker,
    partition: partitionOf(config.dataRoleArn),
    onError: (err) => log.warn('S3 not reachable', { err }),
  });
  const s3Reachable = () => (options.storageFor ? true : s3Check());
  const health = new HealthServer({
    registry: metrics.registry,
    checks: [
      { name: 'host keys', check: () => hostKeys.length > 0 },
      { name: 'users', check: () => users.loaded },
      { name: 's3', check: s3Reachable },
    ],
  });
  const metricsAddress = await health.listen(config.metricsListen.port, config.metricsListen.host);
  const sshAddress = await ssh.listen(config.listen.port, config.listen.host);
  log.info('sftp pod listening', {
    ssh: `${sshAddress.address}:${sshAddress.port}`,
    metrics: `${metricsAddress.address}:${metricsAddress.port}`,
    algorithms: config.algorithms,
    users: users.size,
  });

  let stopping: Promise<void> | undefined;
  const shutdown = (graceMs = config.shutdownGraceMs): Promise<void> => {
    stopping ??= (async () => {
      log.info('shutting down', { openUploads: ssh.openUploads, graceMs });
      health.markShuttingDown();
      await ssh.stopAccepting();
      const deadline = Date.now() + graceMs;
      while (ssh.openUploads > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (ssh.openUploads > 0)
        log.warn('grace period over, ending open uploads (kept resumable, or aborted when resume is off)', {
          openUploads: ssh.openUploads,
        });
      await ssh.close();
      // A CLOSE whose final S3 request is in flight is not cancelled (S3 may complete it anyway): wait for S3's answer
      // before going on, so the log says what was stored (storage/commit-tracker.ts).
      const unanswered = await settleCommits(budget, 65_000);
      if (unanswered > 0) log.warn('shutting down with uploads whose completion S3 did not answer', { unanswered });
      await quotas.close(); // publishes the last commits and gives the leases back
      lifetime.abort();
      await health.close();
      // The S3 connection pool is the process's (idle keep-alive sockets do not hold the process open).
      broker?.close();
      await notifier?.close(Math.min(graceMs, 5_000));
      await auditFile?.close();
      log.info('shut down');
    })();
    return stopping;
  };
  return { sshAddress, metricsAddress, users, metrics, ssh, shutdown };
}

/** Process entry: parses flags/env, starts the pod, handles SIGTERM/SIGINT. Resolves to the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(argv, env);
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
    return argv.includes('--help') || argv.includes('-h') ? 0 : 2;
  }
  const log = createLogger(config.logLevel, { component: 'sftp-pod' });
  let pod: Pod;
  try {
    pod = await startPod(config, { log });
  } catch (err) {
    log.error('cannot start', { err });
    return 1;
  }
  log.debug('start-up garbage collected', { ms: Math.round(collectStartupGarbage()) });
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info('signal received', { signal });
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      void pod.shutdown().then(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  return 0;
}

// Run directly: `node sftp-pod/src/main.ts` or the bundle `node dist/sftp-pod/main.js` (the bin launcher imports main
// instead). Sockets and timers are closed by shutdown; exit explicitly so a stray handle cannot keep a stopped pod alive.
if (import.meta.main) process.exit(await main(process.argv.slice(2)));
