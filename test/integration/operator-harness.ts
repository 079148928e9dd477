// Shared set-up for the operator's integration and e2e tests: a real kube-apiserver with the CRDs installed, a real
// MinIO, and the operator running in this process exactly as main.ts wires it (setupControllers on a Manager), with
// its own KubeClient so tests can count the API writes it makes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { SftpServer, SftpUser } from '../../operator/src/api/types.generated.ts';
import { createIamIntegration } from '../../operator/src/cloud/iam/integration.ts';
import { type Controllers, setupControllers } from '../../operator/src/controllers/setup.ts';
import { KubeClient, type KubeObject, Resources } from '../../operator/src/runtime/kube-client.ts';
import { createLogger, silentLogger } from '../../operator/src/runtime/logger.ts';
import { Manager } from '../../operator/src/runtime/manager.ts';
import { OperatorMetrics } from '../../operator/src/runtime/metrics.ts';
import { type ControlPlane, type Minio, startControlPlane, startMinio } from '../infra/index.ts';

/** What KubeClient.apply takes. */
export type Manifest = KubeObject & { [field: string]: unknown };

export const repoRoot = new URL('../../', import.meta.url).pathname;

export interface TestBed {
  readonly cp: ControlPlane;
  readonly minio: Minio;
  /** Admin client for the test's own reads and writes (not counted against the operator). */
  readonly admin: KubeClient;
  readonly tmp: string;
  stop(): Promise<void>;
}

/** The operator's namespace in tests: the profiles' credentials Secret lives here. */
export const OPERATOR_NS = 'sftpgate-system';
/** The platform profile every test server uses unless it names another: MinIO bucket `sftp`, root `servers`. */
export const PROFILE = 'minio';

/** Applies crds/ (server-side) and waits until every CRD is Established. */
export async function installCrds(cp: ControlPlane): Promise<void> {
  await cp.kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
  await cp.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/sftpservers.sftpgate.io',
    'crd/sftpusers.sftpgate.io',
    'crd/sftpstorageprofiles.sftpgate.io',
  ]);
}

/**
 * The setup every operator test file starts with: the test bed, the profile's bucket `sftp` (versioned unless said
 * otherwise) and the tenant namespace `ns`.
 */
export async function startTenantBed(ns: string, opts: { versioning?: boolean } = {}): Promise<TestBed> {
  const bed = await startTestBed();
  await bed.minio.createBucket('sftp', { versioning: opts.versioning ?? true });
  await createNamespace(bed, ns);
  return bed;
}

/** Waits until every named condition of server `name` is True. */
export async function serverConditionsTrue(bed: TestBed, ns: string, name: string, types: string[]): Promise<void> {
  await waitFor(`${name}: ${types.join(', ')}`, async () => {
    const server = await getServer(bed, ns, name);
    return types.every((t) => condition(server, t)?.status === 'True');
  });
}

/**
 * Starts the control plane and MinIO in parallel, installs the CRDs, and plays the platform team: the operator's
 * namespace with the MinIO credentials, and profile `minio` (bucket `sftp`, root `servers`, every namespace).
 */
