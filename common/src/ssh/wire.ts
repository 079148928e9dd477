// The SSH wire encoding (RFC 4251 §5): public key blobs, the openssh-key-v1 private key container, SFTP packets.
import { CodedError } from '../errors/coded-error.ts';

/** Encodes a `string` (uint32 length + bytes). */
export function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** Encodes an `mpint` from an unsigned big-endian magnitude (leading zeros stripped, 0x00 added if the top bit is set). */
export function sshMpint(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start++;
  let body = magnitude.subarray(start);
  if (body.length > 0 && ((body[0] ?? 0) & 0x80) !== 0) body = Buffer.concat([Buffer.from([0]), body]);
  return sshString(body);
}

export function sshUint32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A read past the end of a wire buffer, or trailing bytes where none may be. */
export class WireError extends CodedError<'SFTPGATE_SSH_WIRE'> {
  constructor(message: string) {
    super('SFTPGATE_SSH_WIRE', message);
  }
}

/**
 * Sequential, bounds-checked reader over a wire buffer. Every read throws (WireError, or what `fail` builds, so a
 * protocol layer can throw its own error class) instead of returning garbage; callers that prefer "undefined on
 * truncation" catch it once around the whole parse.
 */
export class WireReader {
  readonly #buf: Buffer;
  readonly #fail: (message: string) => Error;
  #pos = 0;

  constructor(buf: Buffer, fail: (message: string) => Error = (m) => new WireError(m)) {
    this.#buf = buf;
    this.#fail = fail;
  }

  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  #need(n: number, what: string): void {
    if (this.remaining < n) throw this.#fail(`truncated ${what}: need ${n} bytes, ${this.remaining} left`);
  }

  u8(): number {
    this.#need(1, 'byte');
    return this.#buf.readUInt8(this.#pos++);
  }

  u32(): number {
    this.#need(4, 'uint32');
    const v = this.#buf.readUInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }

  /** A uint64 as a number; values above 2^53 are refused (no file or offset is that large). */
  u64(): number {
    this.#need(8, 'uint64');
    const v = this.#buf.readBigUInt64BE(this.#pos);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.#fail('uint64 out of range (above 2^53)');
    this.#pos += 8;
    return Number(v);
  }

  /** A `string` as raw bytes (a view into the buffer, not a copy). */
  bytes(): Buffer {
    const len = this.u32();
    this.#need(len, 'string');
    const out = this.#buf.subarray(this.#pos, this.#pos + len);
    this.#pos += len;
    return out;
  }

  /** A `string` decoded as UTF-8; invalid UTF-8 is refused (names are compared byte-exactly downstream). */
  string(): string {
    const b = this.bytes();
    try {
      return utf8.decode(b);
    } catch {
      throw this.#fail('string is not valid UTF-8');
    }
  }

  /** Throws when bytes are left over (a message longer than its fields is malformed). */
  end(): void {
    if (this.remaining !== 0) throw this.#fail(`${this.remaining} trailing bytes`);
  }
}
