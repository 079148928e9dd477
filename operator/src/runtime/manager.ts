// Wires the runtime together for main.ts: shared informers (started on every replica, so a standby has warm caches
// and fails over in seconds), controllers (run only while this replica holds the leader Lease), the HTTP endpoint
// and graceful shutdown through one AbortSignal.
import type { Controller } from './controller.ts';
import { type OperatorHttpServer, startOperatorHttpServer } from './http-server.ts';
import { Informer, type InformerOptions } from './informer.ts';
import type { KubeClient, KubeObject, ResourceType } from './kube-client.ts';
import { LeaderElector, type LeaderElectorOptions } from './leader-election.ts';
import { type Logger, silentLogger } from './logger.ts';
import type { OperatorMetrics } from './metrics.ts';

export interface ManagerOptions {
  client: KubeClient;
  metrics: OperatorMetrics;
  logger?: Logger;
  /** Omit to run without leader election (single replica, tests). */
  leaderElection?: Omit<LeaderElectorOptions, 'client' | 'logger' | 'onLeaderChange'>;
  /** Omit to run without the HTTP endpoint. */
  http?: { host?: string; port: number };
  /** Defaults for every informer the manager creates. */
  informerDefaults?: Partial<Omit<InformerOptions, 'client' | 'type'>>;
}

export class Manager {
  readonly client: KubeClient;
  readonly metrics: OperatorMetrics;
  readonly #o: ManagerOptions;
  readonly #logger: Logger;
  readonly #informers = new Map<string, Informer<KubeObject>>();
  readonly #controllers: Controller<KubeObject>[] = [];
  readonly #runnables: ((leaderSignal: AbortSignal) => Promise<void>)[] = [];
  #elector: LeaderElector | undefined;
  #http: OperatorHttpServer | undefined;
  #httpReady: Promise<OperatorHttpServer> | undefined;

  constructor(options: ManagerOptions) {
    this.client = options.client;
    this.metrics = options.metrics;
    this.#o = options;
    this.#logger = options.logger ?? silentLogger;
    this.client.onRequest(options.metrics.requestHook());
  }

  /** A shared informer for `type` (one per type/namespace/selector; asking twice returns the same one). */
  informer<T extends KubeObject>(
    type: ResourceType,
    options: Partial<Omit<InformerOptions, 'client' | 'type'>> = {},
  ): Informer<T> {
    const id = [
      type.group,
      type.plural,
      options.namespace ?? '',
      options.labelSelector ?? '',
      options.fieldSelector ?? '',
    ].join('|');
    let informer = this.#informers.get(id);
    if (informer === undefined) {
      informer = new Informer<KubeObject>({
        logger: this.#logger,
        ...this.#o.informerDefaults,
        ...options,
        client: this.client,
        type,
      });
      this.#informers.set(id, informer);
      if ((type.kind === 'SftpServer' || type.kind === 'SftpUser') && options.labelSelector === undefined) {
        const cache = informer;
        this.metrics.trackReadiness(type.kind, () => countReady(cache.list()));
      }
    }
    return informer as unknown as Informer<T>;
  }

  addController<T extends KubeObject>(controller: Controller<T>): void {
    this.#controllers.push(controller as unknown as Controller<KubeObject>);
  }

  /** A background task that runs while this replica leads, beside the controllers (e.g. a poller). */
  addRunnable(run: (leaderSignal: AbortSignal) => Promise<void>): void {
    this.#runnables.push(run);
  }

  isLeader(): boolean {
    return this.#elector === undefined ? true : this.#elector.isLeader();
  }

  /** undefined when every informer has synced; otherwise which ones have not. */
  notReady(): string | undefined {
    const pending = [...this.#informers.values()].filter((i) => !i.hasSynced()).map((i) => i.type.plural);
    return pending.length === 0 ? undefined : `informers not synced: ${pending.join(', ')}`;
  }

  /** The HTTP endpoint once run() bound it. */
  async httpServer(): Promise<OperatorHttpServer | undefined> {
    return this.#httpReady;
  }

  /**
   * Runs until `signal` aborts, then stops controllers (in-flight passes see the abort), releases the Lease,
   * stops informers and the HTTP endpoint, and resolves. Throws only when the HTTP port cannot be bound.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#o.http !== undefined) {
      this.#httpReady = startOperatorHttpServer({
        ...this.#o.http,
        registry: this.metrics.registry,
        ready: () => this.notReady(),
      });
      this.#http = await this.#httpReady;
      this.#logger.info('http endpoint listening', { url: this.#http.url });
    }
    const informers = [...this.#informers.values()].map((i) => i.run(signal));
    const runControllers = async (leaderSignal: AbortSignal): Promise<void> => {
      await Promise.all([
        ...this.#controllers.map((c) => c.run(leaderSignal)),
        ...this.#runnables.map((r) => r(leaderSignal)),
      ]);
    };
    try {
      if (this.#o.leaderElection === undefined) {
        this.metrics.leader.set(1);
        await runControllers(signal);
      } else {
        this.#elector = new LeaderElector({
          ...this.#o.leaderElection,
          client: this.client,
          logger: this.#logger,
          onLeaderChange: (leading) => this.metrics.leader.set(leading ? 1 : 0),
        });
        await this.#elector.run(signal, runControllers);
      }
    } finally {
      await Promise.all(informers);
      await this.#http?.close();
      this.client.close();
    }
  }
}

function countReady(objects: KubeObject[]): { ready: number; notReady: number } {
  let ready = 0;
  for (const o of objects) {
    const conditions = (o as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions;
    if (conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ready++;
  }
  return { ready, notReady: objects.length - ready };
}
