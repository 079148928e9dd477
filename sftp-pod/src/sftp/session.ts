// One SFTP v3 session on a raw subsystem channel: framing, dispatch, handles, backpressure.
//
// Requests are processed strictly one at a time, in arrival order, and the channel is paused while one is in
// progress. That single rule gives us three properties at once:
// - replies leave in request order (v3 allows any order, but ordered replies are what every client handles best);
// - WRITEs reach the storage sink in order, and a WRITE whose sink.write() promise is pending (upload or pod budget
//   full) stops reading the channel, so ssh2 stops sending window adjusts and the client's window closes;
// - memory held here is one packet (<= 256 KiB) plus the channel's readable buffer, whatever the client's speed.
// Clients still pipeline (OpenSSH keeps 64 requests outstanding); the pipeline simply sits in the SSH window.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { PathJail, ResolvedPath } from '../storage/jail.ts';
import type { FileInfo, ReadSource, Storage, WriteSink } from '../storage/types.ts';
import { type Logger, silentLogger } from '../telemetry/log.ts';
import { DIR_MODE, FILE_MODE, longName, toAttrs } from './attrs.ts';
import { type Attrs, type Packet, PacketDecoder, Reader, Writer } from './codec.ts';
import {
  MAX_MESSAGE_LENGTH,
  MAX_READ_LENGTH,
  MAX_WRITE_LENGTH,
  OpenFlags,
  PacketType,
  SFTP_VERSION,
  STATUS_LABEL,
  Status,
  type StatusCode,
} from './constants.ts';
import { pacerFor, type RateLimiter } from './pacing.ts';
import { mapError, SftpStatusError } from './status-map.ts';

export type Permission = 'list' | 'download' | 'upload' | 'overwrite' | 'delete' | 'rename' | 'mkdir' | 'setstat';

/**
 * Hooks for telemetry/metrics.ts; every label value passed is from a bounded set. Finalize lag is reported by the
 * sink's commit() (storage/metrics.ts). Backpressure pauses are counted here, where the channel stops: a WRITE whose
 * sink.write() did not settle within one event-loop turn waited for the upload's or the pod's budget (the storage
 * has two such waits, and only this point sees both).
 */
export interface SftpMetrics {
  request(op: string, status: string): void;
  transfer(direction: 'upload' | 'download', result: 'ok' | 'error' | 'aborted'): void;
  addTransferBytes(direction: 'upload' | 'download', bytes: number): void;
  /** A WRITE had to wait for a storage budget, so the channel stopped being read. */
  backpressurePause(): void;
}

export interface SftpSessionOptions {
  readonly storage: Storage;
  readonly jail: PathJail;
  /** Shown as owner in long names and recorded on uploads. */
  readonly username: string;
  readonly sessionId: string;
  readonly setstatMode: 'Error' | 'Ignore';
  readonly maxHandles?: number;
  /** statvfs@openssh.com reports this as the file system size; absent means a large free space. */
  readonly quotaBytes?: number;
  readonly metrics?: SftpMetrics;
  readonly log?: Logger;
  /** Per-user limits from the users table (`bandwidth`); 0 or absent = unlimited. */
  readonly uploadBytesPerSecond?: number;
  readonly downloadBytesPerSecond?: number;
  /** Pacers shared by all of a user's sessions (the SSH layer's per-user bandwidth); they win over the rates above. */
  readonly uploadPacer?: RateLimiter;
  readonly downloadPacer?: RateLimiter;
}

interface ReadHandle {
  readonly kind: 'read';
  readonly path: ResolvedPath;
  readonly source: ReadSource;
  bytes: number;
}
interface WriteHandle {
  readonly kind: 'write';
  readonly path: ResolvedPath;
  readonly sink: WriteSink;
  /** Set when copy-data replaced the upload by a server-side copy: CLOSE then has nothing to commit. */
  copied: boolean;
  /** A write failed: the upload is aborted and CLOSE must fail too. */
  failed?: string;
}
interface DirHandle {
  readonly kind: 'dir';
  readonly path: ResolvedPath;
  readonly pages: AsyncIterator<readonly FileInfo[]>;
  pending: FileInfo[];
  readonly mounts: Set<string>;
  done: boolean;
}
type Handle = ReadHandle | WriteHandle | DirHandle;

