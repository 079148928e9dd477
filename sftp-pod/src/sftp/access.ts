// The ONE place where a request's permissions are checked: what the table entry `needs` (handler.ts) against the
// decoded arguments, in a fixed order — mount rules, permissions, handle kinds, the name rule, then the subtree rule.
// Request handlers run only after this passed and never check permissions themselves.
import { PERMISSIONS, type Permission } from '../../../common/src/users/permission.ts';
import type { ResolvedPath } from '../storage/jail.ts';
import { Status } from './constants.ts';
import type { Args, HandleNeed, MountRule, Needs, PathNeed, SessionContext } from './handler.ts';
import { escapeName, type UnsafeNames, unsafeNameRefusal } from './names.ts';
import { SftpStatusError } from './status-map.ts';
import { subtreeRefusal } from './subtree.ts';

/** Permissions that change what is stored: an entry that `writes` needs one of them (or a write handle). */
export const WRITE_PERMISSIONS: ReadonlySet<Permission> = new Set(
  PERMISSIONS.filter((p) => p !== 'list' && p !== 'download'),
);

/** Refusals name the path on one line (names.ts escapes control characters a client-chosen path may hold). */
function denied(permission: Permission, path: string): never {
  throw new SftpStatusError(Status.PERMISSION_DENIED, `permission denied: ${permission} on ${escapeName(path)}`);
}

const MOUNT_REFUSAL: Readonly<Record<Exclude<MountRule, 'skip'>, (p: string, n: PathNeed) => SftpStatusError>> = {
  deny: (p, n) =>
    new SftpStatusError(Status.PERMISSION_DENIED, `permission denied: ${n.permission ?? 'access'} on ${p}`),
  exists: (p) => new SftpStatusError(Status.FAILURE, `already exists: ${p}`),
  'target-exists': (p) => new SftpStatusError(Status.FAILURE, `target exists: ${p}`),
  'is-directory': (p) => new SftpStatusError(Status.FAILURE, `is a directory: ${p}`),
};

const HANDLE_STATE: Readonly<Record<HandleNeed['kind'], string>> = {
  read: 'is not open for reading',
  write: 'is not open for writing',
  dir: 'is not a directory',
  any: '',
};

function pathArg(a: Args, n: PathNeed): ResolvedPath {
  const p = a[n.arg];
  // A table entry whose decoder does not produce what its needs name is a programming error, never client input.
  if (!p) throw new Error(`table entry needs ${n.arg}, which its decoder did not produce`);
  return p;
}

export interface AccessOptions {
  readonly unsafeNames: UnsafeNames;
}

/**
 * Throws SftpStatusError (or what the jail throws) when the request must be refused; returns when it may run.
 * Async only for the subtree rule of a move, which must know whether the source is a directory.
 */
export async function checkAccess(needs: Needs, a: Args, s: SessionContext, o: AccessOptions): Promise<void> {
  const paths = needs.paths ?? [];
  for (const n of paths) {
    const p = pathArg(a, n);
    if (p.isMountPoint && n.mountPoint !== undefined && n.mountPoint !== 'skip') {
      throw MOUNT_REFUSAL[n.mountPoint](escapeName(p.virtualPath), n);
    }
  }
  for (const n of paths) {
    const p = pathArg(a, n);
    if (n.permission === undefined || (p.isMountPoint && n.mountPoint === 'skip')) continue;
    const have = n.on === 'parent' ? p.parentPermissions : p.permissions;
    if (!have.has(n.permission)) denied(n.permission, p.virtualPath);
  }
  for (const n of needs.handles ?? []) {
    const h = a[n.arg];
    if (!h) throw new Error(`table entry needs ${n.arg}, which its decoder did not produce`);
    if (n.kind !== 'any' && h.kind !== n.kind) {
      throw new SftpStatusError(Status.FAILURE, `${n.what ?? 'handle'} ${HANDLE_STATE[n.kind]}`);
    }
    if (n.permission !== undefined && !h.path.permissions.has(n.permission)) denied(n.permission, h.path.virtualPath);
  }
  if (o.unsafeNames === 'Refuse') {
    for (const n of paths) {
      if (!n.creates) continue;
      const refusal = unsafeNameRefusal(pathArg(a, n).virtualPath);
      if (refusal !== undefined) throw new SftpStatusError(Status.PERMISSION_DENIED, refusal);
    }
  }
  if (needs.subtree) await checkSubtree(needs, a, s);
}

async function checkSubtree(needs: Needs, a: Args, s: SessionContext): Promise<void> {
  const sub = needs.subtree;
  const from = a.path;
  if (!sub || !from) throw new Error('table entry needs a subtree check on a path its decoder did not produce');
  const to = sub.to ? a.target : undefined;
  if (sub.to && !to) throw new Error('table entry needs a subtree target its decoder did not produce');
  // Whether the source is a directory decides only the rights comparison: a file keeps the per-entry rule (`rename`
  // on both sides), so /inbox/f may move to a place with more rights. The rest of the rule needs no I/O, so a race
  // that turns a file into a directory after this stat gains nothing that per-entry renames would not allow. A
  // failed stat is left to the operation itself, which reports it in its own words.
  const isDirectory = to !== undefined && (await s.stat(from).catch(() => undefined))?.kind === 'directory';
  const refusal = subtreeRefusal(s.jail, sub.permission, from, to, isDirectory);
  if (refusal !== undefined) throw new SftpStatusError(Status.PERMISSION_DENIED, escapeName(refusal));
}
