// One HTTP exchange with S3 over a keep-alive connection pool per endpoint, shared by every client of the process
// (the per-login clients of the credential broker differ only in their credentials). TLS trusts Node's CA store,
// which includes NODE_EXTRA_CA_CERTS (the profile's CA bundle for a private endpoint). Bodies are written as given —
// one buffer or the part assembler's list of buffers, in 256 KiB views with backpressure — never joined or copied.

import { type ClientRequest, Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ResolvedTarget } from './endpoint.ts';

/** Largest single write of a request body (views, never copies). */
const WRITE_SLICE_BYTES = 256 * 1024;

/** The AWS SDK's NodeHttpHandler default: 50 sockets per host. */
export const MAX_SOCKETS = 50;

const pools = new Map<string, HttpAgent>();

/**
 * The shared keep-alive agent for `poolKey`'s endpoint. `ca` (PEM) replaces the trusted roots for that pool (tests
 * with a private CA in process); without it TLS trusts Node's store plus NODE_EXTRA_CA_CERTS.
 */
export function agentFor(poolKey: string, protocol: 'http:' | 'https:', ca?: string): HttpAgent {
  const key = ca === undefined ? poolKey : `${poolKey}\0${ca}`;
  let agent = pools.get(key);
  if (agent === undefined) {
    const options = { keepAlive: true, maxSockets: MAX_SOCKETS, scheduling: 'lifo' as const };
    agent =
      protocol === 'https:'
        ? new HttpsAgent({ ...options, ...(ca === undefined ? {} : { ca }) })
        : new HttpAgent(options);
    pools.set(key, agent);
  }
  return agent;
}

export type Body = Uint8Array | readonly Uint8Array[] | undefined;

export interface Exchange {
  readonly method: string;
  readonly target: ResolvedTarget;
  /** Path plus `?query` as sent. */
  readonly pathAndQuery: string;
  readonly headers: Record<string, string>;
  readonly body: Body;
  readonly agent: HttpAgent;
  readonly signal: AbortSignal | undefined;
}

/** Sends the request; resolves with the response once its headers arrived (the body is the caller's to read). */
export function exchange(x: Exchange): Promise<IncomingMessage> {
  const { promise, resolve, reject } = Promise.withResolvers<IncomingMessage>();
  const send = x.target.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = send({
    method: x.method,
    hostname: x.target.hostname,
    port: x.target.port,
    path: x.pathAndQuery,
    headers: x.headers,
    agent: x.agent,
    ...(x.signal ? { signal: x.signal } : {}),
  });
  req.once('response', resolve);
  req.once('error', reject);
  const body = x.body;
  if (body === undefined) req.end();
  else if (body instanceof Uint8Array && body.byteLength <= WRITE_SLICE_BYTES) req.end(body);
  else void writeSliced(req, body instanceof Uint8Array ? [body] : body);
  return promise;
}

/**
 * Writes the body in views of at most WRITE_SLICE_BYTES, waiting for 'drain' when the socket is full. One write of a
 * whole part makes TLS encrypt all of it into its output buffer at once: +35 MiB RSS with 4 parts of 8 MiB in flight,
 * against +7 MiB sliced, for the same CPU (measured by podmem, docs/benchmarks.md "Lean S3 client").
 */
async function writeSliced(req: ClientRequest, chunks: readonly Uint8Array[]): Promise<void> {
  for (const chunk of chunks) {
    for (let off = 0; off < chunk.byteLength; off += WRITE_SLICE_BYTES) {
      if (req.destroyed) return;
      if (!req.write(chunk.subarray(off, off + WRITE_SLICE_BYTES))) await drained(req);
    }
  }
  if (!req.destroyed) req.end();
}

/** Resolves on 'drain', or on 'close' (a failed request: the caller sees its 'error'); leaves no listener behind. */
function drained(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}

/** The whole (small) response body as text. Rejects when the connection fails mid-body. */
export async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads and discards the body so the connection returns to the pool. */
export function drain(res: IncomingMessage): void {
  res.resume();
}
