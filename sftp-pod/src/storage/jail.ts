// The path jail: the ONE place where a path from the SFTP wire becomes an S3 key. Every SFTP request that names a
// path goes through resolve(); nothing else in the pod builds keys from client input. Pure (no I/O), so the whole
// escape surface is covered by table-driven unit tests (jail.test.ts).
//
// Rules:
// - Input is the raw bytes from the wire. Invalid UTF-8 and NUL are refused (an S3 key is UTF-8, and NUL truncates
//   paths in every C tool that might later touch the data).
// - `.`, empty segments (`//`) and trailing slashes vanish; `..` pops a segment but never above the user's `/`
//   (clamped, as OpenSSH does under chroot). Relative paths are relative to `/` (SFTP v3 has no server-side cwd).
// - Backslash and `%` are ordinary characters: `..\\x` and `..%2f` are literal file names, never separators.
// - The virtual path is normalised FIRST and mapped to a key AFTER, so no spelling can reach a key outside the
//   mapped prefixes; prefixes are compared on whole segments (`/alice` never matches `/alice2`).
// - Logical directories (an entry path mapped to another prefix under the server prefix) and per-directory
//   permission overrides are resolved here too, with the same longest-whole-segment rule.

import type { Permission } from '../../../common/src/users/permission.ts';
import type { AccessRules } from '../../../common/src/users/types.ts';
import { StorageError, StorageErrorCode } from './errors.ts';
import { assertNotReservedPrefix, isReservedKey } from './resume-reserved.ts';

/** S3's limit on a key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

export { PERMISSIONS, type Permission } from '../../../common/src/users/permission.ts';

/** The slice of a users-table entry (docs/users-table.md) that the jail needs. */
export type JailUser = AccessRules & { readonly home: string };

export interface ResolvedPath {
  /** Normalised absolute path as the user sees it (`/` or `/a/b`); what REALPATH answers. */
  readonly virtualPath: string;
  /** S3 key for the path as a file: `<server prefix>/<home>/a/b` (no leading slash). */
  readonly key: string;
  /** S3 prefix for the path as a directory: `key + '/'`. */
  readonly dirPrefix: string;
  /** Permissions that apply at this path (user default, overridden by the longest matching directory rule). */
  readonly permissions: ReadonlySet<Permission>;
  /** Permissions of the parent directory (creating/deleting/renaming an entry is an operation on its parent). */
  readonly parentPermissions: ReadonlySet<Permission>;
  /**
   * The user's `/`, a logical directory's entry, or a directory on the way to one (`/a` for an entry `/a/b`): always
   * exists as a directory whatever S3 holds, and cannot be removed or renamed.
   */
  readonly isMountPoint: boolean;
}

export interface PathJail {
  /** Resolves a wire path; throws StorageError INVALID_PATH for NUL, invalid UTF-8 or an over-long key. */
  resolve(raw: Uint8Array | string): ResolvedPath;
  /**
   * Names directly inside a virtual directory that lead to a logical directory (its entry, or the next directory
   * on the way to it), so READDIR can show them even when no object exists under the parent's own prefix.
   */
  mountsIn(virtualDir: string): readonly string[];
  /**
   * Virtual paths of the permission rules (directory permissions, logical directories with their own permissions)
   * and of the mounts strictly below a virtual directory: where rights change inside it (sftp/subtree.ts).
   */
  boundariesBelow(virtualDir: string): { readonly rules: readonly string[]; readonly mounts: readonly string[] };
}

interface Mount {
  /** Entry path segments (empty for the user's `/`). */
  readonly segments: readonly string[];
  /** Key prefix without trailing slash. */
  readonly keyBase: string;
}

interface PermRule {
  readonly segments: readonly string[];
  readonly permissions: ReadonlySet<Permission>;
  /** Explicit directoryPermissions beat a logical directory's own permissions on the same path. */
  readonly rank: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Throws StorageError INVALID_PATH with a client-safe message. */
function invalid(message: string): never {
  throw new StorageError(StorageErrorCode.InvalidPath, message);
}

/**
 * Validates a configured relative prefix (server prefix, home, logical prefix): no leading slash, no empty, `.` or
 * `..` segment, no NUL. Throws a plain Error: bad configuration is the operator's bug, not the client's.
 */
function configSegments(what: string, value: string, allowEmpty: boolean): string[] {
  if (value === '') {
    if (allowEmpty) return [];
    throw new Error(`${what} must not be empty`);
  }
  const trimmed = value.endsWith('/') ? value.slice(0, -1) : value;
  const segments = trimmed.split('/');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || s.includes('\0')) {
      throw new Error(`${what} ${JSON.stringify(value)} must be relative, without empty, '.' or '..' segments`);
    }
  }
  return segments;
}

/** Normalises an absolute virtual path from configuration (`/outbox`), refusing `..` rather than clamping it. */
function configVirtual(what: string, value: string): string[] {
  if (!value.startsWith('/')) throw new Error(`${what} ${JSON.stringify(value)} must start with '/'`);
  const segments = value.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..' || s.includes('\0'))) {
    throw new Error(`${what} ${JSON.stringify(value)} must not contain '..'`);
  }
  return segments;
}

