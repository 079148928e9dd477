// A tiny HTTP(S) GET for readiness checks: fetch() can't take a private CA or a client certificate.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface TlsOptions {
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

/** GETs `url`; resolves with any status (throws only on network errors or abort). No keep-alive. */
export function httpGet(
  url: string,
  opts: { readonly tls?: TlsOptions; readonly signal?: AbortSignal; readonly headers?: Record<string, string> } = {},
): Promise<HttpResponse> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      {
        method: 'GET',
        agent: false,
        headers: opts.headers,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.tls ?? {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
