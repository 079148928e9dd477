// Users table: the entries of every valid user of this server, sharded into Secrets the pods watch. First step
// after the finalizer, so revoking access never waits for S3, IAM or anything else to work.
import { createHash } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { Reason } from '../../../api/conditions.ts';
import type { SftpServer, SftpUser } from '../../../api/types.generated.ts';
import { StallingError } from '../../../runtime/errors.ts';
import { isDeleting } from '../../../runtime/finalizers.ts';
import { type KubeObject, Resources } from '../../../runtime/kube-client.ts';
import { InvalidPasswordError, SecretsError } from '../../../secrets/errors.ts';
import {
  buildUsersTable,
  USERS_KEY,
  type UsersTableEntry,
  type UsersTableShard,
} from '../../../secrets/users-table.ts';
import type { PlacedServer } from '../../context.ts';
import { type ControllerContext, kube } from '../../context.ts';
import { needsApply } from '../../drift.ts';
import { firstCome } from '../../placement.ts';
import { usernameOf, usernameOwners, usersTableEntry, validateUser } from '../../sftp-user/desired.ts';
import { shardUsernames } from '../../sftp-user/steps/published.ts';
import { childNames, LABEL_COMPONENT, LABEL_SERVER } from '../desired.ts';
import { desiredRole, desiredRoleBinding, desiredUsersSecret } from '../desired-access.ts';
import { ensureChild } from '../ensure.ts';
import { placed, type ServerMemo, type ServerRun, type ServerStep } from '../run.ts';

export const usersTableStep: ServerStep = async (run) => {
  const { ctx, server, status, signal } = run;
  const ns = server.metadata.namespace ?? '';
  const names = childNames(server);
  // Every shard was written less than SHARD_WRITE_INTERVAL_MS ago: whatever changed must wait for the interval
  // anyway, so the table is neither derived nor built now (under churn this is most passes: each shard write's
  // own watch event requeues the server). A server that lost its placement never waits.
  const hot = run.refusal ? 0 : run.memo.allShardsWriteWaitMs(server.status?.usersSecrets ?? [], run.now());
  if (hot > 0) {
    run.requeueAfterMs = Math.min(run.requeueAfterMs ?? hot, hot);
    return;
  }
  // A server that lost its placement serves nobody: every login is revoked, none is derived.
  const entries = run.refusal ? [] : await usersTableEntries(ctx, placed(run), run.memo, signal);
  // Most passes change nothing in the table (the write of a shard itself, a Deployment's status, a held change
  // coming round): same entries, shards still as last written → nothing to build, compare or write.
  const signature = run.refusal ? 'refused' : tableSignature(run.memo);
  const last = run.memo.table;
  if (last?.signature === signature && tableIntact(run, last.shards)) {
    await ensureChild(run, Resources.Role, desiredRole(server, last.shards.size));
    await ensureChild(run, Resources.RoleBinding, desiredRoleBinding(server));
    status.users = last.users;
    status.usersSecrets = [...last.shards.keys()];
    return;
  }
  run.memo.table = undefined;
  let shards: ReturnType<typeof buildUsersTable>;
  try {
    shards = buildUsersTable(entries);
  } catch (err) {
    if (err instanceof SecretsError) throw new StallingError(Reason.ReconcileError, err.message, { cause: err });
    throw err;
  }
  // RBAC first: a pod told about a new shard can read it at once. (The binding may precede its ServiceAccount,
  // which the workloads step writes once IAM has said which role it assumes.)
  await ensureChild(run, Resources.Role, desiredRole(server, shards.length));
  await ensureChild(run, Resources.RoleBinding, desiredRoleBinding(server));
  const { published, written } = await writeShards(run, shards);
  // Trailing shards the table no longer needs (it shrank).
  const stale = ctx.secrets
    .list()
    .filter(
      (s) =>
        s.metadata?.namespace === ns &&
        s.metadata.labels?.[LABEL_SERVER] === server.metadata.name &&
        s.metadata.labels?.[LABEL_COMPONENT] === 'users' &&
        !shards.some((sh) => names.usersShard(sh.index) === s.metadata?.name),
    );
  for (const s of stale) await ctx.client.delete(Resources.Secret, ns, s.metadata?.name ?? '', { signal });
  status.users = published;
  status.usersSecrets = shards.map((s) => names.usersShard(s.index));
  if (written) run.memo.table = { signature, shards: written, users: published };
};

