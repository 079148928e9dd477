// Kubernetes Events on our objects (`kubectl describe` shows them). Best effort: recording never throws and never
// blocks a reconcile on failure. Repeats of the same (object, type, reason, message) within the window bump the
// existing Event's count at most once a minute instead of creating new objects, like client-go's correlator.
import { createHash } from 'node:crypto';
import { isConflict } from './errors.ts';
import { type KubeClient, type KubeObject, Resources } from './kube-client.ts';
import { type Logger, silentLogger } from './logger.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  client: KubeClient;
  /** source.component / reportingController. */
  component?: string;
  /** reportingInstance (the pod name). */
  instance?: string;
  logger?: Logger;
  /** Repeats within this window are aggregated. Default 10 minutes. */
  windowMs?: number;
  /** A repeat bumps the count at most this often. Default 60 s. */
  minUpdateIntervalMs?: number;
  now?: () => number;
}

interface Seen {
  count: number;
  first: number;
  lastWrite: number;
}

const maxTracked = 4096;

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #component: string;
  readonly #instance: string;
  readonly #logger: Logger;
  readonly #windowMs: number;
  readonly #minUpdateMs: number;
  readonly #now: () => number;
  readonly #seen = new Map<string, Seen>();

  constructor(options: EventRecorderOptions) {
    this.#client = options.client;
    this.#component = options.component ?? 'sftpgate-operator';
    this.#instance = options.instance ?? this.#component;
    this.#logger = options.logger ?? silentLogger;
    this.#windowMs = options.windowMs ?? 600_000;
    this.#minUpdateMs = options.minUpdateIntervalMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Records an event on `object` (which needs apiVersion, kind, name, namespace, uid). `reason` is CamelCase
   * ("Created", "StorageError"); `message` must not contain secrets. Never throws.
   */
  async record(
    object: KubeObject,
    type: EventType,
    reason: string,
    message: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const meta = object.metadata;
    const namespace = meta?.namespace ?? 'default';
    const digest = createHash('sha256')
      .update(`${meta?.uid}\n${type}\n${reason}\n${message}`)
      .digest('hex')
      .slice(0, 16);
    const name = `${meta?.name ?? 'unknown'}.${digest}`;
    const now = this.#now();
    const seen = this.#seen.get(name);
    try {
      if (seen !== undefined && now - seen.first < this.#windowMs) {
        seen.count++;
        if (now - seen.lastWrite < this.#minUpdateMs) return;
        seen.lastWrite = now;
        await this.#bump(namespace, name, seen.count, now, signal);
        return;
      }
      this.#track(name, { count: 1, first: now, lastWrite: now });
      const timestamp = new Date(now).toISOString();
      const event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name: meta?.name,
          namespace: meta?.namespace,
          uid: meta?.uid,
        },
        type,
        reason,
        message: message.slice(0, 1024),
        count: 1,
        firstTimestamp: `${timestamp.slice(0, 19)}Z`,
        lastTimestamp: `${timestamp.slice(0, 19)}Z`,
        source: { component: this.#component },
        reportingComponent: this.#component,
        reportingInstance: this.#instance,
      };
      try {
        await this.#client.create(Resources.Event, namespace, event, signal);
      } catch (err) {
        // Another replica, or this process before a restart, created it: count the repeat instead.
        if (!isConflict(err)) throw err;
        await this.#bump(namespace, name, 2, now, signal);
      }
    } catch (err) {
      this.#logger.warn('could not record event', { err, reason, object: `${namespace}/${meta?.name}` });
    }
  }

  async #bump(namespace: string, name: string, count: number, now: number, signal?: AbortSignal): Promise<void> {
    await this.#client.mergePatch(
      Resources.Event,
      namespace,
      name,
      { count, lastTimestamp: `${new Date(now).toISOString().slice(0, 19)}Z` },
      signal === undefined ? {} : { signal },
    );
  }

  #track(name: string, entry: Seen): void {
    if (this.#seen.size >= maxTracked) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    this.#seen.set(name, entry);
  }
}
