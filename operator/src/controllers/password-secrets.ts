// Tenants' password Secrets, read by name in the user's own namespace with a GET — never listed or watched, so the
// operator holds no cache of every Secret in the cluster. A GET that finds a new resourceVersion reports the change,
// which requeues the users referencing it (and so their servers' users tables).
import type { V1Secret } from '@kubernetes/client-node';
import type { KubeClient, KubeObject } from '../runtime/kube-client.ts';
import { Resources } from '../runtime/kube-client.ts';

/** How often a user with a password re-reads its Secret during its own pass (the poller below is faster). */
export const PASSWORD_RECHECK_MS = 60_000;
/** The poller looks at each referenced password Secret this often (the bound on noticing a rotation)... */
export const PASSWORD_POLL_MS = 5_000;
/** ...but issues at most this many GETs per second: with many Secrets the period stretches instead. */
export const PASSWORD_POLL_RATE = 20;

export class PasswordSecrets {
  readonly #client: KubeClient;
  readonly #entries = new Map<string, { secret: V1Secret | undefined; at: number }>();
  readonly #onChange: (namespace: string, name: string) => void;
  readonly #now: () => number;

  constructor(client: KubeClient, onChange: (namespace: string, name: string) => void = () => {}, now = Date.now) {
    this.#client = client;
    this.#onChange = onChange;
    this.#now = now;
  }

  /** The Secret as last read, if read within `maxAgeMs`. */
  cached(namespace: string, name: string, maxAgeMs = PASSWORD_RECHECK_MS): V1Secret | undefined | 'stale' {
    const hit = this.#entries.get(`${namespace}/${name}`);
    if (!hit || this.#now() - hit.at > maxAgeMs) return 'stale';
    return hit.secret;
  }

  /** GETs the Secret (undefined when absent) and remembers it; reports a changed resourceVersion. */
  async fetch(namespace: string, name: string, signal?: AbortSignal): Promise<V1Secret | undefined> {
    const key = `${namespace}/${name}`;
    const secret = await this.#client.getOptional<V1Secret & KubeObject>(Resources.Secret, namespace, name, signal);
    const before = this.#entries.get(key);
    this.#entries.set(key, { secret, at: this.#now() });
    if (before && before.secret?.metadata?.resourceVersion !== secret?.metadata?.resourceVersion) {
      this.#onChange(namespace, name);
    }
    return secret;
  }

  /** The cached Secret when fresh, else a GET. */
  async get(namespace: string, name: string, signal?: AbortSignal): Promise<V1Secret | undefined> {
    const hit = this.cached(namespace, name);
    return hit === 'stale' ? this.fetch(namespace, name, signal) : hit;
  }

  /** Forgets Secrets no user references any more (called with the referenced keys). */
  retain(referenced: ReadonlySet<string>): void {
    for (const key of this.#entries.keys()) if (!referenced.has(key)) this.#entries.delete(key);
  }

  /**
   * Until `signal` aborts: re-reads every referenced password Secret (`referenced()`: `namespace/name` keys) once
   * per PASSWORD_POLL_MS, at most PASSWORD_POLL_RATE GETs per second; a changed one is reported through onChange.
   * The alternative, watching Secrets, would mean caching every Secret of every namespace.
   */
  async poll(signal: AbortSignal, referenced: () => Iterable<string>): Promise<void> {
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener('abort', done, { once: true });
      });
    while (!signal.aborted) {
      const keys = new Set(referenced());
      this.retain(keys);
      const gap = 1000 / PASSWORD_POLL_RATE;
      const period = Math.max(PASSWORD_POLL_MS, keys.size * gap);
      for (const key of keys) {
        if (signal.aborted) return;
        const hit = this.#entries.get(key);
        if (hit && this.#now() - hit.at < period) continue;
        const [namespace = '', name = ''] = key.split('/');
        await this.fetch(namespace, name, signal).catch(() => undefined);
        await sleep(gap);
      }
      await sleep(1000);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
