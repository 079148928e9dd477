// The subtree rule: an operation that acts on everything below a directory (directory rename, rmdir) must be allowed
// for every entry it touches, not only for the directory's parent. Per-directory permission overrides and logical
// directories inside the subtree are boundaries where the rights change; the check visits each of them. Without it, a
// user with a read-only `/ro` renamed `/ro` to `/x` (allowed by `/`'s rename permission) and then deleted the moved
// objects, which `/x` no longer protected. Pure: only the jail's rules, no I/O.
import type { Permission } from '../../../common/src/users/permission.ts';
import type { PathJail, ResolvedPath } from '../storage/jail.ts';

function join(dir: string, rest: string): string {
  return dir === '/' ? rest || '/' : `${dir}${rest}`;
}

/** The part of `path` below `dir` (`/a/b` under `/a` → `/b`; `dir` itself → ''). */
function below(dir: string, path: string): string {
  return dir === '/' ? (path === '/' ? '' : path) : path.slice(dir.length);
}

function missing(have: ReadonlySet<Permission>, want: ReadonlySet<Permission>): Permission[] {
  return [...want].filter((p) => !have.has(p)).sort();
}

/**
 * Why an operation needing `permission` on every entry inside `from` (and, for a move, landing them under `to`) must
 * be refused, or undefined when it may proceed. Refused when: a mount lies strictly inside `from` or `to`; a
 * permission boundary inside `from` (including `from` itself) lacks `permission`; for a move, when the corresponding
 * place under `to` lacks it; and with `compareRights` (a directory move), when that place grants any right the
 * source place does not (moving data to where the user holds more rights over it is an escalation). The first parts
 * hold for files too (nothing lies below a file; a rule naming the file's own path applies to it), so only
 * `compareRights` depends on what the source is. Throws what jail.resolve throws (a target too long for a key).
 */
export function subtreeRefusal(
  jail: PathJail,
  permission: Permission,
  from: ResolvedPath,
  to?: ResolvedPath,
  compareRights = false,
): string | undefined {
  const src = jail.boundariesBelow(from.virtualPath);
  const dst = to ? jail.boundariesBelow(to.virtualPath) : { rules: [], mounts: [] };
  const mount = src.mounts[0] ?? dst.mounts[0];
  if (mount !== undefined) return `permission denied: ${permission} would move or remove the mount point ${mount}`;
  // Every place where the source's or the target's rules change, as a path relative to the directory.
  const points = new Set<string>(['']);
  for (const r of src.rules) points.add(below(from.virtualPath, r));
  if (to) for (const r of dst.rules) points.add(below(to.virtualPath, r));
  for (const rel of [...points].sort()) {
    const srcPath = join(from.virtualPath, rel);
    const here = rel === '' ? from.permissions : jail.resolve(srcPath).permissions;
    if (!here.has(permission)) {
      return `permission denied: ${permission} on ${srcPath} (inside ${from.virtualPath})`;
    }
    if (!to) continue;
    const dstPath = join(to.virtualPath, rel);
    const there = rel === '' ? to.permissions : jail.resolve(dstPath).permissions;
    if (!there.has(permission)) return `permission denied: ${permission} on ${dstPath}`;
    const gained = compareRights ? missing(here, there) : [];
    if (gained.length > 0) {
      return `permission denied: moving ${srcPath} to ${dstPath} would grant ${gained.join(', ')} there`;
    }
  }
  return undefined;
}
