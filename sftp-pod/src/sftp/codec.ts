// SFTP packet framing and field codec. Parsing is strict: every read is bounds-checked and throws PacketError, which
// the session turns into SSH_FX_BAD_MESSAGE (when the request id is known) or a closed session (framing errors).
import { WireReader } from '../../../common/src/ssh/wire.ts';
import { AttrFlags, MAX_MESSAGE_LENGTH } from './constants.ts';

export class PacketError extends Error {
  readonly code = 'SFTPGATE_SFTP_BAD_PACKET';
  constructor(message: string) {
    super(message);
    this.name = 'PacketError';
  }
}

/** Framing violation: the byte stream cannot be trusted any more, so the session must close. */
export class FramingError extends Error {
  readonly code = 'SFTPGATE_SFTP_FRAMING';
  constructor(message: string) {
    super(message);
    this.name = 'FramingError';
  }
}

export interface Packet {
  readonly type: number;
  /** The payload after the type byte. */
  readonly body: Buffer;
}

/**
 * Splits the channel byte stream into packets. Holds at most one partial packet (<= 256 KiB + 4) plus the current
 * chunk; the caller pauses the channel while it processes, so this never grows with client speed.
 *
 * With `reuseBuffer`, a packet that spans several channel chunks is assembled in one scratch buffer kept by the
 * decoder (at most one message long) instead of a fresh allocation per packet: at 256 KiB WRITEs that allocation was
 * most of the session's garbage. The returned body is then valid only until the next call to next() — the session
 * finishes each request (the storage sink copies WRITE data before write() resolves) before decoding the next.
 */
export class PacketDecoder {
  #chunks: Buffer[] = [];
  #length = 0;
  readonly #reuse: boolean;
  #scratch: Buffer | undefined;

  constructor(options: { reuseBuffer?: boolean } = {}) {
    this.#reuse = options.reuseBuffer === true;
  }

  get bufferedBytes(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The next complete packet, or undefined when more bytes are needed. Throws FramingError on a bad length. */
  next(): Packet | undefined {
    if (this.#length < 4) return undefined;
    const len = this.#peekLength();
    if (len < 1) throw new FramingError('packet length 0');
    if (len > MAX_MESSAGE_LENGTH) throw new FramingError(`packet of ${len} bytes exceeds ${MAX_MESSAGE_LENGTH}`);
    if (this.#length < 4 + len) return undefined;
    const whole = this.#take(4 + len);
    return { type: whole[4] ?? 0, body: whole.subarray(5) };
  }

  #peekLength(): number {
    const first = this.#chunks[0];
    if (first && first.length >= 4) return first.readUInt32BE(0);
    const head = Buffer.alloc(4);
    let pos = 0;
    for (const c of this.#chunks) {
      const n = Math.min(4 - pos, c.length);
      c.copy(head, pos, 0, n);
      pos += n;
      if (pos === 4) break;
    }
    return head.readUInt32BE(0);
  }

  /** Removes and returns the first n bytes (a view into a chunk when possible, else one assembled buffer). */
  #take(n: number): Buffer {
    const first = this.#chunks[0];
    if (first && first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      this.#length -= n;
      return first.subarray(0, n);
    }
    let out: Buffer;
    if (this.#reuse) {
      if (!this.#scratch || this.#scratch.length < n) this.#scratch = Buffer.allocUnsafe(Math.max(n, 64 * 1024));
      out = this.#scratch.subarray(0, n);
    } else {
      out = Buffer.allocUnsafe(n);
    }
    let pos = 0;
    while (pos < n) {
      const c = this.#chunks[0];
      if (!c) break;
      const k = Math.min(n - pos, c.length);
      c.copy(out, pos, 0, k);
      pos += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#length -= n;
    return out;
  }
}

/** Bounds-checked reader over one packet body. */
export class Reader extends WireReader {
  constructor(buf: Buffer) {
    // The shared RFC 4251 reader (bounds-checked, fatal UTF-8, uint64 <= 2^53); its failures are SFTP bad messages.
    super(buf, (message) => new PacketError(message));
  }

  attrs(): Attrs {
    const flags = this.u32();
    const a: { size?: number; uid?: number; gid?: number; permissions?: number; atime?: number; mtime?: number } = {};
    if (flags & AttrFlags.SIZE) a.size = this.u64();
    if (flags & AttrFlags.UIDGID) {
      a.uid = this.u32();
      a.gid = this.u32();
    }
    if (flags & AttrFlags.PERMISSIONS) a.permissions = this.u32();
    if (flags & AttrFlags.ACMODTIME) {
      a.atime = this.u32();
      a.mtime = this.u32();
    }
    if (flags & AttrFlags.EXTENDED) {
      const n = this.u32();
      if (n > 64) throw new PacketError('too many extended attributes');
      for (let i = 0; i < n; i++) {
        this.bytes();
        this.bytes();
      }
    }
    return a;
  }
}

export interface Attrs {
  readonly size?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly permissions?: number;
  /** Seconds since the epoch. */
  readonly atime?: number;
  readonly mtime?: number;
}

/** Builds one outgoing packet; the length prefix is filled in by finish(). */
export class Writer {
  #buf: Buffer;
  #pos = 4;

  constructor(type: number, sizeHint = 64) {
    this.#buf = Buffer.allocUnsafe(Math.max(16, sizeHint + 5));
    this.u8(type);
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  u8(v: number): this {
    this.#ensure(1);
    this.#buf[this.#pos++] = v;
    return this;
  }

  u32(v: number): this {
    this.#ensure(4);
    this.#buf.writeUInt32BE(v >>> 0, this.#pos);
    this.#pos += 4;
    return this;
  }

  u64(v: number): this {
    this.#ensure(8);
    this.#buf.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(v))), this.#pos);
    this.#pos += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.u32(b.length);
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
    return this;
  }

  string(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  attrs(a: Attrs): this {
    let flags = 0;
    if (a.size !== undefined) flags |= AttrFlags.SIZE;
    if (a.uid !== undefined && a.gid !== undefined) flags |= AttrFlags.UIDGID;
    if (a.permissions !== undefined) flags |= AttrFlags.PERMISSIONS;
    if (a.atime !== undefined && a.mtime !== undefined) flags |= AttrFlags.ACMODTIME;
    this.u32(flags);
    if (a.size !== undefined) this.u64(a.size);
    if (a.uid !== undefined && a.gid !== undefined) this.u32(a.uid).u32(a.gid);
    if (a.permissions !== undefined) this.u32(a.permissions);
    if (a.atime !== undefined && a.mtime !== undefined) this.u32(a.atime).u32(a.mtime);
    return this;
  }

  finish(): Buffer {
    this.#buf.writeUInt32BE(this.#pos - 4, 0);
    return this.#buf.subarray(0, this.#pos);
  }
}
