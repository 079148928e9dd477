// A fault-injecting HTTP proxy in front of a real S3 endpoint (MinIO) — the one fake the test bed allows. It forwards
// every request byte for byte (SigV4 stays valid: the Host header is passed through and only unsigned hop-by-hop
// headers are dropped), recognises the S3 operation from method, query and headers, and can, per operation:
// answer 5xx with an S3 error body, stall (read the request, never answer), drop the connection, answer 200 with an
// error body (the CompleteMultipartUpload failure mode S3 documents), delay, throttle the request body, or rewrite
// response headers (to show an archive storage class MinIO itself refuses to store).

import { once } from 'node:events';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { listenOnLoopback } from './loopback-server.ts';

export type S3Operation =
  | 'PutObject'
  | 'CopyObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'DeleteObjects'
  | 'ListObjectsV2'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListMultipartUploads'
  | 'ListParts'
  | 'Other';

export type Fault =
  /** Answer with this status and an S3 XML error body (not forwarded). */
  | { readonly kind: 'status'; readonly status: number; readonly code?: string }
  /** Read the request, never answer (the client's timeout must fire). */
  | { readonly kind: 'stall' }
  /** Destroy the connection once the request head arrived. */
  | { readonly kind: 'drop' }
  /** Answer 200 whose body is an S3 <Error> (not forwarded); `trailer` is appended after `</Error>`. */
  | { readonly kind: 'ok-with-error'; readonly code?: string; readonly trailer?: string }
  /** Forward after a pause. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Forward, feeding the request body upstream at this rate (a slow S3 link). */
  | { readonly kind: 'throttle'; readonly bytesPerSecond: number }
  /** Forward, then set these response headers (e.g. an archive `x-amz-storage-class` MinIO cannot store). */
  | { readonly kind: 'response-headers'; readonly headers: Readonly<Record<string, string>> };

export interface FaultRule {
  readonly op: S3Operation;
  readonly fault: Fault;
  /** How many matching requests it applies to (default: all). */
  readonly times?: number;
}

export interface ProxiedRequest {
  readonly op: S3Operation;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The fault applied, if any. */
  readonly fault?: Fault['kind'];
}

export interface FaultProxy {
  /** http://127.0.0.1:<port> — use as the S3 endpoint (path style). */
  readonly url: string;
  /** Adds a rule; rules are tried in the order added, the first with times left applies. */
  inject(rule: FaultRule): void;
  /** Removes every rule (requests in a stall stay stalled until their client gives up). */
  clear(): void;
  /** Requests seen (optionally of one operation), faulted or not. */
  count(op?: S3Operation): number;
  /** The most recent requests (up to 2,000), oldest first. */
  readonly log: readonly ProxiedRequest[];
  /** Closes the listener and every connection. Idempotent. */
  close(): Promise<void>;
}

// Never forwarded: hop-by-hop, and `expect` (this server already answered 100-continue). None is SigV4-signed.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

/** The S3 operation of a path-style request. */
export function classifyS3Request(method: string, rawUrl: string, headers: IncomingMessage['headers']): S3Operation {
  const url = new URL(rawUrl, 'http://proxy');
  const q = url.searchParams;
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const hasKey = segments.length > 1;
  const copy = headers['x-amz-copy-source'] !== undefined;
  switch (method) {
    case 'POST':
      if (q.has('uploads')) return 'CreateMultipartUpload';
      if (q.has('uploadId')) return 'CompleteMultipartUpload';
      if (q.has('delete')) return 'DeleteObjects';
      return 'Other';
    case 'PUT':
      if (q.has('partNumber') && q.has('uploadId')) return copy ? 'UploadPartCopy' : 'UploadPart';
      if (hasKey) return copy ? 'CopyObject' : 'PutObject';
      return 'Other';
    case 'DELETE':
      if (q.has('uploadId')) return 'AbortMultipartUpload';
      return hasKey ? 'DeleteObject' : 'Other';
    case 'GET':
      if (!hasKey) {
        if (q.has('uploads')) return 'ListMultipartUploads';
        if (q.get('list-type') === '2') return 'ListObjectsV2';
        return 'Other';
      }
      return q.has('uploadId') ? 'ListParts' : 'GetObject';
    case 'HEAD':
      return hasKey ? 'HeadObject' : 'Other';
    default:
      return 'Other';
  }
}

function errorXml(code: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>injected by the test fault proxy</Message>` +
    '<RequestId>FAULTPROXY</RequestId><HostId>fault-proxy</HostId></Error>'
  );
}

/** Starts the proxy on a random loopback port in front of `target` (e.g. minio.endpoint). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const rules: { rule: FaultRule; left: number }[] = [];
  const counts = new Map<S3Operation, number>();
  const log: ProxiedRequest[] = [];

  const pick = (op: S3Operation): Fault | undefined => {
    for (const r of rules) {
      if (r.rule.op === op && r.left > 0) {
        r.left--;
        return r.rule.fault;
      }
    }
    return undefined;
  };

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    bytesPerSecond?: number,
    setHeaders?: Readonly<Record<string, string>>,
  ) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    const up = httpRequest({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers,
    });
    up.on('response', (upRes) => {
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(upRes.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
      }
      for (const [name, value] of Object.entries(setHeaders ?? {})) out[name.toLowerCase()] = value;
      res.writeHead(upRes.statusCode ?? 502, out);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    if (bytesPerSecond === undefined) {
      req.pipe(up);
      return;
    }
    void (async () => {
      // Pace by the clock, not per chunk: sleep whenever we are ahead of `bytesPerSecond` since the start.
      const started = Date.now();
      let sent = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        if (!up.write(chunk)) await once(up, 'drain');
        sent += chunk.length;
        const ahead = (sent / bytesPerSecond) * 1000 - (Date.now() - started);
        if (ahead > 0) await sleep(ahead);
      }
      up.end();
    })().catch(() => up.destroy());
  };

  const server: Server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const op = classifyS3Request(method, req.url ?? '/', req.headers);
    counts.set(op, (counts.get(op) ?? 0) + 1);
    const fault = pick(op);
    log.push({
      op,
      method,
      path: req.url ?? '/',
      headers: { ...req.headers },
      ...(fault === undefined ? {} : { fault: fault.kind }),
    });
    if (log.length > 2000) log.shift();
    if (fault === undefined) return forward(req, res);
    switch (fault.kind) {
      case 'status': {
        req.resume();
        req.on('end', () => {
          const body = method === 'HEAD' ? '' : errorXml(fault.code ?? 'InternalError');
          res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        });
        return;
      }
      case 'stall':
        req.resume();
        return;
      case 'drop':
        req.socket.destroy();
        return;
      case 'ok-with-error': {
        req.resume();
        req.on('end', () => {
          const body = errorXml(fault.code ?? 'InternalError') + (fault.trailer ?? '');
          res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        });
        return;
      }
      case 'delay':
        req.pause();
        setTimeout(() => forward(req, res), fault.ms);
        return;
      case 'throttle':
        return forward(req, res, fault.bytesPerSecond);
      case 'response-headers':
        return forward(req, res, undefined, fault.headers);
    }
  });
  const listening = await listenOnLoopback(server, 'fault proxy');
  return {
    url: listening.url,
    inject(rule) {
      rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
    },
    clear() {
      rules.length = 0;
    },
    count(op) {
      if (op !== undefined) return counts.get(op) ?? 0;
      let n = 0;
      for (const v of counts.values()) n += v;
      return n;
    },
    log,
    close: listening.close,
  };
}
