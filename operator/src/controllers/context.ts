// What both reconcilers share: the API client, the informer caches they read, the S3 managers per server, the
// password hasher, the IAM integration point. main.ts builds one and hands it to both controllers.
import { createHash } from 'node:crypto';
import type { V1Deployment, V1Secret } from '@kubernetes/client-node';
import type { SftpServer, SftpUser } from '../api/types.generated.ts';
import { S3BucketManager, type S3Connection } from '../cloud/s3/bucket-manager.ts';
import type { BucketManager } from '../cloud/s3/types.ts';
import { StallingError } from '../runtime/errors.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { KubeClient, KubeObject } from '../runtime/kube-client.ts';
import type { Logger } from '../runtime/logger.ts';
import type { PasswordHasher } from '../secrets/password-hash.ts';
import type { WorkloadSettings } from './sftp-server/desired.ts';
import type { UserIndex } from './user-index.ts';

/** Read access to a cache of objects keyed `namespace/name` (an Informer satisfies it). */
export interface Cache<T> {
  get(key: string): T | undefined;
  list(): T[];
}

/**
 * The IAM integration point (issue 5). Absent, or mode None: IAMReady is not reported and no session policy is
 * written. The coordinator wires an implementation from operator/src/cloud/iam.
 */
export interface IamIntegration {
  /** Ensures roles/policies for the server. Throws typed errors (classified by the controller). */
  reconcileServer(
    server: SftpServer,
    signal: AbortSignal,
  ): Promise<{ ready: boolean; reason: string; message: string; status?: NonNullable<SftpServer['status']>['iam'] }>;
  /** Removes what reconcileServer created; called behind the finalizer. */
  cleanupServer?(server: SftpServer, signal: AbortSignal): Promise<void>;
  /** The user's packed session policy and its digest, or a reason it cannot be built (e.g. SessionPolicyTooLarge). */
  sessionPolicy(
    server: SftpServer,
    user: SftpUser,
  ): { policy?: string; digest?: string } | { error: string; reason: string; message: string };
}

export type StorageFactory = (conn: S3Connection) => BucketManager;

export interface ControllerContext {
  readonly client: KubeClient;
  readonly servers: Cache<SftpServer>;
  readonly users: Cache<SftpUser>;
  /** Every Secret the operator may need (credentials, passwords, its own children). */
  readonly secrets: Cache<V1Secret>;
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

/** The S3 connection of a server, with credentials read from its credentials Secret. Throws StallingError. */
export function connectionFor(server: SftpServer, secrets: Cache<V1Secret>): S3Connection {
  const st = server.spec.storage;
  const ref = st.credentialsSecretRef;
  let credentials: S3Connection['credentials'];
  if (ref) {
    const secret = secrets.get(`${server.metadata.namespace}/${ref.name}`);
    if (!secret) {
      throw new StallingError(
        'CredentialsSecretNotFound',
        `storage.credentialsSecretRef: Secret ${ref.name} not found in namespace ${server.metadata.namespace}`,
      );
    }
    const accessKeyId = decode(secret.data?.[ref.accessKeyIdKey])?.trim();
    const secretAccessKey = decode(secret.data?.[ref.secretAccessKeyKey])?.trim();
    if (!accessKeyId || !secretAccessKey) {
      throw new StallingError(
        'CredentialsSecretInvalid',
        `Secret ${ref.name} needs non-empty keys ${ref.accessKeyIdKey} and ${ref.secretAccessKeyKey}`,
      );
    }
    credentials = { accessKeyId, secretAccessKey };
  }
  return {
    bucket: st.bucket,
    region: st.region,
    endpoint: st.endpoint,
    forcePathStyle: st.forcePathStyle,
    credentials,
    encryption: st.encryption,
    storageClass: st.storageClass,
  };
}

/** One BucketManager per server uid, rebuilt when the connection (or credentials) change. */
export class StorageRegistry {
  readonly #factory: StorageFactory;
  readonly #managers = new Map<string, { digest: string; manager: BucketManager }>();

  constructor(factory: StorageFactory = (conn) => new S3BucketManager(conn)) {
    this.#factory = factory;
  }

  /** Throws StallingError when the credentials Secret is missing or incomplete. */
  for(server: SftpServer, secrets: Cache<V1Secret>): BucketManager {
    const conn = connectionFor(server, secrets);
    const digest = createHash('sha256').update(JSON.stringify(conn)).digest('hex');
    const uid = server.metadata.uid ?? '';
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
