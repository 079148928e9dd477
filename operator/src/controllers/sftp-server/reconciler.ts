// SftpServer reconcile (Flux bucket_controller shape): get from cache → work on a copy of status → deletion branch →
// finalizer only when deletion needs S3/IAM cleanup → ordered steps (users table, host keys, storage, IAM,
// workloads), stopping at the first error → status summarised and written once, only when it changed.
import type { V1Deployment, V1Secret, V1Service } from '@kubernetes/client-node';
import { ConditionType, Reason } from '../../api/conditions.ts';
import type { SftpServer, SftpServerStatus, SftpUser } from '../../api/types.generated.ts';
import { S3ManagerError } from '../../cloud/s3/errors.ts';
import {
  markUnexplainedFailure,
  removeCondition,
  setCondition,
  statusEqual,
  summarizeReady,
} from '../../runtime/conditions.ts';
import { isConflict, StallingError, WaitingError } from '../../runtime/errors.ts';
import { ensureFinalizer, hasFinalizer, isDeleting, removeFinalizer } from '../../runtime/finalizers.ts';
import { type KubeObject, Resources, type ResourceType } from '../../runtime/kube-client.ts';
import { InvalidPasswordError, SecretsError } from '../../secrets/errors.ts';
import { generateHostKey, HOST_KEY_FILES, inspectOpenSshPrivateKey } from '../../secrets/host-keys.ts';
import { buildUsersTable, type UsersTableEntry } from '../../secrets/users-table.ts';
import { type ControllerContext, type KubeManifest, kube } from '../context.ts';
import { needsApply } from '../drift.ts';
import { usernameOf, usernameOwners, usersTableEntry, validateUser } from '../sftp-user/desired.ts';
import {
  childNames,
  desiredDeployment,
  desiredHostKeysSecret,
  desiredNetworkPolicy,
  desiredPodDisruptionBudget,
  desiredRole,
  desiredRoleBinding,
  desiredService,
  desiredServiceAccount,
  desiredUsersSecret,
  endpointOf,
  LABEL_COMPONENT,
  LABEL_SERVER,
  secretDataDigest,
} from './desired.ts';

/** Batches of 1000 deleted per reconcile pass while purging; progress lands in status between passes. */
const PURGE_BATCHES_PER_PASS = 5;
const STORAGE_RETRY_MS = 30_000;
/**
 * A server pass runs for every change of any of its users. S3 checks and reads of children that were verified
 * recently with the same inputs are skipped for this long, so those passes cost no S3 request and no GET; drift made
 * behind our back (a lifecycle rule or a Role edited by hand) is repaired within this window or at the next change.
 */
export const RECHECK_MS = 5 * 60_000;

interface PassState {
  hostKeysDigest: string;
}

export class SftpServerReconciler {
  readonly #ctx: ControllerContext;
  readonly #now: () => number;
  /** uid → inputs of the last successful storage check and when. */
  readonly #storageChecked = new Map<string, { inputs: string; at: number }>();
  /** user uid → its users-table entry and the versions it was derived from. */
  readonly #entries = new Map<string, { version: string; entry: UsersTableEntry | undefined }>();
  /** kind/ns/name → the desired object last found applied, when, and the live object then. */
  readonly #verified = new Map<string, { desired: string; at: number; live: unknown }>();

  constructor(ctx: ControllerContext, now: () => number = Date.now) {
    this.#ctx = ctx;
    this.#now = now;
  }

