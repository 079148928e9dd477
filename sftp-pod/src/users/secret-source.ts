// In-cluster users source: the sharded users table in Secrets `<server>-users-0..N-1` (docs/users-table.md), read and
// watched through the API server. Each shard is watched by name (fieldSelector), because the pod's Role grants
// get/list/watch on exactly those names. A watch that ends or fails is restarted with a fresh GET (changes made while
// it was down are not lost) after a growing backoff; nothing here ever exits the process.
import { CoreV1Api, KubeConfig, type V1Secret, Watch } from '@kubernetes/client-node';
import { UsersDocumentError, validateUsersDocument } from '../../../common/src/users/validate.ts';
import type { Logger } from '../telemetry/log.ts';
import type { UsersStore } from './store.ts';
import type { UserRecord, UsersDocument } from './types.ts';

export interface SecretSourceOptions {
  readonly namespace: string;
  /** Name of shard 0, `<server>-users-0`. */
  readonly shard0: string;
  readonly store: UsersStore;
  readonly log: Logger;
  /** A kubeconfig file; in-cluster configuration when absent. */
  readonly kubeconfig?: string;
  /** How long start waits for the first complete table (default 30 s). */
  readonly initialTimeoutMs?: number;
}

export class SecretSourceError extends Error {
  readonly code = 'SFTPGATE_USERS_SECRET';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretSourceError';
  }
}

const KEY = 'users.json';
const MAX_BACKOFF_MS = 30_000;

function decode(secret: V1Secret, name: string): UsersDocument {
  const b64 = secret.data?.[KEY];
  if (b64 === undefined) throw new UsersDocumentError(`Secret ${name} has no ${KEY} key`);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
  } catch (cause) {
    throw new UsersDocumentError(`Secret ${name}: ${KEY} is not JSON`, { cause });
  }
  return validateUsersDocument(doc, `Secret ${name}`);
}

function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Reads shard 0 and the shards it names, applies the combined table, then keeps watching. Resolves once the first
 * complete table was applied; throws SecretSourceError if that does not happen within initialTimeoutMs.
 */
export async function startSecretSource(o: SecretSourceOptions, signal: AbortSignal): Promise<void> {
  if (!o.shard0.endsWith('-0')) throw new SecretSourceError(`users Secret ${o.shard0} must be shard 0 (end in -0)`);
  const base = o.shard0.slice(0, -1);
  const kc = new KubeConfig();
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else kc.loadFromCluster();
  const api = kc.makeApiClient(CoreV1Api);
  const watch = new Watch(kc);

  // Shard documents as last seen; `undefined` = not seen yet, `null` = the Secret does not exist.
  const shards = new Map<number, UsersDocument | null>();
  let wanted = 1;
  const loops = new Map<number, AbortController>();
  let firstApplied: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    firstApplied = resolve;
  });

  const apply = () => {
    const zero = shards.get(0);
    if (zero === undefined) return;
    const users: UserRecord[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < wanted; i++) {
      const doc = i === 0 ? zero : shards.get(i);
      if (doc === undefined) return; // wait until every shard was read once
      for (const u of doc?.users ?? []) {
        // A user moving between shards may briefly appear in two: the first (lower shard) wins until both settle.
        if (seen.has(u.username)) continue;
        seen.add(u.username);
        users.push(u);
      }
    }
    o.store.replace(users);
    o.log.info('users loaded', { source: 'secrets', users: users.length, shards: wanted });
    firstApplied();
  };

  const setShards = (n: number) => {
    if (n === wanted && loops.size === n) return;
    wanted = n;
    for (const [i, ctl] of loops) {
      if (i >= n) {
        ctl.abort();
        loops.delete(i);
        shards.delete(i);
      }
    }
    for (let i = 1; i < n; i++) if (!loops.has(i)) startLoop(i);
  };

  const onDoc = (i: number, doc: UsersDocument | null) => {
    shards.set(i, doc);
    if (i === 0) setShards(doc ? Math.max(1, doc.shards ?? 1) : 1);
    apply();
  };

  const startLoop = (i: number) => {
    const ctl = new AbortController();
    loops.set(i, ctl);
    const loopSignal = AbortSignal.any([signal, ctl.signal]);
    void shardLoop(i, `${base}${i}`, loopSignal);
  };

  const shardLoop = async (i: number, name: string, loopSignal: AbortSignal) => {
    let backoff = 500;
    while (!loopSignal.aborted) {
      let resourceVersion: string | undefined;
      try {
        try {
          const secret = await api.readNamespacedSecret({ name, namespace: o.namespace });
          resourceVersion = secret.metadata?.resourceVersion;
          onDoc(i, decode(secret, name));
        } catch (err) {
          if (statusCode(err) !== 404) throw err;
          onDoc(i, null);
        }
        // Watch until the server closes the watch (normal after a timeout) or it fails.
        await new Promise<void>((resolve, reject) => {
          let ctlPromise: Promise<AbortController> | undefined;
          const stop = () => void ctlPromise?.then((c) => c.abort());
          loopSignal.addEventListener('abort', stop, { once: true });
          ctlPromise = watch.watch(
            `/api/v1/namespaces/${o.namespace}/secrets`,
            {
              fieldSelector: `metadata.name=${name}`,
              allowWatchBookmarks: true,
              ...(resourceVersion ? { resourceVersion } : {}),
            },
            (phase, obj: V1Secret) => {
              backoff = 500;
              try {
                if (phase === 'ADDED' || phase === 'MODIFIED') onDoc(i, decode(obj, name));
                else if (phase === 'DELETED') onDoc(i, null);
              } catch (err) {
                o.log.error('users Secret not applied, keeping the last valid table', { secret: name, err });
              }
            },
            (err: unknown) => {
              loopSignal.removeEventListener('abort', stop);
              if (err && !loopSignal.aborted) reject(err);
              else resolve();
            },
          );
          ctlPromise.catch(reject);
        });
      } catch (err) {
        if (loopSignal.aborted) return;
        if (err instanceof UsersDocumentError) {
          o.log.error('users Secret not applied, keeping the last valid table', { secret: name, err });
        } else {
          o.log.warn('users Secret watch failed, retrying', { secret: name, backoffMs: backoff, err });
        }
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  };

  startLoop(0);
  const timeout = o.initialTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      first,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new SecretSourceError(`users table ${o.shard0} not readable within ${timeout} ms`)),
          timeout,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
