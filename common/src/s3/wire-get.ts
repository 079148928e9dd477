// One GET over a pooled keep-alive connection (wire-pool.ts) with our own HTTP/1.1 response reading: the ranged GETs
// of a download, whose bodies go straight from the socket's read buffer into the reader's buffer (WireBody.pump)
// without a Buffer, a parser callback, a stream push and a 'data' event per TLS record (docs/decisions.md, "Ranged
// GETs without node:http"). Only what S3 sends for a GET is read: a 2xx body needs a Content-Length and no
// Transfer-Encoding; an error answer is read for its XML when it has a length, else judged by its status alone.

import type { ResolvedTarget } from './endpoint.ts';
import { responseError } from './errors.ts';
import { parseResponseHead, type ResponseHead, WireResponseError } from './wire-head.ts';
import { type WireConnection, type WireListener, wirePoolFor } from './wire-pool.ts';

/** Error documents longer than this are not read (the status decides). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** What may go in a request line or header value: visible ASCII and spaces (no CR, LF, NUL). */
const SAFE_VALUE = /^[\x20-\x7e]*$/;
const SAFE_PATH = /^\/[\x21-\x7e]*$/;

export interface WireRequest {
  readonly target: ResolvedTarget;
  /** Path plus `?query` as sent. */
  readonly pathAndQuery: string;
  /** Lower-case names, signed. */
  readonly headers: Readonly<Record<string, string>>;
  readonly signal: AbortSignal | undefined;
  /** PEM roots to trust instead of Node's store. */
  readonly ca: string | undefined;
}

export interface WireResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: WireBody;
}

/** Receives a body: `src[start, end)` is valid only during the call (copy it). */
export type BytesSink = (src: Buffer, start: number, end: number) => void;

/**
 * A 2xx body of `length` bytes still arriving. `pump` delivers it once; a body not read to its end must be
 * destroyed (its connection cannot be reused).
 */
export class WireBody {
  readonly length: number;
  #received = 0;
  /** Bytes that came before `pump` (copies). */
  #early: Buffer[] = [];
  #sink: BytesSink | undefined;
  #pumped = false;
  #done: ((err?: Error) => void) | undefined;
  #outcome: { readonly err?: Error } | undefined;
  readonly #abandon: (err: Error) => void;

  constructor(length: number, abandon: (err: Error) => void) {
    this.length = length;
    this.#abandon = abandon;
  }

  /** Bytes still expected. */
  get remaining(): number {
    return this.length - this.#received;
  }