export async function startTestBed(
  opts: { controllerManager?: boolean; extraApiServerArgs?: readonly string[] } = {},
): Promise<TestBed> {
  const [cp, minio] = await Promise.all([
    startControlPlane({
      controllerManager: opts.controllerManager ?? false,
      ...(opts.extraApiServerArgs ? { extraApiServerArgs: opts.extraApiServerArgs } : {}),
    }),
    startMinio(),
  ]);
  await installCrds(cp);
  const admin = new KubeClient(cp.kubeConfig());
  const tmp = mkdtempSync(join(tmpdir(), 'sftpgate-op-'));
  const bed = { cp, minio, admin, tmp };
  await admin.apply(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OPERATOR_NS } });
  await admin.apply(Resources.Secret, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'minio-credentials', namespace: OPERATOR_NS },
    stringData: { AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey },
  } as Manifest);
  // Caps high enough for the scale bench (10,000 users in one namespace); tenant tests set their own.
  await applyProfile(bed as TestBed, PROFILE, {
    namespaceSelector: {},
    limits: { maxServersPerNamespace: 10_000, maxUsersPerNamespace: 1_000_000 },
  });
  return {
    ...bed,
    async stop() {
      admin.close();
      await Promise.allSettled([cp.stop(), minio.stop()]);
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

export interface RunningOperator {
  readonly client: KubeClient;
  readonly controllers: Controllers;
  readonly manager: Manager;
  stop(): Promise<void>;
}

/** Runs the operator in this process until stop(). Logs go to stderr when SFTPGATE_TEST_LOG=1. */
export function startOperator(
  bed: TestBed,
  opts: { namespace?: string; leaderElect?: boolean; identity?: string } = {},
): RunningOperator {
  const kc = new KubeConfig();
  kc.loadFromFile(bed.cp.kubeconfigPath);
  const client = new KubeClient(kc);
  const logger =
    process.env['SFTPGATE_TEST_LOG'] === '1'
      ? createLogger({ level: 'debug', write: (l) => process.stderr.write(`${l}\n`) })
      : silentLogger;
  const manager = new Manager({
    client,
    metrics: new OperatorMetrics(),
    logger,
    informerDefaults: { resyncPeriodMs: 0 },
    ...(opts.leaderElect
      ? {
          leaderElection: {
            namespace: 'default',
            name: 'sftpgate-operator',
            identity: opts.identity ?? 'test',
            leaseDurationMs: 4000,
            renewDeadlineMs: 3000,
            retryPeriodMs: 500,
          },
        }
      : {}),
  });
  const controllers = setupControllers({
    iam: createIamIntegration(),
    manager,
    logger,
    workload: { image: 'sftpgate/sftp:test' },
    namespace: opts.namespace,
    operatorNamespace: OPERATOR_NS,
    workers: 2,
    // Cheap hashes keep the test machine's CPU for the components; the format and verify path are the same.
    scrypt: { ln: 10, r: 8, p: 1 },
  });
  const stopper = new AbortController();
  const done = manager.run(stopper.signal);
  return {
    client,
    controllers,
    manager,
    async stop() {
      stopper.abort(new Error('test stop'));
      await done.catch(() => undefined);
      controllers.context.storage.close();
      client.close();
    },
  };
}

/** Polls `fn` until it returns a truthy value; throws with `what` and the last value on timeout. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`,
      );
    await new Promise((r) => setTimeout(r, 150));
  }
}

export async function createNamespace(bed: TestBed, name: string): Promise<void> {
  await bed.admin.apply(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/**
 * A platform profile on the test MinIO (bucket `sftp`, credentials from the operator's namespace); `spec` overrides
 * (root defaults to `servers`, namespaceSelector must be given by callers that restrict it).
 */
export function profileManifest(bed: TestBed, name: string, spec: Record<string, unknown> = {}): Manifest {
  return {
    apiVersion: 'sftpgate.io/v1alpha1',
    kind: 'SftpStorageProfile',
    metadata: { name },
    spec: {
      bucket: 'sftp',
      root: 'servers',
      endpoint: bed.minio.endpoint,
      region: bed.minio.region,
      forcePathStyle: true,
      credentials: { secretRef: { name: 'minio-credentials' } },
      namespaceSelector: {},
      ...spec,
    },
  } as Manifest;
}

export async function applyProfile(bed: TestBed, name: string, spec: Record<string, unknown> = {}): Promise<void> {
  await bed.admin.apply(Resources.SftpStorageProfile, profileManifest(bed, name, spec));
}

export function serverManifest(_bed: TestBed, ns: string, name: string, spec: Record<string, unknown> = {}): Manifest {
  const { storage, ...rest } = spec as { storage?: Record<string, unknown> };
  return {
    apiVersion: 'sftpgate.io/v1alpha1',
    kind: 'SftpServer',
    metadata: { name, namespace: ns },
    spec: {
      storage: { profile: PROFILE, ...storage },
      replicas: 1,
      ...rest,
    },
  } as Manifest;
}

export function userManifest(ns: string, name: string, spec: Record<string, unknown>): Manifest {
  return {
    apiVersion: 'sftpgate.io/v1alpha1',
    kind: 'SftpUser',
    metadata: { name, namespace: ns },
    spec,
  } as Manifest;
}

export async function getServer(bed: TestBed, ns: string, name: string): Promise<SftpServer | undefined> {
  return (await bed.admin.getOptional(Resources.SftpServer, ns, name)) as SftpServer | undefined;
}

export async function getUser(bed: TestBed, ns: string, name: string): Promise<SftpUser | undefined> {
  return (await bed.admin.getOptional(Resources.SftpUser, ns, name)) as SftpUser | undefined;
}

export function condition(
  obj: { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } } | undefined,
  type: string,
) {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

/** Generates an ed25519 key pair with ssh-keygen; returns the private key path and the public key line. */
export function sshKeyPair(dir: string, name: string): { privateKeyPath: string; publicKey: string } {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', path]);
  return { privateKeyPath: path, publicKey: readFileSync(`${path}.pub`, 'utf8').trim() };
}

/** The users-table document of shard `index`, as the pods read it. */
export async function usersTable(
  bed: TestBed,
  ns: string,
  server: string,
  index = 0,
): Promise<
  { shards: number; users: { username: string; passwordHash?: string; publicKeys?: string[] }[] } | undefined
> {
  const s = (await bed.admin.getOptional(Resources.Secret, ns, `${server}-users-${index}`)) as
    | { data?: Record<string, string> }
    | undefined;
  const raw = s?.data?.['users.json'];
  return raw ? JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) : undefined;
}

/**
 * Waits until the operator has been quiet (no API write) for `quietMs`: a converged state, not a timing guess —
 * every pass that had something to do has written by then.
 */
export async function waitQuiet(op: RunningOperator, quietMs = 2500, timeoutMs = 60_000): Promise<void> {
  let last = op.client.writeCount();
  let since = Date.now();
  await waitFor(
    'the operator to stop writing',
    () => {
      const now = op.client.writeCount();
      if (now !== last) {
        last = now;
        since = Date.now();
        return false;
      }
      return Date.now() - since >= quietMs;
    },
    timeoutMs,
  );
}