/** What the table is built from: each listed user's uid and the versions its entry was derived from. */
function tableSignature(memo: ServerMemo): string {
  const parts: string[] = [];
  for (const [uid, e] of memo.entries) if (e.entry !== undefined) parts.push(`${uid}=${e.version}`);
  return createHash('sha256').update(parts.join('\n')).digest('base64');
}

/** Every shard still has the resourceVersion we wrote or verified, and no other users shard of the server exists. */
function tableIntact(run: ServerRun, shards: ReadonlyMap<string, string>): boolean {
  const ns = run.server.metadata.namespace ?? '';
  for (const [name, rv] of shards) {
    if (run.ctx.secrets.get(`${ns}/${name}`)?.metadata?.resourceVersion !== rv) return false;
  }
  return !run.ctx.secrets
    .list()
    .some(
      (s) =>
        s.metadata?.namespace === ns &&
        s.metadata.labels?.[LABEL_SERVER] === run.server.metadata.name &&
        s.metadata.labels?.[LABEL_COMPONENT] === 'users' &&
        !shards.has(s.metadata.name ?? ''),
    );
}

/** needsApply for a users shard without serialising its (up to 768 KiB) content: the document first, then the rest. */
function shardNeedsApply(desired: V1Secret, live: V1Secret | undefined): boolean {
  if (live?.data?.[USERS_KEY] !== desired.data?.[USERS_KEY]) return true;
  return needsApply({ ...desired, data: undefined }, live);
}

/**
 * Writes the shards whose content changed, each at most once per SHARD_WRITE_INTERVAL_MS: a shard written less than
 * that ago keeps its live content for now and the pass asks to run again when the interval is over (level-based:
 * that pass writes whatever the table is then, so a burst of changes becomes one write). A change of the shard count
 * writes every shard at once (each carries `shards`, and a user may move between shards), and so does a server that
 * lost its placement (every login revoked). Returns how many users
 * the shards as written now list.
 */
async function writeShards(
  run: ServerRun,
  shards: readonly UsersTableShard[],
): Promise<{ published: number; written: Map<string, string> | undefined }> {
  const { ctx, server, memo, signal } = run;
  const ns = server.metadata.namespace ?? '';
  const names = childNames(server);
  const resized = shards.length !== (server.status?.usersSecrets?.length ?? 0);
  let published = 0;
  // name → resourceVersion as written or verified; undefined once a shard is held back (the table is not converged).
  let written: Map<string, string> | undefined = new Map();
  for (const shard of shards) {
    const desired = desiredUsersSecret(server, shard);
    const name = names.usersShard(shard.index);
    const live = ctx.secrets.get(`${ns}/${name}`);
    if (!shardNeedsApply(desired, live)) {
      published += shard.userCount;
      written?.set(name, live?.metadata?.resourceVersion ?? '');
      continue;
    }
    // A server that lost its placement revokes every login at once: that write never waits.
    const wait = live && !resized && !run.refusal ? memo.shardWriteWaitMs(name, run.now()) : 0;
    if (live && wait > 0) {
      run.requeueAfterMs = Math.min(run.requeueAfterMs ?? wait, wait);
      published += shardUsernames(live).size;
      written = undefined;
      continue;
    }
    const after = await ctx.client.apply<V1Secret & KubeObject>(Resources.Secret, kube(desired), { signal });
    memo.shardWritten(name, run.now());
    ctx.logger.info(live ? 'Updated Secret' : 'Created Secret', { namespace: ns, name });
    published += shard.userCount;
    written?.set(name, after?.metadata?.resourceVersion ?? '');
  }
  return { published, written };
}

/**
 * The users of this server the pods should accept: valid, not being deleted, owning their username. Entries are
 * memoised per user; users no longer on the server leave the memo in the same pass.
 */
