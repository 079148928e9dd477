// Raw SSH/SFTP clients for the hostile-user e2e tests (sftp-hostile-*.test.ts): ssh2's Client, driven where OpenSSH
// cannot produce the attack (ignoring the channel window, never reading replies, many channels per connection).
import { readdirSync, readFileSync } from 'node:fs';
import ssh2, { type ClientChannel, type ConnectConfig } from 'ssh2';

const { Client } = ssh2;
export type SshClient = InstanceType<typeof Client>;

export function connect(port: number, config: Partial<ConnectConfig>): Promise<SshClient> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.on('ready', () => resolve(c));
    c.on('error', reject);
    c.on('close', () => reject(new Error('closed before ready')));
    c.connect({ host: '127.0.0.1', port, readyTimeout: 20_000, ...config });
  });
}

/** Resolves with the error text when the login fails; throws when it succeeds. */
export async function loginFails(port: number, config: Partial<ConnectConfig>): Promise<string> {
  try {
    const c = await connect(port, config);
    c.end();
  } catch (err) {
    return String(err);
  }
  throw new Error('login unexpectedly succeeded');
}

export function closed(c: SshClient): Promise<number> {
  return new Promise((resolve) => c.on('close', () => resolve(Date.now())));
}

export function subsystem(c: SshClient): Promise<ClientChannel> {
  return new Promise((resolve, reject) => c.subsys('sftp', (err, ch) => (err ? reject(err) : resolve(ch))));
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const str = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u32(b.length), b]);
};
const packet = (type: number, ...parts: Buffer[]) => {
  const body = Buffer.concat([Buffer.from([type]), ...parts]);
  return Buffer.concat([u32(body.length), body]);
};

/** A hand-rolled SFTP v3 client on a raw channel: just what the attacks need. */
export class RawSftp {
  readonly channel: ClientChannel;
  #buf = Buffer.alloc(0);
  #waiters: Array<(p: Buffer) => void> = [];
  #id = 1;

  constructor(channel: ClientChannel) {
    this.channel = channel;
    channel.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      for (;;) {
        if (this.#buf.length < 4) return;
        const len = this.#buf.readUInt32BE(0);
        if (this.#buf.length < 4 + len) return;
        const p = this.#buf.subarray(4, 4 + len);
        this.#buf = this.#buf.subarray(4 + len);
        this.#waiters.shift()?.(p);
      }
    });
  }

  #reply(): Promise<Buffer> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async init(): Promise<void> {
    const r = this.#reply();
    this.channel.write(packet(1, u32(3)));
    await r;
  }

  /** REALPATH: a cheap request that proves the session still answers. */
  async realpath(path = '.'): Promise<void> {
    const r = this.#reply();
    this.channel.write(packet(16, u32(this.#id++), str(path)));
    const p = await r;
    if (p[0] !== 104) throw new Error(`realpath: reply type ${p[0]}`);
  }

  async openRead(path: string): Promise<Buffer> {
    const r = this.#reply();
    this.channel.write(packet(3, u32(this.#id++), str(path), u32(1), u32(0)));
    const p = await r;
    if (p[0] !== 102) throw new Error(`open: reply type ${p[0]}`);
    return p.subarray(9, 9 + p.readUInt32BE(5));
  }

  /** OPENDIR: the handle, or the server's status message as the error. */
  async opendir(path: string): Promise<Buffer> {
    const r = this.#reply();
    this.channel.write(packet(11, u32(this.#id++), str(path)));
    const p = await r;
    if (p[0] === 102) return p.subarray(9, 9 + p.readUInt32BE(5));
    const msgLen = p.length >= 13 ? p.readUInt32BE(9) : 0;
    throw new Error(`opendir: ${p.subarray(13, 13 + msgLen).toString()}`);
  }

  /** Sends READ requests and never waits for the replies. */
  readAhead(handle: Buffer, count: number, size = 255 * 1024): void {
    for (let i = 0; i < count; i++) {
      const off = Buffer.alloc(8);
      off.writeBigUInt64BE(BigInt(i * size));
      this.channel.write(packet(5, u32(this.#id++), str(handle), off, u32(size)));
    }
  }
}

/** Makes ssh2's client send regardless of the window the server granted (what a hostile client does). */
export function ignoreWindow(channel: ClientChannel): void {
  (channel as unknown as { outgoing: { window: number } }).outgoing.window = 2 ** 40;
}

/**
 * Grants the server a huge window on `channel` and stops reading the TCP connection: the server may send as much as
 * it likes and none of it is taken off the socket (what a client does to make the server queue replies).
 */
export function grantAndStopReading(c: SshClient, channel: ClientChannel): void {
  const internals = c as unknown as {
    _protocol: { channelWindowAdjust(id: number, amount: number): void };
    _sock: { pause(): void };
  };
  const ch = channel as unknown as { outgoing: { id: number } };
  internals._protocol.channelWindowAdjust(ch.outgoing.id, 2 ** 31);
  internals._sock.pause();
}

/** Resident set size of a process and its descendants (the test bed may start the pod under a wrapper), bytes. */
export function rssOf(pid: number): number {
  let total = 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    total += m ? Number(m[1]) * 1024 : 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) {
        total += rssOf(Number(child));
      }
    }
  } catch {
    // the process went away between the reads
  }
  return total;
}

export async function metricValue(metricsUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}}` : `${name} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Login config for a harness user with their key. */
export function withKey(keys: Readonly<Record<string, { privateKey: Buffer }>>, username: string, key = username) {
  const k = keys[key];
  if (!k) throw new Error(`no key ${key}`);
  return { username, privateKey: k.privateKey };
}
