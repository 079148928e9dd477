// Pure builders for an SftpUser: its login name, home, resolved S3 prefix, the checks the API server cannot do,
// and its users-table entry. The server reconciler and the user reconciler both call these, so what the user's
// status says and what the pods get can never disagree.
import { Reason } from '../../api/conditions.ts';
import type { SftpUser } from '../../api/types.generated.ts';
import { type ParsedPublicKey, parseAuthorizedKeys } from '../../secrets/ssh-public-key.ts';
import type { Permission, UsersTableEntry } from '../../secrets/users-table.ts';
import { quantityToBytes } from '../quantity.ts';

export function usernameOf(user: SftpUser): string {
  return user.spec.username ?? user.metadata.name ?? '';
}

/** The home relative to the server prefix: spec.homeDirectory, or the username. */
export function homeOf(user: SftpUser): string {
  return user.spec.homeDirectory ?? usernameOf(user);
}

/** Where a server's files live (controllers/placement.ts Placement has these). */
export interface ServerLocation {
  readonly bucket: string;
  /** The server prefix the operator allotted, without trailing slash. */
  readonly prefix: string;
}

/** Object key prefix of the user's `/`, without trailing slash: `<server prefix>/<home>`. */
export function homeKey(at: ServerLocation, user: SftpUser): string {
  return at.prefix === '' ? homeOf(user) : `${at.prefix}/${homeOf(user)}`;
}

/** `s3://bucket/<server prefix>/<home>/` as status.prefix reports it. */
export function resolvedPrefix(at: ServerLocation, user: SftpUser): string {
  return `s3://${at.bucket}/${homeKey(at, user)}/`;
}

export interface UserValidation {
  readonly keys: readonly ParsedPublicKey[];
  /** Human-readable problems; empty means valid. No secret material. */
  readonly problems: readonly string[];
  readonly reason?: typeof Reason.InvalidAuthorizedKey | undefined;
}

/**
 * The checks the API server cannot do: every authorized key decodes to a usable public key. Any bad key makes the
 * user invalid (rather than silently dropping it), so a typo is seen in status and not discovered at login.
 */
export function validateUser(user: SftpUser): UserValidation {
  const { keys, errors } = parseAuthorizedKeys(user.spec.authorizedKeys ?? []);
  if (errors.length > 0) {
    return { keys, problems: errors.map((e) => e.message), reason: Reason.InvalidAuthorizedKey };
  }
  return { keys, problems: [] };
}

const bytes = (q: number | string | undefined): number | undefined => quantityToBytes(q);

/**
 * The user's users-table entry. `passwordHash` comes from the PasswordHasher (undefined: key-only user);
 * `sessionPolicy` from the IAM integration when a mode other than None is active.
 */
export function usersTableEntry(
  user: SftpUser,
  keys: readonly ParsedPublicKey[],
  passwordHash: string | undefined,
  sessionPolicy?: string,
): UsersTableEntry {
  const s = user.spec;
  const quota =
    s.quota && (s.quota.maxBytes !== undefined || s.quota.maxFiles !== undefined)
      ? {
          ...(bytes(s.quota.maxBytes) !== undefined ? { maxBytes: bytes(s.quota.maxBytes) as number } : {}),
          ...(s.quota.maxFiles !== undefined ? { maxFiles: s.quota.maxFiles } : {}),
        }
      : undefined;
  const up = bytes(s.bandwidth?.uploadBytesPerSecond);
  const down = bytes(s.bandwidth?.downloadBytesPerSecond);
  const bandwidth =
    up !== undefined || down !== undefined
      ? {
          ...(up !== undefined ? { uploadBytesPerSecond: up } : {}),
          ...(down !== undefined ? { downloadBytesPerSecond: down } : {}),
        }
      : undefined;
  const sortedPerms = (p: readonly Permission[]): Permission[] => [...p].sort();
  return {
    username: usernameOf(user),
    home: homeOf(user),
    ...(s.disabled ? { disabled: true } : {}),
    ...(s.expiresAt ? { expiresAt: s.expiresAt } : {}),
    ...(keys.length > 0 ? { publicKeys: keys.map((k) => k.line) } : {}),
    ...(passwordHash ? { passwordHash } : {}),
    permissions: sortedPerms(s.permissions),
    ...(s.directoryPermissions?.length
      ? {
          directoryPermissions: [...s.directoryPermissions]
            .sort((a, b) => (a.path < b.path ? -1 : 1))
            .map((d) => ({ path: d.path, permissions: sortedPerms(d.permissions) })),
        }
      : {}),
    ...(s.logicalDirectories?.length
      ? {
          logicalDirectories: [...s.logicalDirectories]
            .sort((a, b) => (a.path < b.path ? -1 : 1))
            .map((d) => ({
              path: d.path,
              prefix: d.prefix,
              ...(d.permissions ? { permissions: sortedPerms(d.permissions) } : {}),
            })),
        }
      : {}),
    ...(quota ? { quota } : {}),
    ...(bandwidth ? { bandwidth } : {}),
    ...(s.allowedSourceCIDRs?.length ? { allowedSourceCIDRs: [...s.allowedSourceCIDRs].sort() } : {}),
    ...(s.maxSessions !== undefined ? { maxSessions: s.maxSessions } : {}),
    ...(sessionPolicy ? { sessionPolicy } : {}),
  };
}

/**
 * Who owns a username on a server when several SftpUsers claim it: the oldest (creationTimestamp, then name).
 * Returns the winning user's namespace/name key per username. Pure.
 */
export function usernameOwners(users: readonly SftpUser[]): Map<string, string> {
  const ts = (u: SftpUser): string => {
    const c: unknown = u.metadata.creationTimestamp;
    return c instanceof Date ? c.toISOString() : String(c ?? '');
  };
  const sorted = [...users].sort((a, b) => {
    const ta = ts(a);
    const tb = ts(b);
    if (ta !== tb) return ta < tb ? -1 : 1;
    return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
  });
  const owners = new Map<string, string>();
  for (const u of sorted) {
    const name = usernameOf(u);
    if (!owners.has(name)) owners.set(name, `${u.metadata.namespace}/${u.metadata.name}`);
  }
  return owners;
}
