// One webhook attempt: resolve the host, refuse addresses the SSRF guard forbids (address-class.ts), then POST to the
// address that was checked (pinned, so a second DNS answer cannot swap in the metadata service), with a deadline,
// without following redirects and without a connection pool. Resolves to the outcome; never throws.
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { refusedAddress } from './address-class.ts';

export interface PostRequest {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  readonly allowPrivateAddresses: boolean;
  readonly signal?: AbortSignal;
}

export type PostOutcome =
  | { readonly ok: true; readonly status: number }
  /** `refused`: the guard stopped it before any connection; `failed`: no 2xx (status when one came back). */
  | { readonly ok: false; readonly kind: 'refused' | 'failed'; readonly error: string; readonly status?: number };

/** The addresses to try, or why none may be used. */
export type Resolver = (host: string) => Promise<readonly { address: string; family: number }[]>;

const systemResolver: Resolver = (host) => lookup(host, { all: true, verbatim: true });

/** Checks every address the host resolves to: one forbidden address refuses the whole destination. */
export async function vetHost(
  host: string,
  allowPrivate: boolean,
  resolve: Resolver = systemResolver,
): Promise<{ address: string; family: number } | { refused: string }> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  let addresses: readonly { address: string; family: number }[];
  if (isIP(bare) !== 0) addresses = [{ address: bare, family: isIP(bare) }];
  else {
    try {
      addresses = await resolve(bare);
    } catch (err) {
      return { refused: `cannot resolve ${bare}: ${(err as { code?: string }).code ?? 'error'}` };
    }
  }
  if (addresses.length === 0) return { refused: `${bare} has no address` };
  for (const a of addresses) {
    const why = refusedAddress(a.address, allowPrivate);
    if (why !== undefined) return { refused: `${bare}: ${why}` };
  }
  return addresses[0] as { address: string; family: number };
}

const MAX_RESPONSE_BYTES = 64 * 1024;

/** POSTs once. A 2xx is delivered; a 3xx is a failure (redirects are never followed); anything else too. */
export async function postOnce(req: PostRequest, resolve?: Resolver): Promise<PostOutcome> {
  const vetted = await vetHost(req.url.hostname, req.allowPrivateAddresses, resolve);
  if ('refused' in vetted) return { ok: false, kind: 'refused', error: vetted.refused };
  // Pinned: the connection goes to the address just checked, whatever a later DNS answer says.
  const pinned: LookupFunction = (_host, options, callback) => {
    if (options.all) callback(null, [{ address: vetted.address, family: vetted.family }]);
    else callback(null, vetted.address, vetted.family);
  };
  const signal = req.signal
    ? AbortSignal.any([req.signal, AbortSignal.timeout(req.timeoutMs)])
    : AbortSignal.timeout(req.timeoutMs);
  const options: RequestOptions = {
    method: 'POST',
    headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
    lookup: pinned,
    agent: false,
    signal,
    timeout: req.timeoutMs,
  };
  const send = req.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<PostOutcome>((settle) => {
    let done = false;
    const finish = (o: PostOutcome) => {
      if (done) return;
      done = true;
      settle(o);
    };
    const r = send(req.url, options, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > MAX_RESPONSE_BYTES) res.destroy();
      });
      const outcome = (): PostOutcome =>
        status >= 200 && status < 300
          ? { ok: true, status }
          : {
              ok: false,
              kind: 'failed',
              status,
              error: status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)` : `HTTP ${status}`,
            };
      res.on('end', () => finish(outcome()));
      res.on('close', () => finish(outcome()));
      res.on('error', () => finish(outcome()));
    });
    r.on('timeout', () => r.destroy(new Error(`no answer within ${req.timeoutMs} ms`)));
    r.on('error', (err: NodeJS.ErrnoException) => {
      const timedOut = signal.aborted && !req.signal?.aborted;
      finish({
        ok: false,
        kind: 'failed',
        error: timedOut ? `no answer within ${req.timeoutMs} ms` : (err.code ?? err.message),
      });
    });
    r.end(req.body);
  });
}
