// Keep-alive connections of the ranged-GET path (wire-get.ts), one pool per S3 host, shared by every client of the
// process. Each socket reads into one buffer of its own (net/tls `onread`), so the bytes of a body never become a
// fresh Buffer and ArrayBuffer per TLS record (<= 16 KiB) as they do through node:http — that garbage and its
// external-memory pressure were the largest part of the download's GC cost (docs/benchmarks.md, "S3 download path,
// session 19"). TLS trusts Node's CA store (with NODE_EXTRA_CA_CERTS) unless `ca` is given, like transport.ts.

import { isIP, connect as netConnect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
// The keep-alive pool's limit per host: the same as transport.ts's agents (the AWS SDK's default).
import { MAX_SOCKETS } from './transport.ts';

/** One socket read at most this much; TLS delivers <= 16 KiB per record anyway. */
const READ_BUFFER_BYTES = 64 * 1024;
/** An idle connection is closed after this long (S3 closes idle ones itself after ~20 s). */
const IDLE_MS = 15_000;

export interface WireHost {
  readonly protocol: 'http:' | 'https:';
  readonly hostname: string;
  readonly port: number;
  /** PEM roots to trust instead of Node's store. */
  readonly ca?: string | undefined;
}

/** What a connection's owner (one exchange at a time) is told. */
export interface WireListener {
  /** Bytes read: `buf[0, n)`, valid only during the call (the buffer is read into again). */
  data(buf: Buffer, n: number): void;
  /** The connection closed or failed while this listener owned it. */
  closed(err: Error): void;
}

/** Node's error for a connection closed before the answer ended (retried before a body is handed out). */
export function connectionClosed(): Error {
  return Object.assign(new Error('S3 closed the connection'), { code: 'ECONNRESET' });
}

export class WireConnection {
  readonly socket: Socket | TLSSocket;
  #listener: WireListener | undefined;
  #failure: Error | undefined;
  #pool: WirePool;

  constructor(pool: WirePool, host: WireHost, session: Buffer | undefined, onConnect: () => void) {
    this.#pool = pool;
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const onread = {
      buffer,
      callback: (n: number) => {
        this.#read(n, buffer);
        return true;
      },
    };
    const options = { host: host.hostname, port: host.port, onread };
    this.socket =
      host.protocol === 'https:'
        ? tlsConnect(
            {
              ...options,
              ...(isIP(host.hostname) === 0 ? { servername: host.hostname } : {}),
              ...(host.ca === undefined ? {} : { ca: host.ca }),
              ...(session === undefined ? {} : { session }),
            },
            onConnect,
          )
        : netConnect(options, onConnect);
    this.socket.setNoDelay(true);
    if (host.protocol === 'https:') this.socket.on('session', (s: Buffer) => pool.rememberSession(s));
    this.socket.on('error', (err) => {
      this.#failure ??= err;
    });
    this.socket.on('close', () => this.#closed());
    // Armed only while idle (WirePool.idle).
    this.socket.on('timeout', () => {
      if (this.#listener === undefined) this.destroy();
    });
  }

  get usable(): boolean {
    return !this.socket.destroyed && this.#failure === undefined;
  }

  /** Takes the connection for one exchange. */
  own(listener: WireListener): void {
    this.#listener = listener;
    this.socket.setTimeout(0);
    this.socket.ref();
  }

  /** Gives the connection back: to the pool when `reuse`, else closed. */
  release(reuse: boolean): void {
    this.#listener = undefined;
    if (reuse && this.usable) this.#pool.idle(this);
    else this.destroy();
    this.#pool.released();
  }

  destroy(err?: Error): void {
    if (err !== undefined) this.#failure ??= err;
    this.socket.destroy();
  }

  #read(n: number, buf: Buffer): void {
    const l = this.#listener;
    // Bytes nobody asked for (an idle connection): the stream is out of step, never reuse it.
    if (l === undefined) this.destroy();
    else l.data(buf, n);
  }

  #closed(): void {
    const l = this.#listener;
    this.#listener = undefined;
    this.#pool.forget(this);
    l?.closed(this.#failure ?? connectionClosed());
  }
}

export class WirePool {
  readonly #host: WireHost;
  readonly #idle: WireConnection[] = [];
  readonly #waiting: Array<() => void> = [];
  #session: Buffer | undefined;
  /** Connections owned by an exchange or connecting. */
  #active = 0;

  constructor(host: WireHost) {
    this.#host = host;
  }

  /**
   * A connected socket for one exchange (a live idle one first, most recent first), waiting while MAX_SOCKETS are
   * in use. Rejects with the connect error, or the signal's reason.
   */
  async acquire(listener: WireListener, signal: AbortSignal | undefined): Promise<WireConnection> {
    while (this.#active >= MAX_SOCKETS) await this.#turn(signal);
    signal?.throwIfAborted();
    this.#active++;
    for (let c = this.#idle.pop(); c !== undefined; c = this.#idle.pop()) {
      if (!c.usable) continue;
      c.own(listener);
      return c;
    }
    try {
      return await this.#connect(listener, signal);
    } catch (err) {
      this.released();
      throw err;
    }
  }

  /** Waits for a connection to be released; rejects with the signal's reason if it fires first. */
  #turn(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(wake);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal?.reason);
      };
      this.#waiting.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #connect(listener: WireListener, signal: AbortSignal | undefined): Promise<WireConnection> {
    const { promise, resolve, reject } = Promise.withResolvers<WireConnection>();
    const onAbort = () => c.destroy(signal?.reason as Error);
    // Removed once connected: a listener left on the pooled socket would keep this first exchange (and the reader's
    // buffer behind its body) reachable for the socket's whole life.
    const onClose = () => {
      signal?.removeEventListener('abort', onAbort);
      reject(signal?.aborted ? signal.reason : (c.socket.errored ?? connectionClosed()));
    };
    const c = new WireConnection(this, this.#host, this.#session, () => {
      signal?.removeEventListener('abort', onAbort);
      c.socket.off('close', onClose);
      c.own(listener);
      resolve(c);
    });
    c.socket.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    return promise;
  }

  rememberSession(session: Buffer): void {
    this.#session = session;
  }

  idle(c: WireConnection): void {
    this.#idle.push(c);
    c.socket.setTimeout(IDLE_MS);
    c.socket.unref();
  }

  forget(c: WireConnection): void {
    const i = this.#idle.indexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  released(): void {
    this.#active--;
    this.#waiting.shift()?.();
  }
}

const pools = new Map<string, WirePool>();

/** The shared pool for `host` (one per protocol, host, port and trusted roots). */
export function wirePoolFor(host: WireHost): WirePool {
  const key = `${host.protocol}//${host.hostname}:${host.port}${host.ca === undefined ? '' : `\0${host.ca}`}`;
  let pool = pools.get(key);
  if (pool === undefined) {
    pool = new WirePool(host);
    pools.set(key, pool);
  }
  return pool;
}