/** Entries per NAME reply: keeps a reply far below the 256 KiB message limit even with 1 KiB names. */
const NAMES_PER_REPLY = 100;
const DEFAULT_MAX_HANDLES = 64;

const OP_NAMES: Readonly<Record<number, string>> = {
  [PacketType.OPEN]: 'open',
  [PacketType.CLOSE]: 'close',
  [PacketType.READ]: 'read',
  [PacketType.WRITE]: 'write',
  [PacketType.LSTAT]: 'lstat',
  [PacketType.FSTAT]: 'fstat',
  [PacketType.SETSTAT]: 'setstat',
  [PacketType.FSETSTAT]: 'fsetstat',
  [PacketType.OPENDIR]: 'opendir',
  [PacketType.READDIR]: 'readdir',
  [PacketType.REMOVE]: 'remove',
  [PacketType.MKDIR]: 'mkdir',
  [PacketType.RMDIR]: 'rmdir',
  [PacketType.REALPATH]: 'realpath',
  [PacketType.STAT]: 'stat',
  [PacketType.RENAME]: 'rename',
  [PacketType.READLINK]: 'readlink',
  [PacketType.SYMLINK]: 'symlink',
  [PacketType.EXTENDED]: 'extended',
};

function unsupported(message: string): never {
  throw new SftpStatusError(Status.OP_UNSUPPORTED, message);
}

function denied(perm: Permission, path: string): never {
  throw new SftpStatusError(Status.PERMISSION_DENIED, `permission denied: ${perm} on ${path}`);
}

function need(perms: ReadonlySet<string>, perm: Permission, path: string): void {
  if (!perms.has(perm)) denied(perm, path);
}

/** A directory whose FileInfo is synthesised (the user's root, a logical directory entry). */
function syntheticDir(name: string): FileInfo {
  const now = Date.now();
  return { name, kind: 'directory', size: 0, mtimeMs: now, atimeMs: now };
}

export class SftpSession {
  readonly #channel: Duplex;
  readonly #o: SftpSessionOptions;
  readonly #log: Logger;
  readonly #decoder = new PacketDecoder({ reuseBuffer: true });
  readonly #handles = new Map<string, Handle>();
  readonly #abort = new AbortController();
  #busy = false;
  #eof = false;
  #closed = false;
  #initialised = false;
  #lastActivity = Date.now();
  readonly #done: Promise<void>;
  #resolveDone!: () => void;
  readonly #uploadPacer: RateLimiter | undefined;
  readonly #downloadPacer: RateLimiter | undefined;

