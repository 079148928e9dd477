// A minimal SFTP v3 client over any duplex stream, for tests: it sends raw packets (so tests can send malformed
// ones) and collects replies by request id.
import type { Duplex } from 'node:stream';
import { type Attrs, PacketDecoder, Reader, Writer } from '../codec.ts';
import { PacketType } from '../constants.ts';

export interface Reply {
  readonly type: number;
  readonly id: number;
  readonly body: Reader;
}

export interface StatusReply {
  readonly code: number;
  readonly message: string;
}

export class TestSftpClient {
  readonly #stream: Duplex;
  readonly #decoder = new PacketDecoder();
  readonly #waiting = new Map<number, (r: Reply) => void>();
  #version: ((r: Reader) => void) | undefined;
  #nextId = 1;
  ended = false;
  readonly closed: Promise<void>;

  constructor(stream: Duplex) {
    this.#stream = stream;
    this.closed = new Promise((resolve) => {
      stream.on('end', () => {
        this.ended = true;
        resolve();
      });
      stream.on('close', () => {
        this.ended = true;
        resolve();
      });
    });
    stream.on('error', () => {});
    stream.on('data', (chunk: Buffer) => {
      this.#decoder.push(chunk);
      for (let p = this.#decoder.next(); p; p = this.#decoder.next()) {
        const r = new Reader(p.body);
        if (p.type === PacketType.VERSION) {
          this.#version?.(r);
          continue;
        }
        const id = r.u32();
        this.#waiting.get(id)?.({ type: p.type, id, body: r });
        this.#waiting.delete(id);
      }
    });
  }

  sendRaw(buf: Buffer): void {
    this.#stream.write(buf);
  }

  async init(): Promise<Map<string, string>> {
    const got = new Promise<Reader>((resolve) => {
      this.#version = resolve;
    });
    this.sendRaw(new Writer(PacketType.INIT).u32(3).finish());
    const r = await got;
    r.u32();
    const ext = new Map<string, string>();
    while (r.remaining > 0) ext.set(r.string(), r.string());
    return ext;
  }

  /** Sends a request built by `build` (after type and id) and waits for its reply. */
  request(type: number, build: (w: Writer) => void): Promise<Reply> {
    const id = this.#nextId++;
    const w = new Writer(type).u32(id);
    build(w);
    const reply = new Promise<Reply>((resolve) => this.#waiting.set(id, resolve));
    this.sendRaw(w.finish());
    return reply;
  }

  static status(r: Reply): StatusReply {
    if (r.type !== PacketType.STATUS) throw new Error(`expected STATUS, got ${r.type}`);
    const code = r.body.u32();
    return { code, message: r.body.string() };
  }

  async open(path: string, flags: number, attrs: Attrs = {}): Promise<Buffer | StatusReply> {
    const r = await this.request(PacketType.OPEN, (w) => w.string(path).u32(flags).attrs(attrs));
    return r.type === PacketType.HANDLE ? Buffer.from(r.body.bytes()) : TestSftpClient.status(r);
  }

  async write(handle: Buffer, offset: number, data: Buffer): Promise<StatusReply> {
    return TestSftpClient.status(await this.request(PacketType.WRITE, (w) => w.bytes(handle).u64(offset).bytes(data)));
  }

  async close(handle: Buffer): Promise<StatusReply> {
    return TestSftpClient.status(await this.request(PacketType.CLOSE, (w) => w.bytes(handle)));
  }

  async read(handle: Buffer, offset: number, length: number): Promise<Buffer | StatusReply> {
    const r = await this.request(PacketType.READ, (w) => w.bytes(handle).u64(offset).u32(length));
    return r.type === PacketType.DATA ? Buffer.from(r.body.bytes()) : TestSftpClient.status(r);
  }

  async pathOp(type: number, path: string): Promise<Reply> {
    return this.request(type, (w) => w.string(path));
  }

  end(): void {
    this.#stream.end();
  }
}