  /** Reconciles one server by `namespace/name`. Throws typed errors (runtime/errors.ts) that decide the retry. */
  async reconcile(key: string, signal: AbortSignal): Promise<void> {
    const cached = this.#ctx.servers.get(key);
    if (!cached) {
      // Gone: children go with their owner references; forget the S3 client.
      return;
    }
    const server = structuredClone(cached);
    const before: SftpServerStatus = structuredClone(server.status ?? {});
    const status: SftpServerStatus = structuredClone(before);
    const log = this.#ctx.logger.child({ sftpserver: key });
    let failure: unknown;
    try {
      if (isDeleting(kube(server))) {
        await this.#finalize(server, status, signal);
        return;
      }
      await this.#finalizerFor(server, signal);
      const pass: PassState = { hostKeysDigest: '' };
      // The users table first: revoking access must never wait for S3, IAM or anything else to work.
      await this.#usersTable(server, status, signal);
      await this.#hostKeys(server, status, pass, signal);
      await this.#storage(server, status, signal);
      await this.#iam(server, status, signal);
      await this.#workloads(server, status, pass, signal);
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      if (!isDeleting(kube(server)) || hasFinalizer(kube(server))) {
        this.#summarize(server, status, failure);
        await this.#writeStatus(server, before, status, signal).catch((err: unknown) => {
          // A status write failing must not hide the reconcile error; log and let the retry rewrite it.
          if (failure === undefined) throw err;
          log.warn('status write failed', { err });
        });
      }
    }
  }

  // ── finalizer / deletion ─────────────────────────────────────────────────────────────────────────────────────

  /** A finalizer only when deletion needs cleanup we do: purging S3 (Delete) or IAM objects (mode AWS). */
  #needsFinalizer(server: SftpServer): boolean {
    return (
      server.spec.deletionPolicy === 'Delete' || (server.spec.iam.mode === 'AWS' && !!this.#ctx.iam?.cleanupServer)
    );
  }

  async #finalizerFor(server: SftpServer, signal: AbortSignal): Promise<void> {
    const updated = this.#needsFinalizer(server)
      ? await ensureFinalizer(this.#ctx.client, Resources.SftpServer, kube(server), undefined, signal)
      : await removeFinalizer(this.#ctx.client, Resources.SftpServer, kube(server), undefined, signal);
    server.metadata = updated.metadata as SftpServer['metadata'];
  }

  async #finalize(server: SftpServer, status: SftpServerStatus, signal: AbortSignal): Promise<void> {
    if (!hasFinalizer(kube(server))) return;
    const prefix = server.spec.storage.prefix;
    if (server.spec.deletionPolicy === 'Delete') {
      if (prefix === '') {
        // The bucket root may be shared with other servers or other data: never purge it.
        await this.#ctx.events.record(
          kube(server),
          'Warning',
          'PurgeSkipped',
          'deletionPolicy Delete with an empty storage.prefix: the bucket root is never purged; data kept',
          signal,
        );
      } else {
        const manager = this.#ctx.storage.for(server, this.#ctx.secrets);
        const deletion = status.deletion ?? {
          startedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
          objectsDeleted: 0,
        };
        let progress: { deleted: number; remaining: boolean };
        try {
          progress = await manager.purge(prefix, { maxBatches: PURGE_BATCHES_PER_PASS, signal });
        } catch (err) {
          status.deletion = { ...deletion, remaining: true, message: String((err as Error).message) };
          throw err;
        }
        const total = (deletion.objectsDeleted ?? 0) + progress.deleted;
        status.deletion = {
          ...deletion,
          objectsDeleted: total,
          remaining: progress.remaining,
          message: progress.remaining
            ? `purging s3://${server.spec.storage.bucket}/${prefix}/: ${total} object versions and delete markers deleted so far`
            : `purged s3://${server.spec.storage.bucket}/${prefix}/: ${total} object versions and delete markers deleted`,
        };
        if (progress.remaining) {
          throw new WaitingError(Reason.Deleting, status.deletion.message ?? 'purging', 100);
        }
        await manager.removeLifecycle(prefix, signal);
      }
    }
    if (this.#ctx.iam?.cleanupServer && server.spec.iam.mode === 'AWS') {
      await this.#ctx.iam.cleanupServer(server, signal);
    }
    // Write the final progress before the object can vanish, then release it.
    await this.#writeStatus(server, server.status ?? {}, status, signal).catch(() => undefined);
    await removeFinalizer(this.#ctx.client, Resources.SftpServer, kube(server), undefined, signal);
    this.#ctx.storage.forget(server.metadata.uid ?? '');
    this.#ctx.logger.info('Finalized SftpServer', {
      sftpserver: `${server.metadata.namespace}/${server.metadata.name}`,
      deletionPolicy: server.spec.deletionPolicy,
    });
  }

  // ── host keys ────────────────────────────────────────────────────────────────────────────────────────────────

  async #hostKeys(server: SftpServer, status: SftpServerStatus, pass: PassState, signal: AbortSignal): Promise<void> {
    const ns = server.metadata.namespace ?? '';
    const name = childNames(server).hostKeys;
    const userProvided = server.spec.hostKeys.secretName !== undefined;
    let secret =
      this.#ctx.secrets.get(`${ns}/${name}`) ??
      (await this.#ctx.client.getOptional<V1Secret & KubeObject>(Resources.Secret, ns, name, signal));
    const types = server.spec.hostKeys.types;
    const fail = (message: string): never => {
      status.conditions = setCondition(
        status.conditions,
        { type: ConditionType.HostKeysReady, status: false, reason: Reason.HostKeysInvalid, message },
        server.metadata.generation,
      );
      throw new StallingError(Reason.HostKeysInvalid, message);
    };
    let generated = false;
    if (!secret) {
      if (userProvided) fail(`hostKeys.secretName: Secret ${name} not found`);
      const keys: Record<string, string> = {};
      for (const t of types)
        keys[HOST_KEY_FILES[t]] = generateHostKey(t, `sftpgate ${ns}/${server.metadata.name}`).privateKey;
      try {
        // create, never apply: if someone (or an earlier pass) created it meanwhile, theirs wins.
        secret = (await this.#ctx.client.create(
          Resources.Secret,
          ns,
          desiredHostKeysSecret(server, keys) as KubeObject,
          signal,
        )) as V1Secret;
        generated = true;
      } catch (err) {
        if (!isConflict(err)) throw err;
        secret = await this.#ctx.client.get<V1Secret & KubeObject>(Resources.Secret, ns, name, signal);
      }
    } else {
      const missing = types.filter((t) => secret?.data?.[HOST_KEY_FILES[t]] === undefined);
      if (missing.length > 0) {
        if (userProvided) fail(`Secret ${name} lacks ${missing.map((t) => HOST_KEY_FILES[t]).join(', ')}`);
        // Only a key someone removed (rotation, docs/operator.md) or a newly requested type is generated; existing
        // keys are never touched. Guarded by resourceVersion: a concurrent edit wins and we retry.
        const data: Record<string, string> = {};
        for (const t of missing) {
          data[HOST_KEY_FILES[t]] = Buffer.from(
            generateHostKey(t, `sftpgate ${ns}/${server.metadata.name}`).privateKey,
          ).toString('base64');
        }
        secret = await this.#ctx.client.mergePatch<V1Secret & KubeObject>(
          Resources.Secret,
          ns,
          name,
          { metadata: { resourceVersion: secret.metadata?.resourceVersion }, data },
          { signal },
        );
        await this.#ctx.events.record(
          kube(server),
          'Normal',
          'HostKeyGenerated',
          `generated ${missing.join(', ')} host key(s) in Secret ${name}`,
          signal,
        );
      }
    }
    const fingerprints: { type: string; fingerprint: string }[] = [];
    for (const t of types) {
      const pem = Buffer.from(secret?.data?.[HOST_KEY_FILES[t]] ?? '', 'base64').toString('utf8');
      try {
        const k = inspectOpenSshPrivateKey(pem);
        fingerprints.push({ type: k.type, fingerprint: k.fingerprint });
      } catch (err) {
        fail(`Secret ${name} key ${HOST_KEY_FILES[t]}: ${(err as Error).message}`);
      }
    }
    // Only the keys the pods mount count for the rollout checksum.
    const mounted: Record<string, string> = {};
    for (const t of types) mounted[HOST_KEY_FILES[t]] = secret?.data?.[HOST_KEY_FILES[t]] ?? '';
    pass.hostKeysDigest = secretDataDigest(mounted);
    status.hostKeyFingerprints = fingerprints;
    status.conditions = setCondition(
      status.conditions,
      {
        type: ConditionType.HostKeysReady,
        status: true,
        reason: generated ? Reason.HostKeysGenerated : Reason.HostKeysFound,
        message: `${fingerprints.map((f) => `${f.type} ${f.fingerprint}`).join(', ')} in Secret ${name}`,
      },
      server.metadata.generation,
    );
    if (generated) {
      await this.#ctx.events.record(
        kube(server),
        'Normal',
        'HostKeysGenerated',
        `generated host keys in Secret ${name}`,
        signal,
      );
    }
  }

  // ── storage ──────────────────────────────────────────────────────────────────────────────────────────────────

  async #storage(server: SftpServer, status: SftpServerStatus, signal: AbortSignal): Promise<void> {
    const st = server.spec.storage;
    const setStorage = (ok: boolean, reason: string, message: string): void => {
      status.conditions = setCondition(
        status.conditions,
        { type: ConditionType.StorageReady, status: ok, reason, message },
        server.metadata.generation,
      );
    };
    const uid = server.metadata.uid ?? '';
    try {
      const manager = this.#ctx.storage.for(server, this.#ctx.secrets);
      const inputs = JSON.stringify([st, this.#ctx.storage.digestOf(uid)]);
      const last = this.#storageChecked.get(uid);
      const ready = status.conditions?.find((c) => c.type === ConditionType.StorageReady)?.status === 'True';
      if (ready && last?.inputs === inputs && this.#now() - last.at < RECHECK_MS) return;
      this.#storageChecked.delete(uid);
      const { versioning } = await manager.checkBucket(signal);
      status.versioning = versioning;
      await manager.ensureLifecycle(st.prefix, st.lifecycle, signal);
      await manager.ensureMarker(st.prefix, signal);
      this.#storageChecked.set(uid, { inputs, at: this.#now() });
      setStorage(
        true,
        Reason.LifecycleRulesApplied,
        `s3://${st.bucket}/${st.prefix}${st.prefix ? '/' : ''} reachable (versioning ${versioning}); lifecycle rules applied`,
      );
    } catch (err) {
      if (err instanceof StallingError) {
        setStorage(false, err.reason, err.message);
        throw err;
      }
      if (err instanceof S3ManagerError) {
        const reason =
          err.code === 'SFTPGATE_S3_BUCKET_NOT_FOUND'
            ? Reason.BucketNotFound
            : err.code === 'SFTPGATE_S3_ACCESS_DENIED' || err.code === 'SFTPGATE_S3_INVALID_CREDENTIALS'
              ? Reason.AccessDenied
              : Reason.StorageError;
        setStorage(false, reason, err.message);
        // A missing bucket or wrong credentials are fixed outside the operator: check again now and then.
        if (!err.transient) throw new WaitingError(reason, err.message, STORAGE_RETRY_MS, { cause: err });
      }
      throw err;
    }
  }

  // ── IAM (issue 5 integration point) ──────────────────────────────────────────────────────────────────────────

  async #iam(server: SftpServer, status: SftpServerStatus, signal: AbortSignal): Promise<void> {
    const iam = this.#ctx.iam;
    if (server.spec.iam.mode === 'None' || !iam) {
      status.conditions = removeCondition(status.conditions, ConditionType.IAMReady);
      if (server.spec.iam.mode !== 'None') {
        status.conditions = setCondition(
          status.conditions,
          {
            type: ConditionType.IAMReady,
            status: false,
            reason: Reason.IAMError,
            message: `iam.mode ${server.spec.iam.mode} is not available in this operator build`,
          },
          server.metadata.generation,
        );
        throw new StallingError(
          Reason.IAMError,
          `iam.mode ${server.spec.iam.mode} is not available in this operator build`,
        );
      }
      delete status.iam;
      return;
    }
    const r = await iam.reconcileServer(server, signal);
    if (r.status) status.iam = r.status;
    status.conditions = setCondition(
      status.conditions,
      { type: ConditionType.IAMReady, status: r.ready, reason: r.reason, message: r.message },
      server.metadata.generation,
    );
    if (!r.ready) throw new WaitingError(r.reason, r.message, STORAGE_RETRY_MS);
  }

  // ── users table ──────────────────────────────────────────────────────────────────────────────────────────────

  /** The users of this server the pods should accept: valid, not being deleted, owning their username. */
  async usersTableEntries(server: SftpServer): Promise<UsersTableEntry[]> {
    const ns = server.metadata.namespace;
    const mine = this.#ctx.users
      .list()
      .filter(
        (u) => u.metadata.namespace === ns && u.spec.serverRef.name === server.metadata.name && !isDeleting(kube(u)),
      );
    const owners = usernameOwners(mine);
    const entries = await Promise.all(mine.map((u) => this.#entryFor(server, u, owners)));
    if (this.#entries.size > 2 * this.#ctx.users.list().length + 1000) {
      const live = new Set(this.#ctx.users.list().map((u) => u.metadata.uid));
      for (const uid of this.#entries.keys()) if (!live.has(uid)) this.#entries.delete(uid);
    }
    return entries.filter((e): e is UsersTableEntry => e !== undefined);
  }

  async #entryFor(
    server: SftpServer,
    user: SftpUser,
    owners: Map<string, string>,
  ): Promise<UsersTableEntry | undefined> {
    if (owners.get(usernameOf(user)) !== `${user.metadata.namespace}/${user.metadata.name}`) return undefined;
    // Everything below depends only on the user object, its password Secret and the server spec: memoise by their
    // versions, so a pass over a thousand users re-derives only the ones that changed.
    const ref0 = user.spec.passwordSecretRef;
    const pw = ref0 ? this.#ctx.secrets.get(`${user.metadata.namespace}/${ref0.name}`)?.metadata : undefined;
    // generation, not resourceVersion: the user's own status writes must not invalidate its entry.
    const version = `${user.metadata.generation}|${pw?.uid}/${pw?.resourceVersion}|${server.metadata.generation}`;
    const uid = user.metadata.uid ?? '';
    const memo = this.#entries.get(uid);
    if (memo?.version === version) return memo.entry;
    const entry = await this.#deriveEntry(server, user);
    this.#entries.set(uid, { version, entry });
    return entry;
  }

  async #deriveEntry(server: SftpServer, user: SftpUser): Promise<UsersTableEntry | undefined> {
    const v = validateUser(user);
    if (v.problems.length > 0) return undefined;
    let passwordHash: string | undefined;
    const ref = user.spec.passwordSecretRef;
    if (ref) {
      const secret = this.#ctx.secrets.get(`${user.metadata.namespace}/${ref.name}`);
      const value = secret?.data?.[ref.key];
      if (!secret || value === undefined) return undefined;
      try {
        passwordHash = await this.#ctx.hasher.hash(Buffer.from(value, 'base64'), {
          secretUid: secret.metadata?.uid ?? '',
          resourceVersion: secret.metadata?.resourceVersion ?? '',
          username: usernameOf(user),
          format: ref.format,
        });
      } catch (err) {
        if (err instanceof InvalidPasswordError) return undefined;
        throw err;
      }
    }
    if (v.keys.length === 0 && passwordHash === undefined) return undefined;
    let sessionPolicy: string | undefined;
    if (this.#ctx.iam && server.spec.iam.mode !== 'None') {
      const p = this.#ctx.iam.sessionPolicy(server, user);
      if ('error' in p) return undefined;
      sessionPolicy = p.policy;
    }
    return usersTableEntry(user, v.keys, passwordHash, sessionPolicy);
  }

  async #usersTable(server: SftpServer, status: SftpServerStatus, signal: AbortSignal): Promise<void> {
    const ns = server.metadata.namespace ?? '';
    const names = childNames(server);
    let shards: ReturnType<typeof buildUsersTable>;
    const entries = await this.usersTableEntries(server);
    try {
      shards = buildUsersTable(entries);
    } catch (err) {
      if (err instanceof SecretsError) throw new StallingError(Reason.ReconcileError, err.message, { cause: err });
      throw err;
    }
    // RBAC first: a pod told about a new shard can read it at once. (The binding may precede its ServiceAccount,
    // which the workloads step writes once IAM has said which role it assumes.)
    await this.#ensure(Resources.Role, desiredRole(server, shards.length), signal);
    await this.#ensure(Resources.RoleBinding, desiredRoleBinding(server), signal);
    for (const shard of shards) await this.#ensure(Resources.Secret, desiredUsersSecret(server, shard), signal);
    // Trailing shards the table no longer needs (it shrank).
    const stale = this.#ctx.secrets
      .list()
      .filter(
        (s) =>
          s.metadata?.namespace === ns &&
          s.metadata.labels?.[LABEL_SERVER] === server.metadata.name &&
          s.metadata.labels?.[LABEL_COMPONENT] === 'users' &&
          !shards.some((sh) => names.usersShard(sh.index) === s.metadata?.name),
      );
    for (const s of stale) await this.#ctx.client.delete(Resources.Secret, ns, s.metadata?.name ?? '', { signal });
    status.users = entries.length;
    status.usersSecrets = shards.map((s) => names.usersShard(s.index));
  }

  // ── workloads ────────────────────────────────────────────────────────────────────────────────────────────────

  async #workloads(server: SftpServer, status: SftpServerStatus, pass: PassState, signal: AbortSignal): Promise<void> {
    const ns = server.metadata.namespace ?? '';
    const names = childNames(server);
    await this.#ensure(Resources.ServiceAccount, desiredServiceAccount(server, status.iam), signal);
    const deployment = await this.#ensure<V1Deployment>(
      Resources.Deployment,
      desiredDeployment(server, this.#ctx.workload, pass.hostKeysDigest, status.iam),
      signal,
    );
    const service = await this.#ensure<V1Service>(Resources.Service, desiredService(server), signal);
    await this.#ensure(Resources.PodDisruptionBudget, desiredPodDisruptionBudget(server), signal);
    if (server.spec.networkPolicy.enabled) {
      await this.#ensure(Resources.NetworkPolicy, desiredNetworkPolicy(server), signal);
    } else if (await this.#ctx.client.getOptional(Resources.NetworkPolicy, ns, names.workload, signal)) {
      await this.#ctx.client.delete(Resources.NetworkPolicy, ns, names.workload, { signal });
    }
    const endpoint = endpointOf(server, service);
    if (endpoint) status.endpoint = endpoint;
    else delete status.endpoint;
    const ready = deployment?.status?.readyReplicas ?? 0;
    status.readyReplicas = ready;
    const want = server.spec.replicas;
    const available =
      want === 0
        ? { ok: false, reason: Reason.ScaledToZero, message: 'replicas is 0' }
        : ready > 0
          ? { ok: true, reason: Reason.DeploymentAvailable, message: `${ready}/${want} replicas ready` }
          : {
              ok: false,
              reason: Reason.DeploymentUnavailable,
              message: `0/${want} replicas ready (Deployment ${names.workload})`,
            };
    status.conditions = setCondition(
      status.conditions,
      { type: ConditionType.Available, status: available.ok, reason: available.reason, message: available.message },
      server.metadata.generation,
    );
  }

  /**
   * Applies `desired` unless the live object already has every field we set (zero writes when converged).
   * Reads the live object from the cache when there is one for the type, otherwise GETs it.
   */
  async #ensure<T>(type: ResourceType, desired: object, signal: AbortSignal): Promise<T | undefined> {
    const meta = (desired as KubeObject).metadata;
    const ns = meta?.namespace ?? '';
    const name = meta?.name ?? '';
    const key = `${type.kind}/${ns}/${name}`;
    const text = JSON.stringify(desired);
    const informed = type === Resources.Secret || type === Resources.Deployment;
    // A LoadBalancer's address arrives in its status later: always read it.
    const volatile =
      type === Resources.Service && (desired as { spec?: { type?: string } }).spec?.type === 'LoadBalancer';
    const seen = this.#verified.get(key);
    // Types without an informer: trust a recent verification of the same desired object instead of a GET.
    if (!informed && !volatile && seen?.desired === text && this.#now() - seen.at < RECHECK_MS) return seen.live as T;
    const cached =
      type === Resources.Secret
        ? this.#ctx.secrets.get(`${ns}/${name}`)
        : type === Resources.Deployment
          ? this.#ctx.deployments.get(`${ns}/${name}`)
          : await this.#ctx.client.getOptional(type, ns, name, signal);
    let live: unknown = cached;
    if (needsApply(desired, cached)) {
      const body = JSON.parse(text.replaceAll('"_from":', '"from":')) as KubeManifest;
      live = await this.#ctx.client.apply(type, body, { signal });
      this.#ctx.logger.info(cached ? `Updated ${type.kind}` : `Created ${type.kind}`, { namespace: ns, name });
    }
    if (!informed) this.#verified.set(key, { desired: text, at: this.#now(), live });
    return live as T;
  }

  // ── status ───────────────────────────────────────────────────────────────────────────────────────────────────

  #summarize(server: SftpServer, status: SftpServerStatus, failure: unknown): void {
    const gen = server.metadata.generation;
    const deps: string[] = [ConditionType.HostKeysReady, ConditionType.StorageReady];
    if (server.spec.iam.mode !== 'None') deps.push(ConditionType.IAMReady);
    deps.push(ConditionType.Available);
    status.conditions = summarizeReady(status.conditions, deps, gen, Reason.Reconciled, 'serving');
    if (isDeleting(kube(server))) {
      status.conditions = setCondition(
        status.conditions,
        {
          type: ConditionType.Ready,
          status: false,
          reason: Reason.Deleting,
          message: status.deletion?.message ?? 'deleting',
        },
        gen,
      );
    } else {
      // A False Ready from a sub-reconciler names the more specific cause: keep it.
      status.conditions = markUnexplainedFailure(
        status.conditions,
        failure,
        gen,
        Reason.ReconcileError,
        (ready) => ready?.status === 'True' || ready?.reason === Reason.Progressing,
      );
    }
    if (gen !== undefined) status.observedGeneration = gen;
  }

  async #writeStatus(
    server: SftpServer,
    before: SftpServerStatus,
    status: SftpServerStatus,
    signal: AbortSignal,
  ): Promise<void> {
    if (statusEqual(before, status)) return;
    await this.#ctx.client.apply(
      Resources.SftpServer,
      {
        apiVersion: server.apiVersion,
        kind: server.kind,
        metadata: { name: server.metadata.name ?? '', namespace: server.metadata.namespace ?? '' },
        status,
      } as KubeManifest,
      { subresource: 'status', signal },
    );
  }
}
