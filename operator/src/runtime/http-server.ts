// The operator's HTTP endpoint: /metrics (Prometheus text), /healthz (the event loop answers), /readyz (caches
// synced; a standby replica is ready too, so a rollout does not wait for leadership).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** undefined when healthy/ready; otherwise a short reason shown in the response body. */
export type Probe = () => string | undefined;

export interface OperatorHttpServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port: number;
  registry: Registry;
  ready?: Probe;
  healthy?: Probe;
}

export interface OperatorHttpServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts listening; resolves once bound. Rejects when the port is taken. */
export async function startOperatorHttpServer(options: OperatorHttpServerOptions): Promise<OperatorHttpServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const probe = (check: Probe | undefined): void => {
      const problem = check?.();
      res.writeHead(problem === undefined ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(problem === undefined ? 'ok\n' : `${problem}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    switch (path) {
      case '/metrics':
        options.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'Content-Type': options.registry.contentType });
            res.end(text);
          },
          (err: unknown) => {
            res.writeHead(500).end(`metrics failed: ${(err as Error).message}\n`);
          },
        );
        return;
      case '/healthz':
      case '/livez':
        probe(options.healthy);
        return;
      case '/readyz':
        probe(options.ready);
        return;
      default:
        res.writeHead(404).end();
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '0.0.0.0';
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
