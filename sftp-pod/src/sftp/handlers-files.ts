// Table entries for the file and directory handle lifecycle: OPEN, CLOSE, READ, WRITE, FSTAT, READDIR. Uploads
// follow docs/sftp-pod.md "Open": an object appears only when CLOSE's commit() resolved.
import type { ResolvedPath } from '../storage/jail.ts';
import { FILE_MODE, toAttrs } from './attrs.ts';
import type { Attrs, Reader } from './codec.ts';
import { MAX_READ_LENGTH, OpenFlags, PacketType, Status } from './constants.ts';
import { type Args, type Handler, handler, type SessionContext } from './handler.ts';
import { pathArg, unsupported } from './handlers-paths.ts';
import type { DirHandle, Handle, ReadHandle, WriteHandle } from './handles.ts';
import { attrsReply, handleReply, namesReply } from './replies.ts';
import { mapError, SftpStatusError } from './status-map.ts';

/** Entries per NAME reply: keeps a reply far below the 256 KiB message limit even with 1 KiB names. */
const NAMES_PER_REPLY = 100;

export function handleArg(r: Reader, s: SessionContext): Handle {
  return s.handles.get(r.bytes());
}

interface OpenArgs extends Args {
  readonly path: ResolvedPath;
  readonly mode: 'read' | 'write';
  readonly flags: number;
  readonly attrs: Attrs;
}
export interface HandleArgs<H extends Handle = Handle> extends Args {
  readonly handle: H;
}
interface ReadArgs extends HandleArgs<ReadHandle> {
  readonly offset: number;
  readonly length: number;
}
interface WriteArgs extends HandleArgs<WriteHandle> {
  readonly offset: number;
  readonly data: Buffer;
}

function decodeOpen(r: Reader, s: SessionContext): OpenArgs {
  const path = pathArg(r, s);
  const flags = r.u32();
  const attrs = r.attrs();
  r.end();
  const read = (flags & OpenFlags.READ) !== 0;
  const write = (flags & OpenFlags.WRITE) !== 0;
  if (read && write) unsupported('opening a file for both reading and writing is not supported on object storage');
  if (!read && !write) throw new SftpStatusError(Status.BAD_MESSAGE, 'open without READ or WRITE');
  if (write) {
    // APPEND is honoured only by resuming an interrupted upload (storage/resume-open.ts refuses it otherwise).
    if (!(flags & (OpenFlags.CREAT | OpenFlags.TRUNC))) {
      unsupported('modifying an existing file in place is not supported: open with CREAT or TRUNC to replace it');
    }
  }
  return { path, flags, attrs, mode: write ? 'write' : 'read' };
}

async function openRead(s: SessionContext, a: OpenArgs): Promise<Buffer> {
  const source = await s.storage.openRead(a.path.key, s.signal);
  try {
    return s.handles.add({ kind: 'read', path: a.path, source, bytes: 0 });
  } catch (err) {
    await source.close();
    throw err;
  }
}

async function openWrite(s: SessionContext, a: OpenArgs): Promise<Buffer> {
  const exclusive = (a.flags & OpenFlags.EXCL) !== 0;
  const sink = await s.storage.openWrite(
    a.path.key,
    {
      overwrite: !exclusive && a.path.parentPermissions.has('overwrite'),
      user: s.username,
      sessionId: s.sessionId,
      // Without TRUNC the client may be resuming (OpenSSH reput sends APPEND, lftp `put -c` and WinSCP only omit TRUNC).
      resumable: (a.flags & OpenFlags.TRUNC) === 0 && !exclusive,
      append: (a.flags & OpenFlags.APPEND) !== 0,
    },
    s.signal,
  );
  if (a.attrs.atime !== undefined && a.attrs.mtime !== undefined) {
    sink.setTimes(a.attrs.atime * 1000, a.attrs.mtime * 1000);
  }
  try {
    return s.handles.add({ kind: 'write', path: a.path, sink, copied: false });
  } catch (err) {
    await sink.abort('too many open handles');
    throw err;
  }
}

async function close(s: SessionContext, h: Handle): Promise<void> {
  if (h.kind === 'read') {
    await h.source.close();
    s.metrics?.transfer('download', 'ok');
    return;
  }
  if (h.kind !== 'write') return;
  if (h.copied) {
    await h.sink.abort('replaced by copy-data');
    return;
  }
  if (h.failed) {
    s.metrics?.transfer('upload', 'error');
    throw new SftpStatusError(Status.FAILURE, `upload failed, nothing was stored: ${h.failed}`);
  }
  try {
    await h.sink.commit(s.signal);
  } catch (err) {
    s.metrics?.transfer('upload', 'error');
    await h.sink.abort('commit failed').catch(() => {});
    s.log.warn('upload failed at CLOSE', { path: h.path.virtualPath, err });
    throw err;
  }
  s.metrics?.transfer('upload', 'ok');
  s.log.info('upload stored', { path: h.path.virtualPath, bytes: h.sink.bytesReceived });
}

/**
 * Passes one write to the sink; a write that did not settle within one event-loop turn waited for a budget (counted
 * as a backpressure pause). The reply waits only for the write itself, not for the end of the turn.
 */
