// A ControllerContext over in-memory caches, a recording API client and a recording bucket, for unit tests of the
// reconcile steps. Not a fake of Kubernetes semantics: apply stores what it is given, so tests assert what the step
// asked for (and that a converged second pass asks for nothing).
import type { V1Deployment, V1Namespace, V1Secret } from '@kubernetes/client-node';
import type { SftpServer, SftpStorageProfile, SftpUser } from '../../api/types.generated.ts';
import type { S3Connection } from '../../cloud/s3/bucket-manager.ts';
import type { BucketManager, LifecycleRuleScope, LifecycleSettings, PurgeProgress } from '../../cloud/s3/types.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { KubeClient, KubeObject, ResourceType } from '../../runtime/kube-client.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { PasswordHasher } from '../../secrets/password-hash.ts';
import { type Cache, type ControllerContext, type IamIntegration, StorageRegistry } from '../context.ts';
import { PasswordSecrets } from '../password-secrets.ts';
import { namespaceFixture, OPERATOR_NAMESPACE, profileFixture } from './fixtures.ts';

/** A Cache over a Map keyed `namespace/name` (`name` for cluster-scoped objects). */
export class MapCache<T extends { metadata?: { namespace?: string; name?: string } | undefined }> implements Cache<T> {
  readonly map = new Map<string, T>();
  get(key: string): T | undefined {
    return this.map.get(key);
  }
  list(): T[] {
    return [...this.map.values()];
  }
  keys(): string[] {
    return [...this.map.keys()];
  }
  put(obj: T): T {
    const ns = obj.metadata?.namespace;
    this.map.set(ns ? `${ns}/${obj.metadata?.name}` : (obj.metadata?.name ?? ''), obj);
    return obj;
  }
}

export interface Call {
  verb: 'apply' | 'create' | 'delete' | 'mergePatch' | 'get';
  kind: string;
  namespace: string | undefined;
  name: string;
  subresource?: string | undefined;
  body?: unknown;
}

/** Records every call; objects live in `store` keyed `kind/namespace/name`. Writes are the non-`get` calls. */
export class RecordingClient {
  readonly calls: Call[] = [];
  readonly store = new Map<string, KubeObject>();

  writes(): Call[] {
    return this.calls.filter((c) => c.verb !== 'get');
  }