/** Splits a wire path into normalised segments, clamping `..` at the root. */
export function normaliseSegments(path: string): string[] {
  const out: string[] = [];
  for (const s of path.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') out.pop();
    else out.push(s);
  }
  return out;
}

function decodeWire(raw: Uint8Array | string): string {
  let text: string;
  if (typeof raw === 'string') {
    if (!raw.isWellFormed()) invalid('path is not valid UTF-8');
    text = raw;
  } else {
    try {
      text = decoder.decode(raw);
    } catch (cause) {
      throw new StorageError(StorageErrorCode.InvalidPath, 'path is not valid UTF-8', { cause });
    }
  }
  if (text.includes('\0')) invalid('path contains a NUL byte');
  return text;
}

function startsWithSegments(path: readonly string[], prefix: readonly string[]): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (path[i] !== prefix[i]) return false;
  return true;
}

function joinKey(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}

/**
 * Builds the jail for one user under one server prefix. Throws (plain Error) on invalid configuration: a home or a
 * logical prefix with `..`, a logical directory at `/`, duplicate entries.
 */
export function createPathJail(serverPrefix: string, user: JailUser): PathJail {
  const base = configSegments('server prefix', serverPrefix, true);
  const home = configSegments('home', user.home, false);
  assertNotReservedPrefix('home', home);

  const mounts: Mount[] = [{ segments: [], keyBase: joinKey(...base, ...home) }];
  const rules: PermRule[] = [{ segments: [], permissions: new Set(user.permissions), rank: 0 }];
  const seen = new Set<string>();
  for (const ld of user.logicalDirectories ?? []) {
    const segments = configVirtual('logical directory path', ld.path);
    if (segments.length === 0) throw new Error('a logical directory cannot replace the user\'s "/"');
    const id = segments.join('/');
    if (seen.has(id)) throw new Error(`logical directory ${JSON.stringify(ld.path)} is declared twice`);
    seen.add(id);
    const prefix = configSegments('logical directory prefix', ld.prefix, false);
    assertNotReservedPrefix('logical directory prefix', prefix);
    mounts.push({ segments, keyBase: joinKey(...base, ...prefix) });
    if (ld.permissions) rules.push({ segments, permissions: new Set(ld.permissions), rank: 1 });
  }
  for (const dp of user.directoryPermissions ?? []) {
    rules.push({
      segments: configVirtual('directory permission path', dp.path),
      permissions: new Set(dp.permissions),
      rank: 2,
    });
  }
  // Longest path first, then the stronger rank: the first match is the one that applies.
  rules.sort((a, b) => b.segments.length - a.segments.length || b.rank - a.rank);
  mounts.sort((a, b) => b.segments.length - a.segments.length);

  const permissionsAt = (segments: readonly string[]): ReadonlySet<Permission> => {
    for (const r of rules) if (startsWithSegments(segments, r.segments)) return r.permissions;
    return new Set(); // unreachable: the root rule matches everything
  };

  return {
    resolve(raw) {
      const segments = normaliseSegments(decodeWire(raw));
      // The root mount (no segments) is last after sorting and always matches.
      const mount = mounts.find((m) => startsWithSegments(segments, m.segments)) ?? (mounts.at(-1) as Mount);
      const key = joinKey(mount.keyBase, ...segments.slice(mount.segments.length));
      // `dirPrefix` (key + '/') must be a valid key too, or mkdir and listing below it would fail half-way.
      if (Buffer.byteLength(key, 'utf8') + 1 > MAX_KEY_BYTES) {
        invalid(`path is too long: its S3 key would exceed ${MAX_KEY_BYTES - 1} bytes`);
      }
      // Unreachable with the checks above (second guard): sftpgate's own state is never a user's file.
      if (isReservedKey(serverPrefix, key)) throw new StorageError(StorageErrorCode.NotFound, 'no such file');
      return {
        virtualPath: `/${segments.join('/')}`,
        key,
        dirPrefix: `${key}/`,
        permissions: permissionsAt(segments),
        parentPermissions: permissionsAt(segments.slice(0, -1)),
        isMountPoint: mounts.some((m) => startsWithSegments(m.segments, segments)),
      };
    },
    mountsIn(virtualDir) {
      const dir = normaliseSegments(virtualDir);
      const names = new Set<string>();
      for (const m of mounts) {
        const next = m.segments[dir.length];
        if (next !== undefined && startsWithSegments(m.segments, dir)) names.add(next);
      }
      return [...names].sort();
    },
    boundariesBelow(virtualDir) {
      const dir = normaliseSegments(virtualDir);
      const inside = (segments: readonly string[]) =>
        segments.length > dir.length && startsWithSegments(segments, dir) ? [`/${segments.join('/')}`] : [];
      return {
        rules: [...new Set(rules.flatMap((r) => inside(r.segments)))].sort(),
        mounts: mounts.flatMap((m) => inside(m.segments)).sort(),
      };
    },
  };
}
