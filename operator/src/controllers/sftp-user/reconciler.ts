// SftpUser reconcile: validate what the API server cannot (keys, password Secret, username conflicts) → resolve the
// server and the S3 prefix → home marker → report whether the server's users table carries the user. The table
// itself is written by the server reconciler (level-based: it rebuilds from all valid users), so removing access
// never depends on this reconciler running.
import { ConditionType, Reason } from '../../api/conditions.ts';
import type { SftpServer, SftpUser, SftpUserStatus } from '../../api/types.generated.ts';
import { S3ManagerError } from '../../cloud/s3/errors.ts';
import {
  isConditionTrue,
  markUnexplainedFailure,
  setCondition,
  statusEqual,
  summarizeReady,
} from '../../runtime/conditions.ts';
import { StallingError, WaitingError } from '../../runtime/errors.ts';
import { ensureFinalizer, hasFinalizer, isDeleting, removeFinalizer } from '../../runtime/finalizers.ts';
import { Resources } from '../../runtime/kube-client.ts';
import { InvalidPasswordError } from '../../secrets/errors.ts';
import { USERS_KEY } from '../../secrets/users-table.ts';
import { type ControllerContext, kube } from '../context.ts';
import { homeKey, homeOf, resolvedPrefix, usernameOf, usernameOwners, validateUser } from './desired.ts';

const SERVER_RETRY_MS = 30_000;

/** Parsed users-table shards by Secret resourceVersion, so checking "am I published" does not re-parse per user. */
const shardCache = new Map<string, { rv: string; usernames: Set<string> }>();

/** Which usernames a users-table shard Secret lists (cached per resourceVersion). */
export function shardUsernames(secret: {
  metadata?: { namespace?: string; name?: string; resourceVersion?: string };
  data?: Record<string, string>;
}): Set<string> {
  const key = `${secret.metadata?.namespace}/${secret.metadata?.name}`;
  const rv = secret.metadata?.resourceVersion ?? '';
  const hit = shardCache.get(key);
  if (hit && hit.rv === rv && rv !== '') return hit.usernames;
  let usernames = new Set<string>();
  try {
    const doc = JSON.parse(Buffer.from(secret.data?.[USERS_KEY] ?? '', 'base64').toString('utf8')) as {
      users?: { username?: string }[];
    };
    usernames = new Set((doc.users ?? []).map((u) => u.username ?? ''));
  } catch {
    // Not ours to judge: an unreadable shard simply lists nobody.
  }
  shardCache.set(key, { rv, usernames });
  return usernames;
}

export class SftpUserReconciler {
  readonly #ctx: ControllerContext;
  readonly #now: () => Date;

  constructor(ctx: ControllerContext, now: () => Date = () => new Date()) {
    this.#ctx = ctx;
    this.#now = now;
  }

