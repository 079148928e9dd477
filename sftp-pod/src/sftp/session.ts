// One SFTP v3 session on a raw subsystem channel: framing, ordering, backpressure, and dispatch through the request
// table (handler-table.ts). What each request needs is checked in access.ts, errors become a status in status-map.ts,
// replies are encoded in replies.ts, handles live in handles.ts and bandwidth pacing in pacer.ts.
//
// Requests are processed strictly one at a time, in arrival order, and the channel is paused while one is in
// progress. That single rule gives us three properties at once:
// - replies leave in request order (v3 allows any order, but ordered replies are what every client handles best);
// - WRITEs reach the storage sink in order, and a WRITE whose sink.write() promise is pending (upload or pod budget
//   full) stops reading the channel, so ssh2 stops sending window adjusts and the client's window closes;
// - memory held here is one packet (<= 256 KiB) plus the channel's readable buffer, whatever the client's speed.
// Clients still pipeline (OpenSSH keeps 64 requests outstanding); the pipeline simply sits in the SSH window.
import type { Duplex } from 'node:stream';
import { type AuditLog, type AuditSubject, abandonedUploadEvent, requestEvent } from '../audit/event.ts';
import type { PathJail, ResolvedPath } from '../storage/jail.ts';
import type { FileInfo, Storage } from '../storage/types.ts';
import { type Logger, silentLogger } from '../telemetry/log.ts';
import { checkAccess } from './access.ts';
import { type Packet, PacketDecoder, Reader } from './codec.ts';
import { PacketType, STATUS_LABEL, Status, type StatusCode } from './constants.ts';
import {
  type Args,
  type Handler,
  needsFor,
  type Responder,
  type SessionContext,
  type SftpMetrics,
  unsupportedEntry,
} from './handler.ts';
import { extensionHandler, requestHandler } from './handler-table.ts';
import { syntheticDir } from './handlers-paths.ts';
import { type Handle, type HandleBudget, HandleTable } from './handles.ts';
import type { UnsafeNames } from './names.ts';
import { pacerFor, type RateLimiter } from './pacer.ts';
import { dataHeader, statusReply, versionReply } from './replies.ts';
import { mapError, SftpStatusError } from './status-map.ts';

export type { SftpMetrics } from './handler.ts';

export interface SftpSessionOptions {
  readonly storage: Storage;
  readonly jail: PathJail;
  /** Shown as owner in long names and recorded on uploads. */
  readonly username: string;
  readonly sessionId: string;
  readonly setstatMode: 'Error' | 'Ignore';
  readonly maxHandles?: number;
  /** Shared by all of the user's sessions (the SSH layer's per-user cap); absent: only maxHandles applies. */
  readonly handleBudget?: HandleBudget;
  readonly metrics?: SftpMetrics;
  readonly log?: Logger;
  /** Per-user limits from the users table (`bandwidth`); 0 or absent = unlimited. */
  readonly uploadBytesPerSecond?: number;
  readonly downloadBytesPerSecond?: number;
  /** Creating names with control characters or backslashes (names.ts); default `Refuse`. */
  readonly unsafeNames?: UnsafeNames;
  /** Pacers shared by all of a user's sessions (the SSH layer's per-user bandwidth); they win over the rates above. */
  readonly uploadPacer?: RateLimiter;
  readonly downloadPacer?: RateLimiter;
  /** Audit trail (docs/audit.md): one event per audited request, written by the dispatch, never by handlers. */
  readonly audit?: { readonly log: AuditLog; readonly subject: AuditSubject };
}

/** An extension name as a log/metric label only when it looks like one; the client chose it. */
function safeExtensionName(name: string): string | undefined {
  return name.length <= 64 && /^[a-z0-9@._-]+$/i.test(name) ? name : undefined;
}

