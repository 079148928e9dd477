// Table entries for requests that name paths: REALPATH, STAT/LSTAT, OPENDIR, REMOVE, MKDIR, RMDIR, RENAME (and the
// posix-rename extension's shared body), READLINK, SYMLINK. Permissions are in each entry's `needs` (access.ts).
import { isStorageError, StorageErrorCode } from '../storage/errors.ts';
import type { ResolvedPath } from '../storage/jail.ts';
import type { FileInfo } from '../storage/types.ts';
import { toAttrs } from './attrs.ts';
import type { Reader } from './codec.ts';
import { PacketType, Status } from './constants.ts';
import { type Args, type Handler, handler, type Needs, type SessionContext, unsupportedEntry } from './handler.ts';
import { attrsReply, handleReply, realpathReply } from './replies.ts';
import { SftpStatusError } from './status-map.ts';

/** A wire path through the jail: it alone decides what is a valid path (invalid UTF-8 and NUL are refused there). */
export function pathArg(r: Reader, s: SessionContext): ResolvedPath {
  return s.jail.resolve(r.bytes());
}

/** A synthesised directory (the user's root, a logical directory entry). */
export function syntheticDir(name: string) {
  const now = Date.now();
  return { name, kind: 'directory', size: 0, mtimeMs: now, atimeMs: now } as const;
}

export function unsupported(message: string): never {
  throw new SftpStatusError(Status.OP_UNSUPPORTED, message);
}

interface PathArgs extends Args {
  readonly path: ResolvedPath;
}
interface RenameArgs extends Args {
  readonly path: ResolvedPath;
  readonly target: ResolvedPath;
}

function onePath(r: Reader, s: SessionContext): PathArgs {
  const path = pathArg(r, s);
  r.end();
  return { path };
}

/** RENAME and posix-rename: source and target paths. */
export function decodeRename(r: Reader, s: SessionContext): RenameArgs {
  const path = pathArg(r, s);
  const target = pathArg(r, s);
  r.end();
  return { path, target };
}

/** Needs of a rename; posix-rename (which replaces an existing target) adds `overwrite` on the target's parent. */
export function renameNeeds(overwrite: boolean): Needs {
  return {
    writes: true,
    paths: [
      { arg: 'path', permission: 'rename', on: 'parent', mountPoint: 'deny' },
      { arg: 'target', permission: 'rename', on: 'parent', mountPoint: 'target-exists', creates: true },
      ...(overwrite ? [{ arg: 'target', permission: 'overwrite', on: 'parent' } as const] : []),
    ],
    subtree: { permission: 'rename', to: 'target' },
  };
}

export async function runRename(s: SessionContext, a: RenameArgs, overwrite: boolean): Promise<void> {
  if (a.path.key === a.target.key) return;
  await s.storage.rename(a.path.key, a.target.key, { overwrite }, s.signal);
}

/** A missing path may be this user's interrupted upload: STAT answers its committed size (OpenSSH `reput`). */
async function resumableOrThrow(s: SessionContext, path: ResolvedPath, err: unknown): Promise<FileInfo> {
  if (!isStorageError(err, StorageErrorCode.NotFound)) throw err;
  const info = await s.storage.resumableStat?.(path.key, s.username, s.signal);
  if (info === undefined) throw err;
  return info;
}

const stat = (type: number, op: string): Handler =>
  handler<PathArgs>({
    type,
    op,
    needs: { writes: false, paths: [{ arg: 'path', permission: 'list', on: 'parent', mountPoint: 'skip' }] },
    decode: onePath,
    async run(s, res, a) {
      const info = await s.stat(a.path).catch((err: unknown) => resumableOrThrow(s, a.path, err));
      await res.send(attrsReply(res.id, toAttrs(info)));
    },
  });

export const PATH_HANDLERS: readonly Handler[] = [
  handler<PathArgs>({
    type: PacketType.REALPATH,
    op: 'realpath',
    needs: { writes: false },
    // An optional control byte and compose path (v6) are not v3; trailing bytes are ignored for client compatibility.
    decode: (r, s) => ({ path: pathArg(r, s) }),
    async run(_s, res, a) {
      await res.send(realpathReply(res.id, a.path.virtualPath));
    },
  }),
  stat(PacketType.STAT, 'stat'),
  stat(PacketType.LSTAT, 'lstat'),
  handler<PathArgs>({
    type: PacketType.OPENDIR,
    op: 'opendir',
    needs: { writes: false, paths: [{ arg: 'path', permission: 'list' }] },
    decode: onePath,
    async run(s, res, a) {
      const info = await s.stat(a.path);
      if (info.kind !== 'directory')
        throw new SftpStatusError(Status.FAILURE, `not a directory: ${a.path.virtualPath}`);
      const mounts = s.jail.mountsIn(a.path.virtualPath);
      const handle = s.handles.add({
        kind: 'dir',
        path: a.path,
        pages: s.storage.list(a.path.key, s.signal, s.username)[Symbol.asyncIterator](),
        pending: mounts.map((m) => syntheticDir(m)),
        mounts: new Set(mounts),
        done: false,
      });
      await res.send(handleReply(res.id, handle));
    },
  }),
  handler<PathArgs>({
    type: PacketType.REMOVE,
    op: 'remove',
    // Removes one object (storage refuses directories): no subtree.
    needs: { writes: true, paths: [{ arg: 'path', permission: 'delete', on: 'parent', mountPoint: 'deny' }] },
    decode: onePath,
    async run(s, res, a) {
      await s.storage.remove(a.path.key, s.signal);
      await res.ok();
    },
  }),
  handler<PathArgs>({
    type: PacketType.MKDIR,
    op: 'mkdir',
    needs: {
      writes: true,
      paths: [{ arg: 'path', permission: 'mkdir', on: 'parent', mountPoint: 'exists', creates: true }],
    },
    decode(r, s) {
      const path = pathArg(r, s);
      r.attrs();
      r.end();
      return { path };
    },
    async run(s, res, a) {
      await s.storage.mkdir(a.path.key, s.signal);
      await res.ok();
    },
  }),
  handler<PathArgs>({
    type: PacketType.RMDIR,
    op: 'rmdir',
    needs: {
      writes: true,
      paths: [{ arg: 'path', permission: 'delete', on: 'parent', mountPoint: 'deny' }],
      subtree: { permission: 'delete' },
    },
    decode: onePath,
    async run(s, res, a) {
      await s.storage.rmdir(a.path.key, s.signal);
      await res.ok();
    },
  }),
  handler<RenameArgs>({
    type: PacketType.RENAME,
    op: 'rename',
    // SFTP v3 RENAME never replaces an existing target (posix-rename@openssh.com does).
    needs: renameNeeds(false),
    decode: decodeRename,
    async run(s, res, a) {
      await runRename(s, a, false);
      await res.ok();
    },
  }),
  unsupportedEntry(
    PacketType.READLINK,
    'readlink',
    false,
    'readlink is not supported: object storage has no symbolic links',
  ),
  unsupportedEntry(
    PacketType.SYMLINK,
    'symlink',
    true,
    'symlink is not supported: object storage has no symbolic links',
  ),
];
