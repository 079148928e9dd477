// Published: the server reconciler put this user in its users table; then the session policy (IAM modes) and when
// the login expires.
import { asReason, ConditionType, Reason } from '../../../api/conditions.ts';
import type { SftpServer } from '../../../api/types.generated.ts';
import { USERS_KEY } from '../../../secrets/users-table.ts';
import type { ControllerContext } from '../../context.ts';
import { usernameOf } from '../desired.ts';
import { markUser, type UserRun, type UserStep } from '../run.ts';

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

/** Forgets the parsed shards of a server that is gone (shard names: `<server>-users-<n>`). */
export function forgetShards(namespace: string, server: string): void {
  const prefix = `${namespace}/${server}-users-`;
  for (const key of shardCache.keys()) {
    if (key.startsWith(prefix) && /^\d+$/.test(key.slice(prefix.length))) shardCache.delete(key);
  }
}

function publishedIn(ctx: ControllerContext, server: SftpServer, username: string): string | undefined {
  for (const name of server.status?.usersSecrets ?? []) {
    const secret = ctx.secrets.get(`${server.metadata.namespace}/${name}`);
    if (secret && shardUsernames(secret).has(username)) return name;
  }
  return undefined;
}

/**
 * How long a new user's first status may wait for the users-table write. The shard's watch event requeues the user
 * as soon as the table lists it (sftp-user/checks.ts secretUserKeys), whenever that is; this bounds only how long a
 * new user shows no status at all when the table write is slow (a busy API server, a server pass behind a burst of
 * creates). Under a bulk create the table write took 2-4 s (docs/benchmarks.md): a shorter window made every user
 * that missed it write "waiting for the users table" first, two status writes per user instead of one.
 */
export const FIRST_STATUS_DEFER_MS = 15_000;

/**
 * A user created moments ago (by the operator's clock; a skewed clock never defers) that has no status yet:
 * "waiting for the users table" would be overwritten moments later, so that write is skipped. Returns how much of
 * the window is left (0: write now).
 */
function firstWriteWaitMs(run: UserRun): number {
  if ((run.user.status?.conditions?.length ?? 0) > 0) return 0;
  const age = run.now().getTime() - new Date(run.user.metadata.creationTimestamp ?? 0).getTime();
  return age >= 0 && age < FIRST_STATUS_DEFER_MS ? FIRST_STATUS_DEFER_MS - age : 0;
}

export const publishedStep: UserStep = async (run) => {
  const { ctx, server, status } = run;
  if (!server) return;
  const published = publishedIn(ctx, server, usernameOf(run.user));
  if (published) {
    status.usersSecret = published;
    markUser(run, ConditionType.Published, true, Reason.InUsersTable, `in Secret ${published}`);
  } else {
    delete status.usersSecret;
    const wait = firstWriteWaitMs(run);
    if (wait > 0) {
      // The shard's watch event normally comes first; this pass only ends the window.
      run.deferStatus = true;
      run.requeueAfterMs = Math.min(run.requeueAfterMs ?? wait, wait);
    }
    markUser(
      run,
      ConditionType.Published,
      false,
      Reason.Progressing,
      'waiting for the server to publish the users table',
    );
  }
};

export const sessionPolicyStep: UserStep = async (run) => {
  const { ctx, server, placement, status, user } = run;
  if (!server || !placement || !ctx.iam || placement.iam.mode === 'None') return;
  const p = ctx.iam.sessionPolicy({ server, placement }, user);
  if ('error' in p) {
    markUser(run, ConditionType.IAMReady, false, asReason(p.reason, Reason.IAMError), p.message);
  } else {
    if (p.digest) status.policyDigest = p.digest;
    markUser(run, ConditionType.IAMReady, true, Reason.IAMConfigured, 'session policy fits');
  }
};

/** An expiring login is looked at again just after it expires (Ready turns False with reason Expired). */
export const expiryStep: UserStep = async (run) => {
  const at = run.user.spec.expiresAt;
  if (!at) return;
  const left = Date.parse(at) - run.now().getTime();
  if (left > 0) run.requeueAfterMs = Math.min(left + 1000, run.requeueAfterMs ?? 24 * 3600_000);
};
