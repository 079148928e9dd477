// Operator configuration from flags, with environment fallbacks (flags win). Pure: parseConfig never exits; main.ts
// prints the error and exits.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { CodedError } from '../../common/src/errors/coded-error.ts';

export class ConfigError extends CodedError<'SFTPGATE_OPERATOR_CONFIG'> {
  constructor(message: string, options?: ErrorOptions) {
    super('SFTPGATE_OPERATOR_CONFIG', message, options);
  }
}

export interface OperatorConfig {
  /** Path; undefined: in-cluster config (or the default kubeconfig loading rules). */
  readonly kubeconfig: string | undefined;
  readonly metricsHost: string;
  readonly metricsPort: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly sftpImage: string;
  readonly sftpImagePullPolicy: 'Always' | 'IfNotPresent' | 'Never' | undefined;
  /** Empty: every namespace. */
  readonly namespaces: readonly string[];
  /** The operator's own namespace: where SftpStorageProfiles' credentials Secrets live. */
  readonly operatorNamespace: string;
  readonly leaderElect: boolean;
  readonly leaderElectionNamespace: string;
  readonly leaderElectionId: string;
  readonly identity: string;
  readonly workers: number;
  /** Manage AWS IAM for servers in iam.mode AWS (needs AWS credentials for the operator). */
  readonly awsIam: boolean;
  readonly awsRegion: string;
  /** Abort multipart uploads left open longer than this under each server prefix; 0 turns the sweeper off. */
  readonly multipartSweepAgeSeconds: number;
  /** Measure every user's usage this often (jittered ±20 %); 0 turns measurement (and so quota enforcement) off. */
  readonly usageIntervalSeconds: number;
  /** Users measured at once. */
  readonly usageConcurrency: number;
  /** Bounds on requested measurements (annotation sftpgate.io/measure-usage): per user, per namespace. */
  readonly usageRequestIntervalSeconds: number;
  readonly usageRequestRatePerMinute: number;
  readonly usageRequestBurst: number;
}

export const DEFAULT_SFTP_IMAGE = 'ghcr.io/sftpgate/sftpgate-sftp:0.1.0';

export const USAGE = `sftpgate-operator [flags]
  --kubeconfig PATH              (KUBECONFIG) default: in-cluster
  --metrics-listen [HOST]:PORT   (SFTPGATE_OPERATOR_METRICS_LISTEN) /metrics /healthz /readyz, default :8080
  --log-level LEVEL              (SFTPGATE_LOG_LEVEL) debug|info|warn|error, default info
  --sftp-image REF               (SFTPGATE_SFTP_IMAGE) image of the sftp pods, default ${DEFAULT_SFTP_IMAGE}
  --sftp-image-pull-policy P     (SFTPGATE_SFTP_IMAGE_PULL_POLICY) Always|IfNotPresent|Never
  --namespace NS                 (SFTPGATE_WATCH_NAMESPACE, comma-separated) repeatable; default all namespaces
  --operator-namespace NS        (POD_NAMESPACE) where profiles' credentials Secrets live, default sftpgate-system
  --leader-elect                 (SFTPGATE_LEADER_ELECT=true) hold a Lease before reconciling
  --leader-election-namespace NS (POD_NAMESPACE) default: the pod's namespace, else "default"
  --leader-election-id NAME      Lease name, default sftpgate-operator
  --workers N                    reconcile workers per controller, default 4
  --aws-iam                      (SFTPGATE_AWS_IAM=true) manage IAM roles for iam.mode AWS servers
  --aws-region REGION            (AWS_REGION) region of the IAM/STS clients, default us-east-1
  --multipart-sweep-age SECONDS  (SFTPGATE_MULTIPART_SWEEP_AGE) abort multipart uploads open longer than this under each
                                 server prefix (orphans of killed pods; stores like MinIO ignore the lifecycle rule);
                                 must exceed the longest upload; 0 = off; default 86400
  --usage-interval SECONDS       (SFTPGATE_USAGE_INTERVAL) measure each user's stored bytes/files from S3 this often
                                 (status.usage, quota enforcement); 0 = off (quotas then refuse uploads); default 300
  --usage-concurrency N          (SFTPGATE_USAGE_CONCURRENCY) users measured at once; default 4 (requested
                                 measurements hold at most half of them)
  --usage-request-interval SECONDS (SFTPGATE_USAGE_REQUEST_INTERVAL) least time between two requested measurements
                                 (annotation sftpgate.io/measure-usage) of one user; a request sooner waits; default 60
  --usage-request-rate N         (SFTPGATE_USAGE_REQUEST_RATE) requested measurements each namespace may start per
                                 minute on average; default 6
  --usage-request-burst N        (SFTPGATE_USAGE_REQUEST_BURST) ... and at once after a quiet spell; default 10
  --help`;

function listen(value: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new ConfigError(`--metrics-listen: expected [host]:port, got "${value}"`);
  return { host: m[1] === '' ? '0.0.0.0' : (m[1] ?? '0.0.0.0'), port };
}