  #key(type: ResourceType, ns: string | undefined, name: string): string {
    return `${type.kind}/${ns ?? ''}/${name}`;
  }

  async get<T extends KubeObject>(type: ResourceType, ns: string | undefined, name: string): Promise<T> {
    const hit = await this.getOptional<T>(type, ns, name);
    if (!hit) throw Object.assign(new Error(`${type.kind} ${name} not found`), { status: 404 });
    return hit;
  }

  async getOptional<T extends KubeObject>(
    type: ResourceType,
    ns: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    this.calls.push({ verb: 'get', kind: type.kind, namespace: ns, name });
    return this.store.get(this.#key(type, ns, name)) as T | undefined;
  }

  async create<T extends KubeObject>(type: ResourceType, ns: string | undefined, body: T): Promise<T> {
    const name = body.metadata?.name ?? '';
    this.calls.push({ verb: 'create', kind: type.kind, namespace: ns, name, body });
    const stored = { ...body, metadata: { ...body.metadata, uid: `uid-${name}`, resourceVersion: '1' } } as T;
    this.store.set(this.#key(type, ns, name), stored);
    return stored;
  }

  async apply<T extends KubeObject>(
    type: ResourceType,
    body: KubeObject,
    options: { subresource?: string } = {},
  ): Promise<T> {
    const ns = body.metadata?.namespace;
    const name = body.metadata?.name ?? '';
    this.calls.push({ verb: 'apply', kind: type.kind, namespace: ns, name, subresource: options.subresource, body });
    if (options.subresource === undefined) this.store.set(this.#key(type, ns, name), body);
    return body as T;
  }

  async mergePatch<T extends KubeObject>(
    type: ResourceType,
    ns: string | undefined,
    name: string,
    patch: { metadata?: Record<string, unknown>; data?: Record<string, string> },
  ): Promise<T> {
    this.calls.push({ verb: 'mergePatch', kind: type.kind, namespace: ns, name, body: patch });
    const key = this.#key(type, ns, name);
    const current = (this.store.get(key) ?? { metadata: { name, namespace: ns } }) as KubeObject & {
      data?: Record<string, string>;
    };
    const next = {
      ...current,
      metadata: { ...current.metadata, ...patch.metadata },
      ...(patch.data ? { data: { ...current.data, ...patch.data } } : {}),
    } as unknown as T;
    this.store.set(key, next);
    return next;
  }

  async delete(type: ResourceType, ns: string | undefined, name: string): Promise<void> {
    this.calls.push({ verb: 'delete', kind: type.kind, namespace: ns, name });
    this.store.delete(this.#key(type, ns, name));
  }
}

/** A BucketManager that records calls; `fail` makes the next calls throw it. */
export class RecordingBucket implements BucketManager {
  readonly calls: string[] = [];
  readonly markers = new Set<string>();
  fail: Error | undefined;
  objectsToPurge = 0;

  readonly conn: S3Connection;
  constructor(conn: S3Connection) {
    this.conn = conn;
  }

  #call(what: string): void {
    this.calls.push(what);
    if (this.fail) throw this.fail;
  }
  async checkBucket() {
    this.#call('checkBucket');
    return { versioning: 'Enabled' as const };
  }
  async ensureLifecycle(scope: LifecycleRuleScope, _s: LifecycleSettings) {
    this.#call(`ensureLifecycle ${scope.prefix}`);
    return { changed: false };
  }
  async removeLifecycle(scope: LifecycleRuleScope) {
    this.#call(`removeLifecycle ${scope.prefix}`);
    return { changed: false };
  }
  async ensureMarker(dir: string) {
    this.#call(`ensureMarker ${dir}`);
    const created = !this.markers.has(dir);
    this.markers.add(dir);
    return { created };
  }
  async purge(dir: string): Promise<PurgeProgress> {
    this.#call(`purge ${dir}`);
    const deleted = this.objectsToPurge;
    this.objectsToPurge = 0;
    return { deleted, remaining: false };
  }
}

export interface FakeContext extends ControllerContext {
  readonly client: KubeClient;
  readonly kube: RecordingClient;
  readonly servers: MapCache<SftpServer>;
  readonly users: MapCache<SftpUser>;
  readonly secrets: MapCache<V1Secret>;
  readonly deployments: MapCache<V1Deployment>;
  readonly profiles: MapCache<SftpStorageProfile>;
  readonly namespaces: MapCache<V1Namespace>;
  readonly operatorSecrets: MapCache<V1Secret>;
  readonly buckets: RecordingBucket[];
  readonly events: EventRecorder;
  readonly recorded: string[];
}

/**
 * A context with profile `minio` (root `sftpgate`, credentials `minio-creds` in the operator's namespace) selecting
 * namespace `tenants`, both in the caches.
 */
export function fakeContext(options: { iam?: IamIntegration } = {}): FakeContext {
  const kube = new RecordingClient();
  const profiles = new MapCache<SftpStorageProfile>();
  profiles.put(profileFixture());
  const namespaces = new MapCache<V1Namespace>();
  namespaces.put(namespaceFixture('tenants'));
  const operatorSecrets = new MapCache<V1Secret>();
  operatorSecrets.put({
    metadata: { name: 'minio-creds', namespace: OPERATOR_NAMESPACE },
    data: { AWS_ACCESS_KEY_ID: btoa('id'), AWS_SECRET_ACCESS_KEY: btoa('secret') },
  });
  const buckets: RecordingBucket[] = [];
  const recorded: string[] = [];
  const events = {
    async record(_o: KubeObject, type: string, reason: string, message: string) {
      recorded.push(`${type} ${reason} ${message}`);
    },
  } as unknown as EventRecorder;
  return {
    client: kube as unknown as KubeClient,
    kube,
    servers: new MapCache<SftpServer>(),
    users: new MapCache<SftpUser>(),
    secrets: new MapCache<V1Secret>(),
    deployments: new MapCache<V1Deployment>(),
    profiles,
    namespaces,
    operatorSecrets,
    operatorNamespace: OPERATOR_NAMESPACE,
    passwords: new PasswordSecrets(kube as unknown as KubeClient),
    events,
    recorded,
    logger: silentLogger,
    hasher: new PasswordHasher({ params: { ln: 4, r: 8, p: 1 } }),
    workload: { image: 'sftpgate/sftp:test' },
    storage: new StorageRegistry((conn) => {
      const b = new RecordingBucket(conn);
      buckets.push(b);
      return b;
    }),
    buckets,
    iam: options.iam,
  };
}
