// The pod's HTTP side: /metrics (prom-client text format), /healthz (the process serves requests), /readyz (host keys
// and users loaded, S3 reachable, not shutting down). Readiness checks are cached for a second so a burst of probes
// never becomes a burst of S3 calls.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves true when ready; a rejection counts as not ready. */
  readonly check: () => Promise<boolean> | boolean;
}

export interface HealthServerOptions {
  readonly registry: Registry;
  readonly checks: readonly ReadinessCheck[];
}

export class HealthServer {
  readonly #o: HealthServerOptions;
  readonly #http: Server;
  #shuttingDown = false;
  #cache: { at: number; result: Promise<{ ready: boolean; failed: string[] }> } | undefined;

  constructor(options: HealthServerOptions) {
    this.#o = options;
    this.#http = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      }
      if (path === '/readyz') {
        void this.#readiness().then(({ ready, failed }) => {
          res
            .writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' })
            .end(ready ? 'ready\n' : `not ready: ${failed.join(', ')}\n`);
        });
        return;
      }
      if (path === '/metrics') {
        void this.#o.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.#o.registry.contentType }).end(text),
          () => res.writeHead(500).end(),
        );
        return;
      }
      res.writeHead(404).end();
    });
  }

  /** From now on /readyz fails (SIGTERM: the Service stops sending new connections). */
  markShuttingDown(): void {
    this.#shuttingDown = true;
  }

  async #readiness(): Promise<{ ready: boolean; failed: string[] }> {
    if (this.#shuttingDown) return { ready: false, failed: ['shutting down'] };
    const now = Date.now();
    if (!this.#cache || now - this.#cache.at > 1000) {
      const result = Promise.all(
        this.#o.checks.map(async (c) => {
          try {
            return (await c.check()) ? undefined : c.name;
          } catch {
            return c.name;
          }
        }),
      ).then((names) => {
        const failed = names.filter((n): n is string => n !== undefined);
        return { ready: failed.length === 0, failed };
      });
      this.#cache = { at: now, result };
    }
    return this.#cache.result;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(port, host, () => {
        this.#http.off('error', reject);
        resolve(this.#http.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#http.close(() => resolve());
      this.#http.closeAllConnections();
    });
  }
}
