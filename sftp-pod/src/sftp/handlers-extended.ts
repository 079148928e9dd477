// Table entries for SSH_FXP_EXTENDED requests, keyed by extension name (those announced in VERSION, replies.ts,
// plus hardlink, which OpenSSH clients send unannounced).
import { type Args, type Handler, handler, unsupportedEntry } from './handler.ts';
import { type HandleArgs, handleArg, oneHandle } from './handlers-files.ts';
import { decodeRename, pathArg, renameNeeds, runRename, unsupported } from './handlers-paths.ts';
import type { ReadHandle, WriteHandle } from './handles.ts';
import { limitsReply, statvfsReply } from './replies.ts';

interface CopyArgs extends Args {
  readonly handle: ReadHandle;
  readonly targetHandle: WriteHandle;
  readonly readOffset: number;
  readonly readLength: number;
  readonly writeOffset: number;
}

export const EXTENDED_HANDLERS: readonly Handler[] = [
  handler({
    type: 'posix-rename@openssh.com',
    op: 'ext:posix-rename@openssh.com',
    needs: renameNeeds(true),
    decode: decodeRename,
    async run(s, res, a) {
      await runRename(s, a, true);
      await res.ok();
    },
  }),
  handler({
    type: 'statvfs@openssh.com',
    op: 'ext:statvfs@openssh.com',
    needs: { writes: false },
    decode(r, s) {
      pathArg(r, s);
      r.end();
      return {};
    },
    run: async (s, res) => res.send(statvfsReply(res.id, await s.storage.usage?.(s.signal))),
  }),
  handler<HandleArgs>({
    type: 'fstatvfs@openssh.com',
    op: 'ext:fstatvfs@openssh.com',
    needs: { writes: false, handles: [{ arg: 'handle', kind: 'any' }] },
    decode: oneHandle,
    run: async (s, res) => res.send(statvfsReply(res.id, await s.storage.usage?.(s.signal))),
  }),
  handler<HandleArgs>({
    type: 'fsync@openssh.com',
    op: 'ext:fsync@openssh.com',
    // Writes nothing: durability on object storage is decided at CLOSE (OK only once S3 confirmed the object), so
    // fsync has nothing to flush earlier, and failing it would break `sftp -f`.
    needs: { writes: false, handles: [{ arg: 'handle', kind: 'any' }] },
    decode: oneHandle,
    run: async (_s, res) => res.ok(),
  }),
  handler({
    type: 'limits@openssh.com',
    op: 'ext:limits@openssh.com',
    needs: { writes: false },
    decode(r) {
      r.end();
      return {};
    },
    run: async (s, res) => res.send(limitsReply(res.id, s.handles.max)),
  }),
  handler<CopyArgs>({
    type: 'copy-data',
    op: 'ext:copy-data',
    needs: {
      writes: true,
      handles: [
        { arg: 'handle', kind: 'read', what: 'copy-data source' },
        { arg: 'targetHandle', kind: 'write', what: 'copy-data target' },
      ],
    },
    decode(r, s) {
      const handle = handleArg(r, s) as ReadHandle;
      const readOffset = r.u64();
      const readLength = r.u64();
      const targetHandle = handleArg(r, s) as WriteHandle;
      const writeOffset = r.u64();
      r.end();
      return { handle, readOffset, readLength, targetHandle, writeOffset };
    },
    // A whole-file copy becomes one server-side copy (S3 CopyObject); partial copies are refused.
    async run(s, res, a) {
      const src = a.handle;
      const dst = a.targetHandle;
      const whole =
        a.readOffset === 0 && a.writeOffset === 0 && (a.readLength === 0 || a.readLength >= src.source.size);
      if (!whole || dst.sink.bytesReceived > 0 || dst.copied) {
        unsupported('copy-data supports whole-file copies only (offset 0, to end of file, into an empty file)');
      }
      await s.storage.copy(
        src.path.key,
        dst.path.key,
        { overwrite: dst.path.parentPermissions.has('overwrite') },
        s.signal,
      );
      dst.copied = true;
      await res.ok();
    },
  }),
  unsupportedEntry(
    'hardlink@openssh.com',
    'ext:hardlink@openssh.com',
    true,
    'hardlink is not supported: object storage has no links',
  ),
];