async function write(s: SessionContext, h: WriteHandle, offset: number, data: Buffer): Promise<void> {
  if (h.failed) throw new SftpStatusError(Status.FAILURE, h.failed);
  if (h.copied) throw new SftpStatusError(Status.FAILURE, 'handle was the target of copy-data');
  const pause = setImmediate(() => s.metrics?.backpressurePause());
  try {
    await h.sink.write(offset, data);
    clearImmediate(pause);
  } catch (err) {
    clearImmediate(pause);
    // The upload is lost: abort it now (frees the budget) and make CLOSE fail with the same reason.
    h.failed = mapError(err).message;
    await h.sink.abort(h.failed).catch(() => {});
    throw err;
  }
}

async function nextNames(h: DirHandle) {
  while (h.pending.length === 0 && !h.done) {
    const page = await h.pages.next();
    if (page.done) h.done = true;
    else h.pending.push(...page.value.filter((e) => !h.mounts.has(e.name)));
  }
  return h.pending.splice(0, NAMES_PER_REPLY);
}

/** Decodes a request whose only argument is a handle. */
export function oneHandle(r: Reader, s: SessionContext): HandleArgs {
  const handle = handleArg(r, s);
  r.end();
  return { handle };
}

export const FILE_HANDLERS: readonly Handler[] = [
  handler<OpenArgs>({
    type: PacketType.OPEN,
    op: 'open',
    needs: {
      read: { writes: false, paths: [{ arg: 'path', permission: 'download' }] },
      write: {
        writes: true,
        paths: [{ arg: 'path', permission: 'upload', on: 'parent', mountPoint: 'is-directory', creates: true }],
      },
    },
    decode: decodeOpen,
    async run(s, res, a) {
      const handle = a.mode === 'read' ? await openRead(s, a) : await openWrite(s, a);
      await res.send(handleReply(res.id, handle));
    },
  }),
  handler<HandleArgs>({
    type: PacketType.CLOSE,
    op: 'close',
    needs: { writes: false, handles: [{ arg: 'handle', kind: 'any' }] },
    decode: oneHandle,
    async run(s, res, a) {
      const answered = s.handles.closing(a.handle);
      try {
        await close(s, a.handle);
        await res.ok();
      } finally {
        answered();
      }
    },
  }),
  handler<ReadArgs>({
    type: PacketType.READ,
    op: 'read',
    needs: { writes: false, handles: [{ arg: 'handle', kind: 'read' }] },
    decode(r, s) {
      const handle = handleArg(r, s) as ReadHandle;
      const offset = r.u64();
      const length = Math.min(r.u32(), MAX_READ_LENGTH);
      r.end();
      return { handle, offset, length };
    },
    async run(s, res, a) {
      const data = await a.handle.source.read(a.offset, a.length, s.signal);
      if (data.length === 0) {
        await res.status(Status.EOF, 'end of file');
        return;
      }
      a.handle.bytes += data.length;
      s.metrics?.addTransferBytes('download', data.length);
      await s.downloadPacer?.take(data.length, s.signal);
      // Once ssh2 copied the payload into its packets, the read source may reuse the memory (its range buffers).
      const source = a.handle.source;
      await res.data(data, () => source.release?.(data));
    },
  }),
  handler<WriteArgs>({
    type: PacketType.WRITE,
    op: 'write',
    needs: { writes: true, handles: [{ arg: 'handle', kind: 'write' }] },
    decode(r, s) {
      const handle = handleArg(r, s) as WriteHandle;
      const offset = r.u64();
      const data = r.bytes();
      // No r.end(): rclone 1.60's pkg/sftp sends its whole 32 KiB buffer after a short read, with the data length set
      // to the bytes read. OpenSSH's sftp-server skips whatever follows a request, so such clients work there; the
      // length field is authoritative and the rest is ignored here too (clients-libs.test.ts, rclone).
      return { handle, offset, data };
    },
    async run(s, res, a) {
      await write(s, a.handle, a.offset, a.data);
      s.metrics?.addTransferBytes('upload', a.data.length);
      await s.uploadPacer?.take(a.data.length, s.signal);
      await res.ok();
    },
  }),
  handler<HandleArgs>({
    type: PacketType.FSTAT,
    op: 'fstat',
    needs: { writes: false, handles: [{ arg: 'handle', kind: 'any' }] },
    decode: oneHandle,
    async run(s, res, a) {
      const h = a.handle;
      let attrs: Attrs;
      if (h.kind === 'read') attrs = { size: h.source.size, permissions: FILE_MODE };
      else if (h.kind === 'write') attrs = { size: h.sink.bytesReceived, permissions: FILE_MODE };
      else attrs = toAttrs(await s.stat(h.path));
      await res.send(attrsReply(res.id, attrs));
    },
  }),
  handler<HandleArgs<DirHandle>>({
    type: PacketType.READDIR,
    op: 'readdir',
    needs: { writes: false, handles: [{ arg: 'handle', kind: 'dir' }] },
    decode: (r, s) => oneHandle(r, s) as HandleArgs<DirHandle>,
    async run(s, res, a) {
      const batch = await nextNames(a.handle);
      if (batch.length === 0) await res.status(Status.EOF, 'end of directory');
      else await res.send(namesReply(res.id, batch, s.username));
    },
  }),
];