  constructor(channel: Duplex, options: SftpSessionOptions) {
    this.#channel = channel;
    this.#o = options;
    this.#log = options.log ?? silentLogger;
    this.#uploadPacer = options.uploadPacer ?? pacerFor(options.uploadBytesPerSecond);
    this.#downloadPacer = options.downloadPacer ?? pacerFor(options.downloadBytesPerSecond);
    this.#done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    channel.on('data', (chunk: Buffer) => {
      this.#lastActivity = Date.now();
      this.#decoder.push(chunk);
      this.#schedule();
    });
    // The client's EOF ends the session once queued requests are answered: OpenSSH's sftp waits for our EOF.
    channel.on('end', () => {
      this.#eof = true;
      this.#schedule();
    });
    channel.on('close', () => void this.close('channel closed'));
    channel.on('error', (err: unknown) => {
      this.#log.warn('sftp channel error', { err });
      void this.close('channel error');
    });
  }

  /** Resolves when the session has ended and every handle was released (uploads without CLOSE aborted). */
  get done(): Promise<void> {
    return this.#done;
  }

  get lastActivity(): number {
    return this.#lastActivity;
  }

  /** Uploads open right now (used by the shutdown grace period). */
  get openUploads(): number {
    let n = 0;
    for (const h of this.#handles.values()) if (h.kind === 'write') n++;
    return n;
  }

  get openHandles(): number {
    return this.#handles.size;
  }

  /**
   * Ends the session: aborts uploads that were not CLOSEd (no object appears), closes downloads, ends the channel.
   * Idempotent; resolves when cleanup finished.
   */
  async close(reason: string): Promise<void> {
    if (this.#closed) return this.#done;
    this.#closed = true;
    this.#abort.abort(new Error(reason));
    const handles = [...this.#handles.values()];
    this.#handles.clear();
    await Promise.allSettled(handles.map((h) => this.#release(h, reason)));
    if (handles.length > 0) this.#log.info('sftp session ended with open handles', { reason, handles: handles.length });
    try {
      this.#channel.end();
    } catch {
      // already destroyed
    }
    this.#resolveDone();
    return this.#done;
  }

  async #release(h: Handle, reason: string): Promise<void> {
    if (h.kind === 'write') {
      await h.sink.abort(reason);
      if (!h.copied) this.#o.metrics?.transfer('upload', 'aborted');
    } else if (h.kind === 'read') {
      await h.source.close();
      this.#o.metrics?.transfer('download', 'aborted');
    }
  }

  /** Runs the pump; a failure there (never expected: every request's errors are answered) ends only this session. */
  #schedule(): void {
    this.#pump().catch((err: unknown) => {
      this.#log.error('sftp session failed', { err });
      void this.close('internal error');
    });
  }

  async #pump(): Promise<void> {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    this.#channel.pause();
    try {
      for (;;) {
        if (this.#closed) return;
        let packet: Packet | undefined;
        try {
          packet = this.#decoder.next();
        } catch (err) {
          this.#log.warn('sftp framing error, closing session', { err });
          await this.close('framing error');
          return;
        }
        if (!packet) break;
        await this.#dispatch(packet);
      }
    } finally {
      this.#busy = false;
    }
    if (this.#closed) return;
    if (this.#eof) {
      if (this.#decoder.bufferedBytes > 0) this.#log.warn('sftp client EOF inside a packet');
      await this.close('client EOF');
      return;
    }
    this.#channel.resume();
  }

  /** Writes one reply, waiting for the channel to drain first (don't read input while output is queued). */
  async #send(buf: Buffer): Promise<void> {
    if (this.#closed) return;
    if (!this.#channel.write(buf)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#channel.off('drain', done);
          this.#channel.off('close', done);
          resolve();
        };
        this.#channel.on('drain', done);
        this.#channel.on('close', done);
      });
    }
  }

  async #status(id: number, code: StatusCode, message: string, op: string): Promise<void> {
    this.#o.metrics?.request(op, STATUS_LABEL[code] ?? 'failure');
    await this.#send(
      new Writer(PacketType.STATUS, 32 + message.length).u32(id).u32(code).string(message).string('').finish(),
    );
  }

  async #reply(buf: Buffer, op: string): Promise<void> {
    this.#o.metrics?.request(op, 'ok');
    await this.#send(buf);
  }

  async #dispatch(packet: Packet): Promise<void> {
    if (packet.type === PacketType.INIT) {
      if (this.#initialised) {
        this.#log.warn('sftp duplicate INIT, closing session');
        await this.close('duplicate INIT');
        return;
      }
      this.#initialised = true;
      await this.#send(this.#version());
      return;
    }
    if (!this.#initialised) {
      this.#log.warn('sftp request before INIT, closing session', { type: packet.type });
      await this.close('request before INIT');
      return;
    }
    const r = new Reader(packet.body);
    if (r.remaining < 4) {
      // No request id to answer: the stream is not speaking SFTP.
      this.#log.warn('sftp packet without request id, closing session', { type: packet.type });
      await this.close('malformed packet');
      return;
    }
    const id = r.u32();
    const op = OP_NAMES[packet.type] ?? 'unknown';
    try {
      await this.#handle(packet.type, id, r, op);
    } catch (err) {
      const mapped = mapError(err);
      if (mapped.internal) this.#log.error('sftp request failed', { op, err });
      else this.#log.debug('sftp request refused', { op, status: mapped.code, message: mapped.message });
      await this.#status(id, mapped.code, mapped.message, op);
    }
  }

  #version(): Buffer {
    const w = new Writer(PacketType.VERSION, 256).u32(SFTP_VERSION);
    for (const [name, data] of [
      ['posix-rename@openssh.com', '1'],
      ['statvfs@openssh.com', '2'],
      ['fstatvfs@openssh.com', '2'],
      ['fsync@openssh.com', '1'],
      ['limits@openssh.com', '1'],
      ['copy-data', '1'],
    ] as const) {
      w.string(name).string(data);
    }
    return w.finish();
  }

  #resolve(r: Reader): ResolvedPath {
    // Raw bytes go to the jail: it alone decides what is a valid path (invalid UTF-8 and NUL are refused there).
    return this.#o.jail.resolve(r.bytes());
  }

  #handle_(r: Reader): Handle {
    const raw = r.bytes();
    const h = raw.length <= 64 ? this.#handles.get(raw.toString('latin1')) : undefined;
    // Handles are random per session: a forged, stale or another session's handle is simply not in this table.
    if (!h) throw new SftpStatusError(Status.FAILURE, 'invalid handle');
    return h;
  }

  #newHandle(h: Handle): Buffer {
    if (this.#handles.size >= (this.#o.maxHandles ?? DEFAULT_MAX_HANDLES)) {
      throw new SftpStatusError(
        Status.FAILURE,
        `too many open handles (limit ${this.#o.maxHandles ?? DEFAULT_MAX_HANDLES})`,
      );
    }
    let id: Buffer;
    do id = randomBytes(12);
    while (this.#handles.has(id.toString('latin1')));
    this.#handles.set(id.toString('latin1'), h);
    return id;
  }

  async #stat(p: ResolvedPath): Promise<FileInfo> {
    try {
      return await this.#o.storage.stat(p.key, this.#abort.signal);
    } catch (err) {
      // The user's root and logical directory entries exist whatever the bucket holds.
      if (p.isMountPoint) return syntheticDir(p.virtualPath);
      throw err;
    }
  }

  async #handle(type: number, id: number, r: Reader, op: string): Promise<void> {
    const s = this.#o.storage;
    const signal = this.#abort.signal;
    switch (type) {
      case PacketType.REALPATH: {
        const p = this.#resolve(r);
        // An optional control byte and compose path (v6) are not v3; ignore trailing bytes for client compatibility.
        const name = p.virtualPath;
        await this.#reply(
          new Writer(PacketType.NAME, 64 + name.length).u32(id).u32(1).string(name).string(name).attrs({}).finish(),
          op,
        );
        return;
      }
      case PacketType.STAT:
      case PacketType.LSTAT: {
        const p = this.#resolve(r);
        r.end();
        if (!p.isMountPoint) need(p.parentPermissions, 'list', p.virtualPath);
        const info = await this.#stat(p);
        await this.#reply(new Writer(PacketType.ATTRS, 48).u32(id).attrs(toAttrs(info)).finish(), op);
        return;
      }
      case PacketType.FSTAT: {
        const h = this.#handle_(r);
        r.end();
        let attrs: Attrs;
        if (h.kind === 'read') attrs = { size: h.source.size, permissions: FILE_MODE };
        else if (h.kind === 'write') attrs = { size: h.sink.bytesReceived, permissions: FILE_MODE };
        else attrs = toAttrs(await this.#stat(h.path));
        await this.#reply(new Writer(PacketType.ATTRS, 48).u32(id).attrs(attrs).finish(), op);
        return;
      }
      case PacketType.OPEN:
        await this.#open(id, r, op);
        return;
      case PacketType.CLOSE:
        await this.#close(id, r, op);
        return;
      case PacketType.READ: {
        const h = this.#handle_(r);
        const offset = r.u64();
        const length = Math.min(r.u32(), MAX_READ_LENGTH);
        r.end();
        if (h.kind !== 'read') throw new SftpStatusError(Status.FAILURE, 'handle is not open for reading');
        const data = await h.source.read(offset, length, signal);
        if (data.length === 0) {
          await this.#status(id, Status.EOF, 'end of file', op);
          return;
        }
        h.bytes += data.length;
        this.#o.metrics?.addTransferBytes('download', data.length);
        await this.#downloadPacer?.take(data.length, signal);
        // Header and payload are written separately: copying up to 255 KiB into a reply buffer per READ was a
        // measurable share of the download CPU (allocation + GC).
        const head = Buffer.allocUnsafe(13);
        head.writeUInt32BE(9 + data.length, 0);
        head[4] = PacketType.DATA;
        head.writeUInt32BE(id, 5);
        head.writeUInt32BE(data.length, 9);
        this.#o.metrics?.request(op, 'ok');
        if (!this.#closed) this.#channel.write(head);
        await this.#send(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
        return;
      }
      case PacketType.WRITE: {
        const h = this.#handle_(r);
        const offset = r.u64();
        const data = r.bytes();
        r.end();
        if (h.kind !== 'write') throw new SftpStatusError(Status.FAILURE, 'handle is not open for writing');
        if (h.failed) throw new SftpStatusError(Status.FAILURE, h.failed);
        if (h.copied) throw new SftpStatusError(Status.FAILURE, 'handle was the target of copy-data');
        try {
          let settled = false;
          const pending = h.sink.write(offset, data);
          pending.then(
            () => {
              settled = true;
            },
            () => {
              settled = true;
            },
          );
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (!settled) this.#o.metrics?.backpressurePause();
          await pending;
        } catch (err) {
          // The upload is lost: abort it now (frees the budget) and make CLOSE fail with the same reason.
          h.failed = mapError(err).message;
          await h.sink.abort(h.failed).catch(() => {});
          throw err;
        }
        this.#o.metrics?.addTransferBytes('upload', data.length);
        await this.#uploadPacer?.take(data.length, signal);
        await this.#status(id, Status.OK, '', op);
        return;
      }
      case PacketType.SETSTAT: {
        const p = this.#resolve(r);
        const attrs = r.attrs();
        r.end();
        need(p.permissions, 'setstat', p.virtualPath);
        const info = await this.#stat(p);
        this.#checkSetstat(attrs, info.kind, info.size);
        if (attrs.mtime !== undefined && attrs.atime !== undefined) {
          if (p.isMountPoint || info.kind === 'directory') {
            // Directories are prefixes: there is no object to carry the times. Accept silently like chmod in Ignore.
          } else {
            await s.setTimes(p.key, attrs.atime * 1000, attrs.mtime * 1000, signal);
          }
        }
        await this.#status(id, Status.OK, '', op);
        return;
      }
      case PacketType.FSETSTAT: {
        const h = this.#handle_(r);
        const attrs = r.attrs();
        r.end();
        need(h.path.permissions, 'setstat', h.path.virtualPath);
        if (h.kind === 'write') {
          this.#checkSetstat(attrs, 'file', h.sink.bytesReceived);
          if (attrs.mtime !== undefined && attrs.atime !== undefined) {
            h.sink.setTimes(attrs.atime * 1000, attrs.mtime * 1000);
          }
        } else if (h.kind === 'read') {
          this.#checkSetstat(attrs, 'file', h.source.size);
          if (attrs.mtime !== undefined && attrs.atime !== undefined) {
            await s.setTimes(h.path.key, attrs.atime * 1000, attrs.mtime * 1000, signal);
          }
        } else {
          this.#checkSetstat(attrs, 'directory', 0);
        }
        await this.#status(id, Status.OK, '', op);
        return;
      }
      case PacketType.OPENDIR: {
        const p = this.#resolve(r);
        r.end();
        need(p.permissions, 'list', p.virtualPath);
        const info = await this.#stat(p);
        if (info.kind !== 'directory') throw new SftpStatusError(Status.FAILURE, `not a directory: ${p.virtualPath}`);
        const mounts = this.#o.jail.mountsIn(p.virtualPath);
        const handle = this.#newHandle({
          kind: 'dir',
          path: p,
          pages: s.list(p.key, signal)[Symbol.asyncIterator](),
          pending: mounts.map((m) => syntheticDir(m)),
          mounts: new Set(mounts),
          done: false,
        });
        await this.#reply(new Writer(PacketType.HANDLE, 32).u32(id).bytes(handle).finish(), op);
        return;
      }
      case PacketType.READDIR: {
        const h = this.#handle_(r);
        r.end();
        if (h.kind !== 'dir') throw new SftpStatusError(Status.FAILURE, 'handle is not a directory');
        while (h.pending.length === 0 && !h.done) {
          const page = await h.pages.next();
          if (page.done) h.done = true;
          else h.pending.push(...page.value.filter((e) => !h.mounts.has(e.name)));
        }
        if (h.pending.length === 0) {
          await this.#status(id, Status.EOF, 'end of directory', op);
          return;
        }
        const batch = h.pending.splice(0, NAMES_PER_REPLY);
        const w = new Writer(PacketType.NAME, 8192).u32(id).u32(batch.length);
        const now = Date.now();
        for (const e of batch) {
          w.string(e.name)
            .string(longName(e, e.name, this.#o.username, now))
            .attrs(toAttrs(e));
        }
        await this.#reply(w.finish(), op);
        return;
      }
      case PacketType.REMOVE: {
        const p = this.#resolve(r);
        r.end();
        if (p.isMountPoint) denied('delete', p.virtualPath);
        need(p.parentPermissions, 'delete', p.virtualPath);
        await s.remove(p.key, signal);
        await this.#status(id, Status.OK, '', op);
        return;
      }
      case PacketType.MKDIR: {
        const p = this.#resolve(r);
        r.attrs();
        r.end();
        if (p.isMountPoint) throw new SftpStatusError(Status.FAILURE, `already exists: ${p.virtualPath}`);
        need(p.parentPermissions, 'mkdir', p.virtualPath);
        await s.mkdir(p.key, signal);
        await this.#status(id, Status.OK, '', op);
        return;
      }
      case PacketType.RMDIR: {
        const p = this.#resolve(r);
        r.end();
        if (p.isMountPoint) denied('delete', p.virtualPath);
        need(p.parentPermissions, 'delete', p.virtualPath);
        await s.rmdir(p.key, signal);
        await this.#status(id, Status.OK, '', op);
        return;
      }
      case PacketType.RENAME: {
        const from = this.#resolve(r);
        const to = this.#resolve(r);
        r.end();
        // SFTP v3 RENAME never replaces an existing target (posix-rename@openssh.com does).
        await this.#rename(from, to, false);
        await this.#status(id, Status.OK, '', op);
        return;
      }
      case PacketType.READLINK:
        unsupported('readlink is not supported: object storage has no symbolic links');
        return;
      case PacketType.SYMLINK:
        unsupported('symlink is not supported: object storage has no symbolic links');
        return;
      case PacketType.EXTENDED:
        await this.#extended(id, r);
        return;
      default:
        unsupported(`unsupported SFTP request type ${type}`);
    }
  }

  #checkSetstat(attrs: Attrs, kind: FileInfo['kind'], size: number): void {
    if (attrs.size !== undefined && (kind !== 'file' || attrs.size !== size)) {
      unsupported('truncate is not supported: an object can only be replaced as a whole');
    }
    const reported = kind === 'directory' ? DIR_MODE : FILE_MODE;
    // Setting the mode we already report (what `put -p` of a 0644 file sends) changes nothing and is accepted.
    const modeChange = attrs.permissions !== undefined && (attrs.permissions & 0o7777) !== (reported & 0o7777);
    if ((modeChange || attrs.uid !== undefined) && this.#o.setstatMode === 'Error') {
      unsupported('chmod/chown is not supported on object storage (setstatMode: Error)');
    }
  }

  async #open(id: number, r: Reader, op: string): Promise<void> {
    const p = this.#resolve(r);
    const flags = r.u32();
    const attrs = r.attrs();
    r.end();
    const s = this.#o.storage;
    const read = (flags & OpenFlags.READ) !== 0;
    const write = (flags & OpenFlags.WRITE) !== 0;
    if (read && write) unsupported('opening a file for both reading and writing is not supported on object storage');
    if (!read && !write) throw new SftpStatusError(Status.BAD_MESSAGE, 'open without READ or WRITE');
    let handle: Buffer;
    if (read) {
      need(p.permissions, 'download', p.virtualPath);
      const source = await s.openRead(p.key, this.#abort.signal);
      try {
        handle = this.#newHandle({ kind: 'read', path: p, source, bytes: 0 });
      } catch (err) {
        await source.close();
        throw err;
      }
    } else {
      if (flags & OpenFlags.APPEND) unsupported('append is not supported: an object can only be replaced as a whole');
      if (!(flags & (OpenFlags.CREAT | OpenFlags.TRUNC))) {
        unsupported('modifying an existing file in place is not supported: open with CREAT or TRUNC to replace it');
      }
      if (p.isMountPoint) throw new SftpStatusError(Status.FAILURE, `is a directory: ${p.virtualPath}`);
      need(p.parentPermissions, 'upload', p.virtualPath);
      const exclusive = (flags & OpenFlags.EXCL) !== 0;
      const sink = await s.openWrite(
        p.key,
        {
          overwrite: !exclusive && p.parentPermissions.has('overwrite'),
          user: this.#o.username,
          sessionId: this.#o.sessionId,
        },
        this.#abort.signal,
      );
      if (attrs.atime !== undefined && attrs.mtime !== undefined) sink.setTimes(attrs.atime * 1000, attrs.mtime * 1000);
      try {
        handle = this.#newHandle({ kind: 'write', path: p, sink, copied: false });
      } catch (err) {
        await sink.abort('too many open handles');
        throw err;
      }
    }
    await this.#reply(new Writer(PacketType.HANDLE, 32).u32(id).bytes(handle).finish(), op);
  }

  async #close(id: number, r: Reader, op: string): Promise<void> {
    const raw = r.bytes();
    r.end();
    const key = raw.toString('latin1');
    const h = this.#handles.get(key);
    if (!h) throw new SftpStatusError(Status.FAILURE, 'invalid handle');
    this.#handles.delete(key);
    if (h.kind === 'read') {
      await h.source.close();
      this.#o.metrics?.transfer('download', 'ok');
    } else if (h.kind === 'write') {
      if (h.copied) {
        await h.sink.abort('replaced by copy-data');
      } else if (h.failed) {
        this.#o.metrics?.transfer('upload', 'error');
        throw new SftpStatusError(Status.FAILURE, `upload failed, nothing was stored: ${h.failed}`);
      } else {
        try {
          await h.sink.commit(this.#abort.signal);
        } catch (err) {
          this.#o.metrics?.transfer('upload', 'error');
          await h.sink.abort('commit failed').catch(() => {});
          this.#log.warn('upload failed at CLOSE', { path: h.path.virtualPath, err });
          throw err;
        }
        this.#o.metrics?.transfer('upload', 'ok');
        this.#log.info('upload stored', { path: h.path.virtualPath, bytes: h.sink.bytesReceived });
      }
    }
    await this.#status(id, Status.OK, '', op);
  }

  async #rename(from: ResolvedPath, to: ResolvedPath, overwrite: boolean): Promise<void> {
    if (from.isMountPoint) denied('rename', from.virtualPath);
    if (to.isMountPoint) throw new SftpStatusError(Status.FAILURE, `target exists: ${to.virtualPath}`);
    need(from.parentPermissions, 'rename', from.virtualPath);
    need(to.parentPermissions, 'rename', to.virtualPath);
    if (overwrite) need(to.parentPermissions, 'overwrite', to.virtualPath);
    if (from.key === to.key) return;
    await this.#o.storage.rename(from.key, to.key, { overwrite }, this.#abort.signal);
  }

  async #extended(id: number, r: Reader): Promise<void> {
    const name = r.string();
    const op = name.length <= 64 && /^[a-z0-9@._-]+$/i.test(name) ? `ext:${name}` : 'ext:unknown';
    const known = new Set([
      'ext:posix-rename@openssh.com',
      'ext:statvfs@openssh.com',
      'ext:fstatvfs@openssh.com',
      'ext:fsync@openssh.com',
      'ext:limits@openssh.com',
      'ext:copy-data',
      'ext:hardlink@openssh.com',
    ]);
    const label = known.has(op) ? op : 'ext:unknown';
    try {
      switch (name) {
        case 'posix-rename@openssh.com': {
          const from = this.#resolve(r);
          const to = this.#resolve(r);
          r.end();
          await this.#rename(from, to, true);
          await this.#status(id, Status.OK, '', label);
          return;
        }
        case 'statvfs@openssh.com':
        case 'fstatvfs@openssh.com': {
          if (name === 'statvfs@openssh.com') this.#resolve(r);
          else this.#handle_(r);
          r.end();
          await this.#reply(this.#statvfs(id), label);
          return;
        }
        case 'fsync@openssh.com': {
          this.#handle_(r);
          r.end();
          // Durability on object storage is decided at CLOSE (it answers OK only once S3 confirmed the object);
          // fsync has nothing to flush earlier, and failing it would break `sftp -f`.
          await this.#status(id, Status.OK, '', label);
          return;
        }
        case 'limits@openssh.com': {
          r.end();
          const w = new Writer(PacketType.EXTENDED_REPLY, 40)
            .u32(id)
            .u64(MAX_MESSAGE_LENGTH)
            .u64(MAX_READ_LENGTH)
            .u64(MAX_WRITE_LENGTH)
            .u64(this.#o.maxHandles ?? DEFAULT_MAX_HANDLES);
          await this.#reply(w.finish(), label);
          return;
        }
        case 'copy-data':
          await this.#copyData(r);
          await this.#status(id, Status.OK, '', label);
          return;
        case 'hardlink@openssh.com':
          unsupported('hardlink is not supported: object storage has no links');
          return;
        default:
          unsupported(`unsupported extension ${op === 'ext:unknown' ? '' : name}`.trim());
      }
    } catch (err) {
      const mapped = mapError(err);
      if (mapped.internal) this.#log.error('sftp request failed', { op: label, err });
      await this.#status(id, mapped.code, mapped.message, label);
    }
  }

  #statvfs(id: number): Buffer {
    const frsize = 4096;
    // Without a quota, report 1 PiB free so clients never refuse an upload for lack of space.
    const blocks = Math.floor((this.#o.quotaBytes ?? 2 ** 50) / frsize);
    return new Writer(PacketType.EXTENDED_REPLY, 100)
      .u32(id)
      .u64(frsize) // f_bsize
      .u64(frsize) // f_frsize
      .u64(blocks) // f_blocks
      .u64(blocks) // f_bfree
      .u64(blocks) // f_bavail
      .u64(2 ** 32) // f_files
      .u64(2 ** 32) // f_ffree
      .u64(2 ** 32) // f_favail
      .u64(0) // f_fsid
      .u64(0) // f_flag
      .u64(255) // f_namemax
      .finish();
  }

  /** copy-data: a whole-file copy becomes one server-side copy (S3 CopyObject); partial copies are refused. */
  async #copyData(r: Reader): Promise<void> {
    const src = this.#handle_(r);
    const readOffset = r.u64();
    const readLength = r.u64();
    const dst = this.#handle_(r);
    const writeOffset = r.u64();
    r.end();
    if (src.kind !== 'read') throw new SftpStatusError(Status.FAILURE, 'copy-data source is not open for reading');
    if (dst.kind !== 'write') throw new SftpStatusError(Status.FAILURE, 'copy-data target is not open for writing');
    const whole = readOffset === 0 && writeOffset === 0 && (readLength === 0 || readLength >= src.source.size);
    if (!whole || dst.sink.bytesReceived > 0 || dst.copied) {
      unsupported('copy-data supports whole-file copies only (offset 0, to end of file, into an empty file)');
    }
    await this.#o.storage.copy(
      src.path.key,
      dst.path.key,
      { overwrite: dst.path.parentPermissions.has('overwrite') },
      this.#abort.signal,
    );
    dst.copied = true;
  }
}
