// The operator's HTTP endpoint: /metrics, /healthz, /readyz (caches synced; a standby replica is ready too, so a
// rollout does not wait for leadership). Served by the shared health server (common/src/http/health-server.ts).
import type { Registry } from 'prom-client';
import { HealthServer, urlOf } from '../../../common/src/http/health-server.ts';

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

const asCheck = (name: string, probe: Probe) => ({ name, check: () => probe() ?? true });

/** Starts listening; resolves once bound. Rejects when the port is taken. */
export async function startOperatorHttpServer(options: OperatorHttpServerOptions): Promise<OperatorHttpServer> {
  const server = new HealthServer({
    registry: options.registry,
    checks: options.ready === undefined ? [] : [asCheck('operator', options.ready)],
    liveness: options.healthy === undefined ? [] : [asCheck('operator', options.healthy)],
    // The operator's probes read in-memory state: no reason to reuse an answer.
    cacheMs: 0,
  });
  const address = await server.listen(options.port, options.host ?? '0.0.0.0');
  return { url: urlOf(address), port: address.port, close: () => server.close() };
}