/** Parses argv (without node and script) and env. Throws ConfigError with a readable message. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): OperatorConfig | 'help' {
  let parsed: ReturnType<typeof parseArgs>['values'];
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        kubeconfig: { type: 'string' },
        'metrics-listen': { type: 'string' },
        'log-level': { type: 'string' },
        'sftp-image': { type: 'string' },
        'sftp-image-pull-policy': { type: 'string' },
        namespace: { type: 'string', multiple: true },
        'operator-namespace': { type: 'string' },
        'leader-elect': { type: 'boolean' },
        'leader-election-namespace': { type: 'string' },
        'leader-election-id': { type: 'string' },
        workers: { type: 'string' },
        'aws-iam': { type: 'boolean' },
        'aws-region': { type: 'string' },
        'multipart-sweep-age': { type: 'string' },
        'usage-interval': { type: 'string' },
        'usage-concurrency': { type: 'string' },
        'usage-request-interval': { type: 'string' },
        'usage-request-rate': { type: 'string' },
        'usage-request-burst': { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    throw new ConfigError((err as Error).message, { cause: err });
  }
  if (parsed['help']) return 'help';
  const str = (k: string): string | undefined => {
    const v = parsed[k];
    return typeof v === 'string' ? v : undefined;
  };
  const logLevel = str('log-level') ?? env['SFTPGATE_LOG_LEVEL'] ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel))
    throw new ConfigError(`--log-level: unknown level "${logLevel}"`);
  const pull = str('sftp-image-pull-policy') ?? env['SFTPGATE_SFTP_IMAGE_PULL_POLICY'];
  if (pull !== undefined && !['Always', 'IfNotPresent', 'Never'].includes(pull)) {
    throw new ConfigError(`--sftp-image-pull-policy: expected Always, IfNotPresent or Never, got "${pull}"`);
  }
  const workers = Number(str('workers') ?? '4');
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new ConfigError('--workers: expected 1..64');
  const flagNamespaces = parsed['namespace'];
  const namespaces = (
    Array.isArray(flagNamespaces) && flagNamespaces.length > 0
      ? flagNamespaces.filter((v): v is string => typeof v === 'string')
      : (env['SFTPGATE_WATCH_NAMESPACE'] ?? '').split(',')
  )
    .map((s) => s.trim())
    .filter(Boolean);
  const sweepAge = Number(str('multipart-sweep-age') ?? env['SFTPGATE_MULTIPART_SWEEP_AGE'] ?? '86400');
  if (!Number.isInteger(sweepAge) || sweepAge < 0) {
    throw new ConfigError('--multipart-sweep-age: expected whole seconds >= 0');
  }
  const usageInterval = Number(str('usage-interval') ?? env['SFTPGATE_USAGE_INTERVAL'] ?? '300');
  if (!Number.isInteger(usageInterval) || usageInterval < 0) {
    throw new ConfigError('--usage-interval: expected whole seconds >= 0');
  }
  const usageConcurrency = Number(str('usage-concurrency') ?? env['SFTPGATE_USAGE_CONCURRENCY'] ?? '4');
  if (!Number.isInteger(usageConcurrency) || usageConcurrency < 1 || usageConcurrency > 64) {
    throw new ConfigError('--usage-concurrency: expected 1..64');
  }
  const usageRequest = (flag: string, envName: string, fallback: string, min: number, max: number): number => {
    const n = Number(str(flag) ?? env[envName] ?? fallback);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`--${flag}: expected ${min}..${max}`);
    return n;
  };
  const usageRequestInterval = usageRequest(
    'usage-request-interval',
    'SFTPGATE_USAGE_REQUEST_INTERVAL',
    '60',
    0,
    86400,
  );
  const usageRequestRate = usageRequest('usage-request-rate', 'SFTPGATE_USAGE_REQUEST_RATE', '6', 1, 6000);
  const usageRequestBurst = usageRequest('usage-request-burst', 'SFTPGATE_USAGE_REQUEST_BURST', '10', 1, 10000);
  const metrics = listen(str('metrics-listen') ?? env['SFTPGATE_OPERATOR_METRICS_LISTEN'] ?? ':8080');
  const podName = env['POD_NAME'] ?? hostname();
  return {
    kubeconfig: str('kubeconfig') ?? env['KUBECONFIG'],
    metricsHost: metrics.host,
    metricsPort: metrics.port,
    logLevel: logLevel as OperatorConfig['logLevel'],
    sftpImage: str('sftp-image') ?? env['SFTPGATE_SFTP_IMAGE'] ?? DEFAULT_SFTP_IMAGE,
    sftpImagePullPolicy: pull as OperatorConfig['sftpImagePullPolicy'],
    namespaces,
    operatorNamespace: str('operator-namespace') ?? env['POD_NAMESPACE'] ?? 'sftpgate-system',
    leaderElect: parsed['leader-elect'] === true || env['SFTPGATE_LEADER_ELECT'] === 'true',
    leaderElectionNamespace: str('leader-election-namespace') ?? env['POD_NAMESPACE'] ?? 'default',
    leaderElectionId: str('leader-election-id') ?? 'sftpgate-operator',
    // Unique per process: two replicas on one host (or a restarted pod) never share an identity.
    identity: `${podName}_${randomBytes(4).toString('hex')}`,
    workers,
    awsIam: parsed['aws-iam'] === true || env['SFTPGATE_AWS_IAM'] === 'true',
    awsRegion: str('aws-region') ?? env['AWS_REGION'] ?? 'us-east-1',
    multipartSweepAgeSeconds: sweepAge,
    usageIntervalSeconds: usageInterval,
    usageConcurrency,
    usageRequestIntervalSeconds: usageRequestInterval,
    usageRequestRatePerMinute: usageRequestRate,
    usageRequestBurst,
  };
}