export class SftpSession {
  readonly #channel: Duplex;
  readonly #log: Logger;
  readonly #metrics: SftpMetrics | undefined;
  readonly #unsafeNames: UnsafeNames;
  readonly #decoder = new PacketDecoder({ reuseBuffer: true });
  readonly #handles: HandleTable;
  readonly #abort = new AbortController();
  readonly #ctx: SessionContext;
  readonly #audit: SftpSessionOptions['audit'];
  /** What every request's responder writes through: made once per session, not once per request. */
  readonly #out: ReplyOut;
  #busy = false;
  #eof = false;
  #closed = false;
  #initialised = false;
  #lastActivity = Date.now();
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  constructor(channel: Duplex, options: SftpSessionOptions) {
    this.#channel = channel;
    this.#log = options.log ?? silentLogger;
    this.#metrics = options.metrics;
    this.#unsafeNames = options.unsafeNames ?? 'Refuse';
    this.#audit = options.audit;
    this.#handles = new HandleTable(options.maxHandles, options.handleBudget);
    this.#out = {
      count: (op, status) => this.#metrics?.request(op, status),
      send: (buf) => this.#send(buf),
      sendData: (header, payload, written) => this.#sendData(header, payload, written),
    };
    const storage = options.storage;
    const signal = this.#abort.signal;
    this.#ctx = {
      storage,
      jail: options.jail,
      handles: this.#handles,
      signal,
      username: options.username,
      sessionId: options.sessionId,
      setstatMode: options.setstatMode,
      metrics: options.metrics,
      log: this.#log,
      uploadPacer: options.uploadPacer ?? pacerFor(options.uploadBytesPerSecond),
      downloadPacer: options.downloadPacer ?? pacerFor(options.downloadBytesPerSecond),
      async stat(p: ResolvedPath): Promise<FileInfo> {
        // The user's root and logical directory entries exist whatever the bucket holds: asking S3 (HeadObject, then
        // a listing) only costs two requests per `cd` — a whole session's share of the 2-per-small-file budget.
        if (p.isMountPoint) return syntheticDir(p.virtualPath);
        return storage.stat(p.key, signal);
      },
    };
    this.#done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    channel.on('data', (chunk: Buffer) => {
      this.#lastActivity = Date.now();
      this.#decoder.push(chunk);
      // A running pump takes the new bytes in its loop; starting another only to return made two promises per chunk.
      if (!this.#busy) this.#schedule();
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
    return this.#handles.uploads;
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
    const handles = this.#handles.drain();
    await Promise.allSettled(handles.map((h) => this.#release(h, reason)));
    if (handles.length > 0) this.#log.info('sftp session ended with open handles', { reason, handles: handles.length });
    try {
      // sshd reports a subsystem's exit status before closing; scp in SFTP mode (OpenSSH >= 9) fails without one.
      (this.#channel as Duplex & { exit?: (status: number) => void }).exit?.(reason === 'client EOF' ? 0 : 1);
      this.#channel.end();
    } catch {
      // already destroyed
    }
    this.#resolveDone();
    return this.#done;
  }

  async #release(h: Handle, reason: string): Promise<void> {
    if (h.kind === 'write') {
      // Kept resumable when the store can (storage/resume-open.ts), unless the user's access ended (revoked, changed,
      // expired: ssh/server.ts) — then aborted. No object appears either way.
      const accessEnded = reason.startsWith('user ') || reason === 'expired';
      await (h.copied || accessEnded || !h.sink.suspend ? h.sink.abort(reason) : h.sink.suspend(reason));
      if (!h.copied) this.#metrics?.transfer('upload', 'aborted');
      if (!h.copied && this.#audit) {
        this.#audit.log.emit(abandonedUploadEvent(h.path, h.sink.bytesReceived, reason, this.#audit.subject));
      }
    } else if (h.kind === 'read') {
      await h.source.close();
      this.#metrics?.transfer('download', 'aborted');
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
  #send(buf: Buffer): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#channel.write(buf) ? Promise.resolve() : this.#drained();
  }

  /**
   * Writes a DATA reply's header and payload as one channel write (corked: ssh2's `_writev` packs them into full
   * CHANNEL_DATA packets, so the 13-byte header rides in the payload's first packet instead of a packet of its own).
   */
  #sendData(header: Buffer, payload: Buffer, written: (() => void) | undefined): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const channel = this.#channel;
    let room: boolean;
    channel.cork();
    try {
      channel.write(header);
      room = channel.write(payload, written && ((err) => err == null && written()));
    } finally {
      channel.uncork();
    }
    return room ? Promise.resolve() : this.#drained();
  }

  /** Resolves once the channel drained (or closed). */
  #drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.#channel.off('drain', done);
        this.#channel.off('close', done);
        resolve();
      };
      this.#channel.on('drain', done);
      this.#channel.on('close', done);
    });
  }

  #responder(id: number, op: string): Responder {
    return new RequestResponder(id, op, this.#out);
  }

  async #dispatch(packet: Packet): Promise<void> {
    if (packet.type === PacketType.INIT) {
      if (this.#initialised) {
        this.#log.warn('sftp duplicate INIT, closing session');
        await this.close('duplicate INIT');
        return;
      }
      this.#initialised = true;
      await this.#send(versionReply());
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
    let op = packet.type === PacketType.EXTENDED ? 'extended' : 'unknown';
    let args: Args | undefined;
    let code: StatusCode = Status.OK;
    let message = '';
    try {
      const h = this.#lookup(packet.type, r);
      op = h.op;
      if (h.unsupported !== undefined) throw new SftpStatusError(Status.OP_UNSUPPORTED, h.unsupported);
      args = h.decode(r, this.#ctx);
      await checkAccess(needsFor(h, args), args, this.#ctx, { unsafeNames: this.#unsafeNames });
      await h.run(this.#ctx, this.#responder(id, op), args);
    } catch (err) {
      const mapped = mapError(err);
      code = mapped.code;
      message = mapped.message;
      if (mapped.internal) this.#log.error('sftp request failed', { op, err });
      else this.#log.debug('sftp request refused', { op, status: mapped.code, message: mapped.message });
      await this.#responder(id, op).status(mapped.code, mapped.message);
    }
    // The one audit point: the entry's op label, its decoded arguments and the status the client was given.
    if (this.#audit) {
      const event = requestEvent({ op, args, code, message }, this.#audit.subject);
      if (event) this.#audit.log.emit(event);
    }
  }

  /** The table entry for a request; an unknown type or extension gets an entry that answers OP_UNSUPPORTED. */
  #lookup(type: number, r: Reader): Handler {
    if (type !== PacketType.EXTENDED) {
      return requestHandler(type) ?? unsupportedEntry(type, 'unknown', false, `unsupported SFTP request type ${type}`);
    }
    const name = r.string();
    const shown = safeExtensionName(name);
    return (
      extensionHandler(name) ??
      unsupportedEntry(name, 'ext:unknown', false, shown ? `unsupported extension ${shown}` : 'unsupported extension')
    );
  }
}

/** The session's reply path as a request's responder sees it. */
interface ReplyOut {
  count(op: string, status: string): void;
  /** Writes a reply, waiting for the channel to drain first. */
  send(buf: Buffer): Promise<void>;
  /** Writes a DATA reply (header and payload together), waiting for the channel to drain first. */
  sendData(header: Buffer, payload: Buffer, written?: () => void): Promise<void>;
}

/** Answers one request: one reply, counted under the entry's op label. Methods, so a request allocates no closures. */
class RequestResponder implements Responder {
  readonly id: number;
  readonly #op: string;
  readonly #out: ReplyOut;

  constructor(id: number, op: string, out: ReplyOut) {
    this.id = id;
    this.#op = op;
    this.#out = out;
  }

  status(code: StatusCode, message: string): Promise<void> {
    this.#out.count(this.#op, STATUS_LABEL[code] ?? 'failure');
    return this.#out.send(statusReply(this.id, code, message));
  }

  ok(): Promise<void> {
    return this.status(Status.OK, '');
  }

  send(reply: Buffer): Promise<void> {
    this.#out.count(this.#op, 'ok');
    return this.#out.send(reply);
  }

  data(payload: Uint8Array, written?: () => void): Promise<void> {
    this.#out.count(this.#op, 'ok');
    return this.#out.sendData(
      dataHeader(this.id, payload.length),
      Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      written,
    );
  }
}
