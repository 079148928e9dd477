// The SSH wire encoding (RFC 4251 §5) used by public key blobs and the openssh-key-v1 private key container.

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

/** Sequential reader over a wire buffer; every read returns undefined instead of throwing on truncation. */
export class SshReader {
  #buf: Buffer;
  #pos = 0;
  constructor(buf: Buffer) {
    this.#buf = buf;
  }
  get remaining(): number {
    return this.#buf.length - this.#pos;
  }
  uint32(): number | undefined {
    if (this.remaining < 4) return undefined;
    const v = this.#buf.readUInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }
  string(): Buffer | undefined {
    if (this.remaining < 4) return undefined;
    const len = this.#buf.readUInt32BE(this.#pos);
    if (len > this.remaining - 4) return undefined;
    const out = this.#buf.subarray(this.#pos + 4, this.#pos + 4 + len);
    this.#pos += 4 + len;
    return out;
  }
}
