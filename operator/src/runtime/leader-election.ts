// Leader election on a coordination.k8s.io/v1 Lease (client-go's LeaseLock algorithm), so several operator replicas
// can run and exactly one reconciles. Expiry is judged by the local clock from when we last saw the Lease record
// change (not by comparing renewTime with our clock), so clock skew between replicas cannot cause two leaders.
// Writes are compare-and-swap on resourceVersion.
import { sleep } from './backoff.ts';
import { isConflict, isNotFound, OperatorError, OperatorErrorCode } from './errors.ts';
import { type KubeClient, Resources } from './kube-client.ts';
import { type Logger, silentLogger } from './logger.ts';

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  /** Lease name. */
  name: string;
  /** Unique per replica (pod name + random suffix). */
  identity: string;
  /** How long a Lease is valid after its last renewal. Default 15 s. */
  leaseDurationMs?: number;
  /** A leader that cannot renew for this long steps down. Default 10 s; must be < leaseDurationMs. */
  renewDeadlineMs?: number;
  /** Interval between acquire/renew attempts. Default 2 s. */
  retryPeriodMs?: number;
  logger?: Logger;
  /** Called with true when this replica becomes leader and false when it stops (metrics gauge). */
  onLeaderChange?: (leading: boolean) => void;
  now?: () => number;
}

/** MicroTime as the API server stores it. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectorOptions, 'onLeaderChange' | 'logger' | 'now'>>;
  readonly #logger: Logger;
  readonly #onLeaderChange: ((leading: boolean) => void) | undefined;
  readonly #now: () => number;
  #leading = false;
  #observed: { holder: string; renewTime: string; at: number; durationMs: number } | undefined;

  constructor(options: LeaderElectorOptions) {
    this.#o = {
      client: options.client,
      namespace: options.namespace,
      name: options.name,
      identity: options.identity,
      leaseDurationMs: options.leaseDurationMs ?? 15_000,
      renewDeadlineMs: options.renewDeadlineMs ?? 10_000,
      retryPeriodMs: options.retryPeriodMs ?? 2_000,
    };
    if (this.#o.renewDeadlineMs >= this.#o.leaseDurationMs)
      throw new RangeError('renewDeadlineMs must be < leaseDurationMs');
    this.#logger = (options.logger ?? silentLogger).child({ lease: `${options.namespace}/${options.name}` });
    this.#onLeaderChange = options.onLeaderChange;
    this.#now = options.now ?? Date.now;
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** The holder last seen in the Lease (may be stale by up to retryPeriodMs). */
  observedLeader(): string | undefined {
    return this.#observed?.holder;
  }

  /**
   * Campaigns until `signal` aborts. Each time leadership is won, `lead` runs with a signal that aborts when
   * leadership is lost (renewal failed for renewDeadlineMs) or on shutdown; `lead` must stop all reconciling when it
   * fires. After a loss the replica campaigns again. On shutdown a held Lease is released so a standby takes over
   * at once instead of after leaseDurationMs.
   */
  async run(signal: AbortSignal, lead: (leaderSignal: AbortSignal) => Promise<void>): Promise<void> {
    while (!signal.aborted) {
      const acquired = await this.#acquire(signal);
      if (!acquired) return;
      const leadership = new AbortController();
      const leaderSignal = AbortSignal.any([signal, leadership.signal]);
      this.#setLeading(true);
      this.#logger.info('became leader', { identity: this.#o.identity });
      const work = lead(leaderSignal).catch((err: unknown) => {
        this.#logger.error('leader work failed', { err });
      });
      await this.#renewLoop(leaderSignal);
      if (!signal.aborted) {
        this.#logger.warn('lost leadership', { identity: this.#o.identity });
        leadership.abort(new OperatorError(OperatorErrorCode.LeadershipLost, 'leader Lease lost'));
      }
      await work;
      this.#setLeading(false);
      if (signal.aborted) await this.#release();
    }
  }

  async #acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew(signal)) return true;
      try {
        await sleep(this.#o.retryPeriodMs, signal);
      } catch {
        return false;
      }
    }
    return false;
  }

  // Returns when renewal failed for renewDeadlineMs or the signal aborts.
  async #renewLoop(signal: AbortSignal): Promise<void> {
    let lastRenew = this.#now();
    while (!signal.aborted) {
      try {
        await sleep(this.#o.retryPeriodMs, signal);
      } catch {
        return;
      }
      if (await this.#tryAcquireOrRenew(signal)) {
        lastRenew = this.#now();
      } else if (this.#now() - lastRenew >= this.#o.renewDeadlineMs) {
        return;
      }
    }
  }

  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { client, namespace, name, identity } = this.#o;
    const now = this.#now();
    const durationSeconds = Math.ceil(this.#o.leaseDurationMs / 1000);
    try {
      const lease = await client.getOptional<Lease>(Resources.Lease, namespace, name, signal);
      if (lease === undefined) {
        await client.create<Lease>(
          Resources.Lease,
          namespace,
          {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: 0,
            },
          },
          signal,
        );
        this.#observe(identity, microTime(now), now, this.#o.leaseDurationMs);
        return true;
      }
      const holder = lease.spec.holderIdentity ?? '';
      const renewTime = lease.spec.renewTime ?? '';
      const durationMs = (lease.spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (this.#observed === undefined || this.#observed.holder !== holder || this.#observed.renewTime !== renewTime) {
        this.#observe(holder, renewTime, now, durationMs);
      }
      const observedAt = this.#observed?.at ?? now;
      if (holder !== '' && holder !== identity && now < observedAt + durationMs) return false;
      const takeover = holder !== identity;
      const spec: Lease['spec'] = {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: takeover ? microTime(now) : (lease.spec.acquireTime ?? microTime(now)),
        renewTime: microTime(now),
        leaseTransitions: (lease.spec.leaseTransitions ?? 0) + (takeover && holder !== '' ? 1 : 0),
      };
      const updated = await client.replace<Lease>(Resources.Lease, namespace, name, { ...lease, spec }, { signal });
      this.#observe(identity, updated.spec.renewTime ?? spec.renewTime ?? '', now, durationMs);
      return true;
    } catch (err) {
      if (!isConflict(err) && !isNotFound(err) && !signal.aborted) {
        this.#logger.warn('lease acquire/renew failed', { err });
      }
      return false;
    }
  }

  async #release(): Promise<void> {
    const { client, namespace, name, identity } = this.#o;
    try {
      const lease = await client.getOptional<Lease>(Resources.Lease, namespace, name);
      if (lease === undefined || lease.spec.holderIdentity !== identity) return;
      const now = this.#now();
      await client.replace<Lease>(Resources.Lease, namespace, name, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(now) },
      });
      this.#logger.info('released leadership', { identity });
    } catch (err) {
      this.#logger.warn('could not release the Lease; a standby takes over when it expires', { err });
    }
  }

  #observe(holder: string, renewTime: string, at: number, durationMs: number): void {
    this.#observed = { holder, renewTime, at, durationMs };
  }

  #setLeading(leading: boolean): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    this.#onLeaderChange?.(leading);
  }
}