export async function usersTableEntries(
  ctx: ControllerContext,
  target: PlacedServer,
  memo: ServerMemo,
  signal?: AbortSignal,
): Promise<UsersTableEntry[]> {
  const { server } = target;
  const ns = server.metadata.namespace;
  const capped = usersOverCap(ctx, server);
  const mine = ctx.users
    .list()
    .filter(
      (u) =>
        u.metadata.namespace === ns &&
        u.spec.serverRef.name === server.metadata.name &&
        !isDeleting(kube(u)) &&
        !capped.has(u.metadata.name ?? ''),
    );
  const owners = usernameOwners(mine);
  const previous = memo.entries;
  const next: ServerMemo['entries'] = new Map();
  const entries = await Promise.all(
    mine.map(async (user) => {
      if (owners.get(usernameOf(user)) !== `${user.metadata.namespace}/${user.metadata.name}`) return undefined;
      // Everything below depends only on the user object, its password Secret and the server spec: memoise by their
      // versions, so a pass over a thousand users re-derives only the ones that changed.
      const ref = user.spec.passwordSecretRef;
      const pw = ref ? (await ctx.passwords.get(ns ?? '', ref.name, signal))?.metadata : undefined;
      // generation, not resourceVersion: the user's own status writes must not invalidate its entry.
      const version = `${user.metadata.generation}|${pw?.uid}/${pw?.resourceVersion}|${server.metadata.generation}`;
      const uid = user.metadata.uid ?? '';
      const hit = previous.get(uid);
      const entry = hit?.version === version ? hit.entry : await deriveEntry(ctx, target, user, signal);
      next.set(uid, { version, entry });
      return entry;
    }),
  );
  memo.entries = next;
  return entries.filter((e): e is UsersTableEntry => e !== undefined);
}

async function deriveEntry(
  ctx: ControllerContext,
  target: PlacedServer,
  user: SftpUser,
  signal: AbortSignal | undefined,
): Promise<UsersTableEntry | undefined> {
  const v = validateUser(user);
  if (v.problems.length > 0) return undefined;
  let passwordHash: string | undefined;
  const ref = user.spec.passwordSecretRef;
  if (ref) {
    // The user's own namespace, by name: a tenant can make the operator read no other Secret.
    const secret = await ctx.passwords.get(user.metadata.namespace ?? '', ref.name, signal);
    const value = secret?.data?.[ref.key];
    if (!secret || value === undefined) return undefined;
    try {
      passwordHash = await ctx.hasher.hash(Buffer.from(value, 'base64'), {
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
  if (ctx.iam && target.placement.iam.mode !== 'None') {
    const p = ctx.iam.sessionPolicy(target, user);
    if ('error' in p) return undefined;
    sessionPolicy = p.policy;
  }
  return usersTableEntry(user, v.keys, passwordHash, sessionPolicy);
}

/**
 * Users of the server's namespace beyond its profile's maxUsersPerNamespace, counted over every server of the
 * namespace on that profile in first-come order; they get no entry (their own status says QuotaExceeded).
 */
export function usersOverCap(ctx: ControllerContext, server: SftpServer): Set<string> {
  const ns = server.metadata.namespace;
  const profile = ctx.profiles.get(server.spec.storage.profile);
  if (!profile) return new Set();
  const max = profile.spec.limits.maxUsersPerNamespace;
  // Every user pass asks: with no more users in the whole namespace than the cap, nobody is over it (O(1)).
  if (ctx.userIndex && ctx.userIndex.countIn(ns) <= max) return new Set();
  const onProfile = new Set(
    ctx.servers
      .list()
      .filter((s) => s.metadata.namespace === ns && s.spec.storage.profile === server.spec.storage.profile)
      .map((s) => s.metadata.name),
  );
  const all = ctx.users
    .list()
    .filter((u) => u.metadata.namespace === ns && onProfile.has(u.spec.serverRef.name) && !isDeleting(kube(u)));
  if (all.length <= max) return new Set();
  // First come keeps its place (placement.ts firstCome): one sort, everyone after the first `max` is over.
  return new Set(
    all
      .sort(firstCome)
      .slice(max)
      .map((u) => u.metadata.name ?? ''),
  );
}
