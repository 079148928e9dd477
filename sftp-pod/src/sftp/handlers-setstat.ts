// Table entries for SETSTAT and FSETSTAT (docs/sftp-pod.md "setstat"): size only if unchanged, mode/uid/gid per
// --setstat-mode, atime/mtime as object metadata (directories are prefixes with nothing to carry them).
import type { ResolvedPath } from '../storage/jail.ts';
import type { FileInfo } from '../storage/types.ts';
import { DIR_MODE, FILE_MODE } from './attrs.ts';
import type { Attrs } from './codec.ts';
import { PacketType } from './constants.ts';
import { type Args, type Handler, handler, type SessionContext } from './handler.ts';
import { handleArg } from './handlers-files.ts';
import { pathArg, unsupported } from './handlers-paths.ts';
import type { Handle } from './handles.ts';

function checkSetstat(s: SessionContext, attrs: Attrs, kind: FileInfo['kind'], size: number): void {
  if (attrs.size !== undefined && (kind !== 'file' || attrs.size !== size)) {
    unsupported('truncate is not supported: an object can only be replaced as a whole');
  }
  const reported = kind === 'directory' ? DIR_MODE : FILE_MODE;
  // Setting the mode we already report (what `put -p` of a 0644 file sends) changes nothing and is accepted.
  const modeChange = attrs.permissions !== undefined && (attrs.permissions & 0o7777) !== (reported & 0o7777);
  if ((modeChange || attrs.uid !== undefined) && s.setstatMode === 'Error') {
    unsupported('chmod/chown is not supported on object storage (setstatMode: Error)');
  }
}

const hasTimes = (a: Attrs): a is Attrs & { atime: number; mtime: number } =>
  a.atime !== undefined && a.mtime !== undefined;

interface SetstatArgs extends Args {
  readonly path: ResolvedPath;
  readonly attrs: Attrs;
}
interface FsetstatArgs extends Args {
  readonly handle: Handle;
  readonly attrs: Attrs;
}

export const SETSTAT_HANDLERS: readonly Handler[] = [
  handler<SetstatArgs>({
    type: PacketType.SETSTAT,
    op: 'setstat',
    needs: { writes: true, paths: [{ arg: 'path', permission: 'setstat' }] },
    decode(r, s) {
      const path = pathArg(r, s);
      const attrs = r.attrs();
      r.end();
      return { path, attrs };
    },
    async run(s, res, { path, attrs }) {
      const info = await s.stat(path);
      checkSetstat(s, attrs, info.kind, info.size);
      // Directories are prefixes: there is no object to carry the times. Accepted silently like chmod in Ignore.
      if (hasTimes(attrs) && !path.isMountPoint && info.kind !== 'directory') {
        await s.storage.setTimes(path.key, attrs.atime * 1000, attrs.mtime * 1000, s.signal);
      }
      await res.ok();
    },
  }),
  handler<FsetstatArgs>({
    type: PacketType.FSETSTAT,
    op: 'fsetstat',
    needs: { writes: true, handles: [{ arg: 'handle', kind: 'any', permission: 'setstat' }] },
    decode(r, s) {
      const handle = handleArg(r, s);
      const attrs = r.attrs();
      r.end();
      return { handle, attrs };
    },
    async run(s, res, { handle: h, attrs }) {
      if (h.kind === 'write') {
        checkSetstat(s, attrs, 'file', h.sink.bytesReceived);
        if (hasTimes(attrs)) h.sink.setTimes(attrs.atime * 1000, attrs.mtime * 1000);
      } else if (h.kind === 'read') {
        checkSetstat(s, attrs, 'file', h.source.size);
        if (hasTimes(attrs)) await s.storage.setTimes(h.path.key, attrs.atime * 1000, attrs.mtime * 1000, s.signal);
      } else {
        checkSetstat(s, attrs, 'directory', 0);
      }
      await res.ok();
    },
  }),
];
