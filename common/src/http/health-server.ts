// The health and metrics endpoint of both the operator and the sftp pod: /metrics (Prometheus text), /healthz and
// /livez (liveness: the event loop answers, plus any liveness checks), /readyz (every readiness check passes and the
// process is not shutting down). Results of the readiness checks are cached for `cacheMs`, so a burst of probes never
// becomes a burst of backend calls (the pod's S3 check).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** One named check: true passes; false fails; a string fails with that reason; a rejection fails. */
export interface HealthCheck {
  readonly name: string;
  readonly check: () => boolean | string | Promise<boolean | string>;
}
/** The pod's name for a readiness check (kept for its callers). */
export type ReadinessCheck = HealthCheck;

export interface HealthServerOptions {
  readonly registry: Registry;
  /** Readiness checks (/readyz). */
  readonly checks: readonly HealthCheck[];
  /** Liveness checks (/healthz, /livez); none means "the process answers". */
  readonly liveness?: readonly HealthCheck[];
  /** How long a readiness result is reused; default 1 s, 0 runs the checks on every probe. */
  readonly cacheMs?: number;
}

interface Verdict {
  readonly ok: boolean;
  readonly failed: readonly string[];
}

async function run(checks: readonly HealthCheck[]): Promise<Verdict> {
  const results = await Promise.all(
    checks.map(async (c) => {
      try {
        const r = await c.check();
        return r === true ? undefined : typeof r === 'string' ? `${c.name}: ${r}` : c.name;
      } catch {
        return c.name;
      }
    }),
  );
  const failed = results.filter((n): n is string => n !== undefined);
  return { ok: failed.length === 0, failed };
}

export class HealthServer {
  readonly #o: HealthServerOptions;
  readonly #http: Server;
  #shuttingDown = false;
  #cache: { at: number; result: Promise<Verdict> } | undefined;

  constructor(options: HealthServerOptions) {
    this.#o = options;
    this.#http = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      const answer = (verdict: Promise<Verdict>, failure: string): void => {
        void verdict.then(({ ok, failed }) => {
          res
            .writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' })
            .end(ok ? 'ok\n' : `${failure}: ${failed.join(', ')}\n`);
        });
      };
      switch (path) {
        case '/healthz':
        case '/livez':
          answer(run(this.#o.liveness ?? []), 'not healthy');
          return;
        case '/readyz':
          answer(this.#readiness(), 'not ready');
          return;
        case '/metrics':
          this.#o.registry.metrics().then(
            (text) => res.writeHead(200, { 'content-type': this.#o.registry.contentType }).end(text),
            (err: unknown) => res.writeHead(500).end(`metrics failed: ${(err as Error).message}\n`),
          );
          return;
        default:
          res.writeHead(404).end();
      }
    });
    this.#http.keepAliveTimeout = 5_000;
  }

  /** From now on /readyz fails (SIGTERM: the Service stops sending new connections). */
  markShuttingDown(): void {
    this.#shuttingDown = true;
  }

  #readiness(): Promise<Verdict> {
    if (this.#shuttingDown) return Promise.resolve({ ok: false, failed: ['shutting down'] });
    const now = Date.now();
    if (this.#cache === undefined || now - this.#cache.at >= (this.#o.cacheMs ?? 1000)) {
      this.#cache = { at: now, result: run(this.#o.checks) };
    }
    return this.#cache.result;
  }

  /** Resolves once bound (port 0 picks a free one); rejects when the port is taken. */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(port, host, () => {
        this.#http.off('error', reject);
        resolve(this.#http.address() as AddressInfo);
      });
    });
  }

  /** Stops listening and drops open connections. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#http.close(() => resolve());
      this.#http.closeAllConnections();
    });
  }
}

/** `http://host:port` for a bound address; wildcard hosts become loopback (what a local client can dial). */
export function urlOf(address: AddressInfo): string {
  const host = address.address;
  const dial = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${dial}:${address.port}`;
}
