// What both reconcilers share: the API client, the informer caches they read, the S3 managers per server, the
// password hasher, the IAM integration point. main.ts builds one and hands it to both controllers.
import { createHash } from 'node:crypto';
import type { V1Deployment, V1Namespace, V1Secret } from '@kubernetes/client-node';
import { Reason } from '../api/conditions.ts';
import type { SftpServer, SftpStorageProfile, SftpUser } from '../api/types.generated.ts';
import { S3BucketManager, type S3Connection } from '../cloud/s3/bucket-manager.ts';
import type { BucketManager } from '../cloud/s3/types.ts';
import { StallingError } from '../runtime/errors.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { KubeClient, KubeObject } from '../runtime/kube-client.ts';
import type { Logger } from '../runtime/logger.ts';
import type { PasswordHasher } from '../secrets/password-hash.ts';
import type { PasswordSecrets } from './password-secrets.ts';
import type { Placement } from './placement.ts';
import type { WorkloadSettings } from './sftp-server/desired.ts';
import type { UserIndex } from './user-index.ts';

/** Read access to a cache of objects keyed `namespace/name` (an Informer satisfies it). */
export interface Cache<T> {
  get(key: string): T | undefined;
  list(): T[];
  /** The cache's own keys (`namespace/name`): a loop over every object reuses them instead of building new ones. */
  keys(): string[];
}

/** A server with the placement the operator derived for it from its profile: what IAM and S3 act on. */
export interface PlacedServer {
  readonly server: SftpServer;
  readonly placement: Placement;
}

/**
 * The IAM integration point (operator/src/cloud/iam/integration.ts). Absent, or mode None: IAMReady is not reported
 * and no session policy is written. Every bucket, prefix, key and identity parameter comes from the placement (the
 * platform's profile), never from the tenant's spec.
 */
export interface IamIntegration {
  /** Ensures roles/policies for the server. Throws typed errors (classified by the controller). */
  reconcileServer(
    placed: PlacedServer,
    signal: AbortSignal,
  ): Promise<{ ready: boolean; reason: string; message: string; status?: NonNullable<SftpServer['status']>['iam'] }>;
  /** Removes what reconcileServer created; called behind the finalizer. */
  cleanupServer?(placed: PlacedServer, signal: AbortSignal): Promise<void>;
  /** The user's packed session policy and its digest, or a reason it cannot be built (e.g. SessionPolicyTooLarge). */
  sessionPolicy(
    placed: PlacedServer,
    user: SftpUser,
  ): { policy?: string; digest?: string } | { error: string; reason: string; message: string };
}

export type StorageFactory = (conn: S3Connection) => BucketManager;

export interface ControllerContext {
  readonly client: KubeClient;
  readonly servers: Cache<SftpServer>;
  readonly users: Cache<SftpUser>;
  /** Platform profiles, keyed by name (cluster-scoped). */
  readonly profiles: Cache<SftpStorageProfile>;
  /** Namespaces, keyed by name: their labels decide which profiles they may use. */
  readonly namespaces: Cache<V1Namespace>;
  /** The operator's own Secrets only (label app.kubernetes.io/managed-by=sftpgate): users shards, host keys, copies. */
  readonly secrets: Cache<V1Secret>;
  /** Secrets of the operator's namespace: the profiles' credentials. */
  readonly operatorSecrets: Cache<V1Secret>;
  readonly operatorNamespace: string;
  /** Tenants' password Secrets, read by name (never listed). */
  readonly passwords: PasswordSecrets;
  readonly deployments: Cache<V1Deployment>;
  readonly events: EventRecorder;
  readonly logger: Logger;
  readonly hasher: PasswordHasher;
  readonly workload: WorkloadSettings;
  readonly storage: StorageRegistry;
  readonly iam?: IamIntegration | undefined;
  /** Users by (namespace, server, username); absent (unit tests): a scan of `users`. */
  readonly userIndex?: UserIndex | undefined;
}

/** Our generated CR types use client-node's V1ObjectMeta class, which TypeScript will not widen to KubeObject. */
/** An object as KubeClient.apply takes it. */
export type KubeManifest = KubeObject & { [field: string]: unknown };

export function kube(object: SftpServer | SftpUser | object): KubeManifest {
  return object as KubeManifest;
}

const decode = (v: string | undefined): string | undefined =>
  v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');

/** The S3 connection of a placement, with credentials from the profile's Secret in the operator's namespace. */
export function connectionFor(placement: Placement, secrets: Cache<V1Secret>, operatorNamespace: string): S3Connection {
  const ref = placement.credentials;
  let credentials: S3Connection['credentials'];
  if (ref) {
    const secret = secrets.get(`${operatorNamespace}/${ref.name}`);
    // The tenant sees that the platform's Secret is missing, not where it lives or what it holds.
    if (!secret) {
      throw new StallingError(
        Reason.CredentialsSecretNotFound,
        `the credentials of SftpStorageProfile ${placement.profile} are missing (ask the platform team)`,
      );
    }
    const accessKeyId = decode(secret.data?.[ref.accessKeyIdKey])?.trim();
    const secretAccessKey = decode(secret.data?.[ref.secretAccessKeyKey])?.trim();
    if (!accessKeyId || !secretAccessKey) {
      throw new StallingError(
        Reason.CredentialsSecretInvalid,
        `the credentials of SftpStorageProfile ${placement.profile} are incomplete (ask the platform team)`,
      );
    }
    credentials = { accessKeyId, secretAccessKey };
  }
  return {
    bucket: placement.bucket,
    region: placement.region,
    endpoint: placement.endpoint,
    forcePathStyle: placement.forcePathStyle,
    caBundle: placement.caBundle,
    credentials,
    encryption: placement.encryption,
    storageClass: placement.storageClass,
  };
}

/** One BucketManager per server uid, rebuilt when the connection (or credentials) change. */
export class StorageRegistry {
  readonly #factory: StorageFactory;
  readonly #managers = new Map<string, { digest: string; manager: BucketManager }>();

  constructor(factory: StorageFactory = (conn) => new S3BucketManager(conn)) {
    this.#factory = factory;
  }

  /** The manager for `uid` at `placement`. Throws StallingError when the profile's credentials are unusable. */
  for(uid: string, placement: Placement, secrets: Cache<V1Secret>, operatorNamespace: string): BucketManager {
    const conn = connectionFor(placement, secrets, operatorNamespace);
    const digest = createHash('sha256').update(JSON.stringify(conn)).digest('hex');
    const hit = this.#managers.get(uid);
    if (hit?.digest === digest) return hit.manager;
    if (hit?.manager instanceof S3BucketManager) hit.manager.destroy();
    const manager = this.#factory(conn);
    this.#managers.set(uid, { digest, manager });
    return manager;
  }

  /** Digest of the connection (incl. credentials) last used for `uid`, so callers notice credential changes. */
  digestOf(uid: string): string | undefined {
    return this.#managers.get(uid)?.digest;
  }

  forget(uid: string): void {
    const hit = this.#managers.get(uid);
    if (hit?.manager instanceof S3BucketManager) hit.manager.destroy();
    this.#managers.delete(uid);
  }

  close(): void {
    for (const uid of [...this.#managers.keys()]) this.forget(uid);
  }
}