  /** Delivers the body to `sink`, then calls `done()` at its end or `done(err)` if it fails or is cut. Once. */
  pump(sink: BytesSink, done: (err?: Error) => void): void {
    if (this.#pumped) throw new Error('WireBody: pumped twice');
    this.#pumped = true;
    for (const b of this.#early) sink(b, 0, b.length);
    this.#early = [];
    if (this.#outcome !== undefined) {
      done(this.#outcome.err);
      return;
    }
    this.#sink = sink;
    this.#done = done;
  }

  /** Stops reading: the connection is closed; a pending `pump` ends with `err`. */
  destroy(err: Error = new Error('S3 response body abandoned')): void {
    if (this.#outcome !== undefined) return;
    this.#abandon(err);
    this.fail(err);
  }

  /** From the exchange: `src[start, end)` of the body (never more than `remaining`). */
  receive(src: Buffer, start: number, end: number): void {
    this.#received += end - start;
    if (this.#sink !== undefined) this.#sink(src, start, end);
    else this.#early.push(Buffer.from(src.subarray(start, end)));
    if (this.#received === this.length) this.#finish({});
  }

  fail(err: Error): void {
    this.#finish({ err });
  }

  #finish(outcome: { readonly err?: Error }): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = outcome;
    const done = this.#done;
    // The reader's callbacks (and the buffer they fill) are not kept past the body's end.
    this.#sink = undefined;
    this.#done = undefined;
    done?.(outcome.err);
  }
}

type State = 'head' | 'body' | 'error-body' | 'done';

/** One request/response on one connection; the connection's listener while it owns it. */
class WireExchange implements WireListener {
  readonly #r: WireRequest;
  readonly #resolve: (r: WireResponse) => void;
  readonly #reject: (err: unknown) => void;
  #conn: WireConnection | undefined;
  #state: State = 'head';
  /** Head bytes so far, when the head spans reads (a copy). */
  #head: Buffer | undefined;
  #parsed: ResponseHead | undefined;
  #body: WireBody | undefined;
  #errorBody: Buffer[] = [];
  #errorLeft = 0;
  readonly #onAbort = () => this.#conn?.destroy(this.#r.signal?.reason as Error);

  constructor(r: WireRequest, resolve: (r: WireResponse) => void, reject: (err: unknown) => void) {
    this.#r = r;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  async start(): Promise<void> {
    const { target, signal } = this.#r;
    const pool = wirePoolFor({
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      ca: this.#r.ca,
    });
    const head = requestHead(this.#r);
    this.#conn = await pool.acquire(this, signal);
    if (signal?.aborted) {
      this.#end(false, signal.reason);
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#conn.socket.write(head, 'latin1');
  }

  data(buf: Buffer, n: number): void {
    if (this.#state === 'body') this.#bodyBytes(buf, 0, n);
    else if (this.#state === 'error-body') this.#errorBytes(buf, 0, n);
    else if (this.#state === 'head') this.#headBytes(buf, n);
  }

  #headBytes(buf: Buffer, n: number): void {
    const data = this.#head === undefined ? buf.subarray(0, n) : Buffer.concat([this.#head, buf.subarray(0, n)]);
    let head: ResponseHead | undefined;
    try {
      head = parseResponseHead(data);
    } catch (err) {
      this.#end(false, err);
      return;
    }
    if (head === undefined) {
      this.#head = this.#head === undefined ? Buffer.from(data) : data;
      return;
    }
    this.#head = undefined;
    this.#parsed = head;
    this.#onHead(head, data, head.headBytes);
  }

  closed(err: Error): void {
    if (this.#state === 'body') this.#body?.fail(err);
    this.#end(false, err);
  }

  #onHead(head: ResponseHead, data: Buffer, from: number): void {
    const { status, contentLength } = head;
    if (status < 200) {
      this.#end(false, new WireResponseError(`unexpected ${status} answer`));
      return;
    }
    if (status < 300) {
      if (head.transferEncoded || contentLength === undefined) {
        this.#end(false, new WireResponseError('a GET body without Content-Length, or with Transfer-Encoding'));
        return;
      }
      const body = new WireBody(contentLength, (err) => this.#end(false, err));
      this.#body = body;
      this.#state = 'body';
      this.#resolve({ status, headers: head.headers, body });
      if (contentLength === 0) this.#bodyBytes(data, from, from);
      else if (from < data.length) this.#bodyBytes(data, from, data.length);
      return;
    }
    const bodiless = status === 304;
    if (!bodiless && (head.transferEncoded || contentLength === undefined || contentLength > MAX_ERROR_BODY_BYTES)) {
      this.#end(false, this.#error(status, ''));
      return;
    }
    this.#state = 'error-body';
    this.#errorLeft = bodiless ? 0 : (contentLength ?? 0);
    this.#errorBytes(data, from, data.length);
  }

  #bodyBytes(src: Buffer, start: number, end: number): void {
    const body = this.#body as WireBody;
    const take = Math.min(end - start, body.remaining);
    body.receive(src, start, start + take);
    if (body.remaining > 0) return;
    // Bytes past the announced length: the server is out of step with us, so the connection is not reused.
    this.#end(start + take === end && (this.#parsed?.keepAlive ?? false));
  }

  #errorBytes(src: Buffer, start: number, end: number): void {
    const take = Math.min(end - start, this.#errorLeft);
    if (take > 0) this.#errorBody.push(Buffer.from(src.subarray(start, start + take)));
    this.#errorLeft -= take;
    if (this.#errorLeft > 0) return;
    const text = Buffer.concat(this.#errorBody).toString('utf8');
    this.#end(start + take === end && (this.#parsed?.keepAlive ?? false), this.#error(this.#parsed?.status ?? 0, text));
  }

  #error(status: number, text: string): Error {
    return responseError(status, text, this.#parsed?.headers['x-amz-request-id']);
  }

  /** Ends the exchange once: gives the connection back (reused only when `reuse`) and settles the caller. */
  #end(reuse: boolean, err?: unknown): void {
    if (this.#state === 'done') return;
    const wasBody = this.#state === 'body';
    this.#state = 'done';
    this.#r.signal?.removeEventListener('abort', this.#onAbort);
    const conn = this.#conn;
    this.#conn = undefined;
    conn?.release(reuse);
    if (err !== undefined) {
      if (wasBody) this.#body?.fail(err as Error);
      else this.#reject(err);
    }
  }
}

/** The request head; throws TypeError for a path or header value that would break the framing. */
function requestHead(r: WireRequest): string {
  if (!SAFE_PATH.test(r.pathAndQuery)) throw new TypeError('request path with characters HTTP does not allow');
  let head = `GET ${r.pathAndQuery} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(r.headers)) {
    if (!SAFE_VALUE.test(value) || !SAFE_VALUE.test(name)) throw new TypeError(`header ${name}: invalid characters`);
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

/**
 * Sends a GET. Resolves once a 2xx head arrived (the body then streams into `body`); rejects with S3ResponseError
 * for another status, WireResponseError for a response it does not read, the connection's error (`code`
 * ECONNRESET when it closed early), or the signal's reason.
 */
export function wireGet(r: WireRequest): Promise<WireResponse> {
  const { promise, resolve, reject } = Promise.withResolvers<WireResponse>();
  const x = new WireExchange(r, resolve, reject);
  x.start().catch(reject);
  return promise;
}
