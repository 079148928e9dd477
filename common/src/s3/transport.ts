// One HTTP exchange with S3 over a keep-alive connection pool per endpoint, shared by every client of the process
// (the per-login clients of the credential broker differ only in their credentials). TLS trusts Node's CA store,
// which includes NODE_EXTRA_CA_CERTS (the profile's CA bundle for a private endpoint). Bodies are written as given —
// one buffer or the part assembler's list of buffers, in slices — never joined or copied.

import { type ClientRequest, Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ResolvedTarget } from './endpoint.ts';

/** The AWS SDK's NodeHttpHandler default: 50 sockets per host. */
const MAX_SOCKETS = 50;

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

/** Closes every pooled connection (tests, shutdown). The pools are recreated on the next request. */
export function destroyPools(): void {
  for (const a of pools.values()) a.destroy();
  pools.clear();
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
  else void writeBody(req, body instanceof Uint8Array ? [body] : body);
  return promise;
}

/**
 * At most this much of a body is handed to the socket at a time. A TLS socket encrypts everything one write gives it
 * into its output buffer at once (and first joins a writev's buffers into one copy): an 8 MiB part written whole held
 * up to two more 8 MiB copies per request in flight until the socket drained — 28 MiB of the pod's upload peak at 4
 * parts in flight (docs/benchmarks.md, "Pod memory, session 18"). Slices are views, never copies.
 */
export const BODY_SLICE_BYTES = 256 * 1024;

/** Writes the body in slices, each after the socket took the previous one; a failed request ends the loop. */
async function writeBody(req: ClientRequest, chunks: readonly Uint8Array[]): Promise<void> {
  try {
    for (const chunk of chunks) {
      for (let at = 0; at < chunk.length; at += BODY_SLICE_BYTES) {
        const slice = chunk.subarray(at, Math.min(chunk.length, at + BODY_SLICE_BYTES));
        if (!req.write(slice) && !(await drained(req))) return;
      }
    }
    req.end();
  } catch {
    // The request failed while writing: its 'error' listener above rejects the exchange.
  }
}

/** True once the request can take more; false when it closed first (aborted or failed: nothing more to write). */
function drained(req: ClientRequest): Promise<boolean> {
  if (req.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const settle = (ok: boolean) => {
      req.off('drain', onDrain);
      req.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => settle(true);
    const onClose = () => settle(false);
    req.on('drain', onDrain);
    req.on('close', onClose);
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