  async reconcile(key: string, signal: AbortSignal): Promise<{ requeueAfterMs?: number } | undefined> {
    const cached = this.#ctx.users.get(key);
    if (!cached) return undefined;
    const user = structuredClone(cached);
    const before: SftpUserStatus = structuredClone(user.status ?? {});
    const status: SftpUserStatus = structuredClone(before);
    const gen = user.metadata.generation;
    const set = (type: string, ok: boolean, reason: string, message: string): void => {
      status.conditions = setCondition(status.conditions, { type, status: ok, reason, message }, gen);
    };
    let failure: unknown;
    let requeueAfterMs: number | undefined;
    try {
      if (isDeleting(kube(user))) {
        await this.#finalize(user, signal);
        return undefined;
      }
      const updated =
        user.spec.deletionPolicy === 'Delete'
          ? await ensureFinalizer(this.#ctx.client, Resources.SftpUser, kube(user), undefined, signal)
          : await removeFinalizer(this.#ctx.client, Resources.SftpUser, kube(user), undefined, signal);
      user.metadata = updated.metadata as SftpUser['metadata'];

      const username = usernameOf(user);
      status.username = username;

      // 1. What the API server cannot check.
      const v = validateUser(user);
      status.keyFingerprints = v.keys.map((k) => k.fingerprint);
      if (v.problems.length > 0) {
        set(ConditionType.Validated, false, Reason.InvalidAuthorizedKey, v.problems.join('; '));
        throw new StallingError(Reason.InvalidAuthorizedKey, v.problems.join('; '));
      }
      await this.#password(user, status, set);
      const ns = user.metadata.namespace;
      const candidates =
        this.#ctx.userIndex?.claimants(user) ??
        this.#ctx.users
          .list()
          .filter(
            (u) =>
              u.metadata.namespace === ns &&
              u.spec.serverRef.name === user.spec.serverRef.name &&
              usernameOf(u) === username,
          );
      const rivals = candidates.filter((u) => !isDeleting(kube(u)));
      const owner = usernameOwners(rivals).get(username);
      if (owner !== undefined && owner !== key) {
        const msg = `username ${username} on server ${user.spec.serverRef.name} is already taken by SftpUser ${owner.split('/')[1]}`;
        set(ConditionType.Validated, false, Reason.UsernameConflict, msg);
        throw new StallingError(Reason.UsernameConflict, msg);
      }
      set(
        ConditionType.Validated,
        true,
        Reason.Reconciled,
        `${v.keys.length} key(s)${user.spec.passwordSecretRef ? ' and a password' : ''}`,
      );

      // 2. The server.
      const server = this.#ctx.servers.get(`${ns}/${user.spec.serverRef.name}`);
      if (!server || isDeleting(kube(server))) {
        const msg = `SftpServer ${user.spec.serverRef.name} ${server ? 'is being deleted' : 'not found'} in namespace ${ns}`;
        set(ConditionType.ServerReady, false, Reason.ServerNotFound, msg);
        delete status.prefix;
        // The server's creation is a watch event that requeues us (checks.ts).
        throw new StallingError(Reason.ServerNotFound, msg);
      }
      status.prefix = resolvedPrefix(server, user);
      const serverConds = server.status?.conditions;
      if (
        !isConditionTrue(serverConds, ConditionType.StorageReady) ||
        !isConditionTrue(serverConds, ConditionType.HostKeysReady)
      ) {
        const msg = `SftpServer ${server.metadata.name} is not configured yet (storage and host keys must be ready)`;
        set(ConditionType.ServerReady, false, Reason.ServerNotReady, msg);
        throw new WaitingError(Reason.ServerNotReady, msg, SERVER_RETRY_MS);
      }
      set(ConditionType.ServerReady, true, Reason.Reconciled, `SftpServer ${server.metadata.name}`);

      // 3. Home marker.
      await this.#home(server, user, set, signal);

      // 4. Published: the server reconciler put us in its users table.
      const published = this.#publishedIn(server, username);
      if (published) {
        status.usersSecret = published;
        set(ConditionType.Published, true, Reason.InUsersTable, `in Secret ${published}`);
      } else {
        delete status.usersSecret;
        set(ConditionType.Published, false, Reason.Progressing, 'waiting for the server to publish the users table');
      }

      // 5. IAM session policy (issue 5 integration point).
      if (this.#ctx.iam && server.spec.iam.mode !== 'None') {
        const p = this.#ctx.iam.sessionPolicy(server, user);
        if ('error' in p) {
          set(ConditionType.IAMReady, false, p.reason, p.message);
        } else {
          if (p.digest) status.policyDigest = p.digest;
          set(ConditionType.IAMReady, true, Reason.IAMConfigured, 'session policy fits');
        }
      }
      if (user.spec.expiresAt) {
        const left = Date.parse(user.spec.expiresAt) - this.#now().getTime();
        if (left > 0) requeueAfterMs = Math.min(left + 1000, 24 * 3600_000);
      }
      return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      if (!isDeleting(kube(user))) {
        this.#summarize(user, status, failure);
        if (!statusEqual(before, status)) {
          await this.#ctx.client
            .apply(
              Resources.SftpUser,
              kube({
                apiVersion: user.apiVersion,
                kind: user.kind,
                metadata: { name: user.metadata.name, namespace: user.metadata.namespace },
                status,
              }),
              { subresource: 'status', signal },
            )
            .catch((err: unknown) => {
              if (failure === undefined) throw err;
              this.#ctx.logger.warn('status write failed', { sftpuser: key, err });
            });
        }
      }
    }
  }

  async #password(
    user: SftpUser,
    status: SftpUserStatus,
    set: (type: string, ok: boolean, reason: string, message: string) => void,
  ): Promise<void> {
    const ref = user.spec.passwordSecretRef;
    if (!ref) {
      delete status.passwordSecretVersion;
      return;
    }
    const secret = this.#ctx.secrets.get(`${user.metadata.namespace}/${ref.name}`);
    if (!secret) {
      const msg = `passwordSecretRef: Secret ${ref.name} not found`;
      set(ConditionType.Validated, false, Reason.PasswordSecretNotFound, msg);
      throw new StallingError(Reason.PasswordSecretNotFound, msg);
    }
    const value = secret.data?.[ref.key];
    if (value === undefined) {
      const msg = `passwordSecretRef: Secret ${ref.name} has no key ${ref.key}`;
      set(ConditionType.Validated, false, Reason.PasswordSecretKeyMissing, msg);
      throw new StallingError(Reason.PasswordSecretKeyMissing, msg);
    }
    try {
      // Warms the shared cache the server reconciler uses; the hash itself never lands in this object.
      await this.#ctx.hasher.hash(Buffer.from(value, 'base64'), {
        secretUid: secret.metadata?.uid ?? '',
        resourceVersion: secret.metadata?.resourceVersion ?? '',
        username: usernameOf(user),
        format: ref.format,
      });
    } catch (err) {
      if (err instanceof InvalidPasswordError) {
        const msg = `passwordSecretRef: Secret ${ref.name} key ${ref.key}: ${err.message}`;
        set(ConditionType.Validated, false, 'InvalidPassword', msg);
        throw new StallingError('InvalidPassword', msg, { cause: err });
      }
      throw err;
    }
    status.passwordSecretVersion = secret.metadata?.resourceVersion ?? '';
  }

  async #home(
    server: SftpServer,
    user: SftpUser,
    set: (type: string, ok: boolean, reason: string, message: string) => void,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      const manager = this.#ctx.storage.for(server, this.#ctx.secrets);
      await manager.ensureMarker(homeKey(server, user), signal);
      set(ConditionType.StorageReady, true, Reason.Reconciled, `home ${resolvedPrefix(server, user)} exists`);
    } catch (err) {
      const reason = err instanceof StallingError ? err.reason : Reason.StorageError;
      set(ConditionType.StorageReady, false, reason, (err as Error).message);
      if (err instanceof S3ManagerError && !err.transient) {
        throw new WaitingError(reason, err.message, SERVER_RETRY_MS, { cause: err });
      }
      throw err;
    }
  }

  #publishedIn(server: SftpServer, username: string): string | undefined {
    for (const name of server.status?.usersSecrets ?? []) {
      const secret = this.#ctx.secrets.get(`${server.metadata.namespace}/${name}`);
      if (secret && shardUsernames(secret).has(username)) return name;
    }
    return undefined;
  }

  #summarize(user: SftpUser, status: SftpUserStatus, failure: unknown): void {
    const gen = user.metadata.generation;
    const deps: string[] = [
      ConditionType.Validated,
      ConditionType.ServerReady,
      ConditionType.StorageReady,
      ConditionType.Published,
    ];
    const server = this.#ctx.servers.get(`${user.metadata.namespace}/${user.spec.serverRef.name}`);
    if (server && server.spec.iam.mode !== 'None' && this.#ctx.iam) deps.push(ConditionType.IAMReady);
    status.conditions = summarizeReady(
      status.conditions,
      deps,
      gen,
      Reason.Reconciled,
      'the server accepts this login',
    );
    const ready = status.conditions.find((c) => c.type === ConditionType.Ready);
    if (ready?.status === 'True') {
      if (user.spec.disabled) {
        status.conditions = setCondition(
          status.conditions,
          {
            type: ConditionType.Ready,
            status: false,
            reason: Reason.Disabled,
            message: 'spec.disabled: logins refused',
          },
          gen,
        );
      } else if (user.spec.expiresAt && Date.parse(user.spec.expiresAt) <= this.#now().getTime()) {
        status.conditions = setCondition(
          status.conditions,
          {
            type: ConditionType.Ready,
            status: false,
            reason: Reason.Expired,
            message: `expired at ${user.spec.expiresAt}`,
          },
          gen,
        );
      }
    }
    status.conditions = markUnexplainedFailure(
      status.conditions,
      failure,
      gen,
      Reason.ReconcileError,
      (ready) => ready?.status !== 'False',
    );
    if (gen !== undefined) status.observedGeneration = gen;
  }

  /**
   * Deletion: access goes as soon as the user is marked for deletion (the server's table skips deleting users).
   * Delete purges the home prefix — unless another live user shares that home, or the server is gone (then there is
   * no storage configuration to purge with; the server's own deletion policy decided the data's fate).
   */
  async #finalize(user: SftpUser, signal: AbortSignal): Promise<void> {
    if (!hasFinalizer(kube(user))) return;
    if (user.spec.deletionPolicy === 'Delete') {
      const ns = user.metadata.namespace;
      const server = this.#ctx.servers.get(`${ns}/${user.spec.serverRef.name}`);
      if (!server) {
        await this.#ctx.events.record(
          kube(user),
          'Warning',
          'PurgeSkipped',
          `SftpServer ${user.spec.serverRef.name} is gone: nothing to purge with; data (if any) kept`,
          signal,
        );
      } else {
        const sharer = this.#ctx.users
          .list()
          .find(
            (u) =>
              u.metadata.namespace === ns &&
              u.metadata.uid !== user.metadata.uid &&
              u.spec.serverRef.name === user.spec.serverRef.name &&
              homeOf(u) === homeOf(user) &&
              !isDeleting(kube(u)),
          );
        if (sharer) {
          await this.#ctx.events.record(
            kube(user),
            'Warning',
            'PurgeSkipped',
            `home ${homeOf(user)} is shared with SftpUser ${sharer.metadata.name}: data kept`,
            signal,
          );
        } else {
          const manager = this.#ctx.storage.for(server, this.#ctx.secrets);
          const progress = await manager.purge(homeKey(server, user), { maxBatches: 5, signal });
          if (progress.remaining) {
            throw new WaitingError(Reason.Deleting, `purging ${resolvedPrefix(server, user)}`, 100);
          }
          await this.#ctx.events.record(
            kube(user),
            'Normal',
            'Purged',
            `purged ${resolvedPrefix(server, user)} (every version and delete marker)`,
            signal,
          );
        }
      }
    }
    await removeFinalizer(this.#ctx.client, Resources.SftpUser, kube(user), undefined, signal);
  }
}
