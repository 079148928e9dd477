// In-cluster users source: the sharded users table in Secrets `<server>-users-0..N-1` (docs/users-table.md), listed
// and watched through the API server with the shared hardened informer (common/src/kube/informer.ts): a watch the
// server ends is resumed at once from its resourceVersion, a 410 relists, a silent connection is restarted by the
// watchdog, and failures retry with a short backoff. Each shard is watched by name (fieldSelector
// metadata.name=<shard>), because the pod's Role grants get/list/watch on exactly those names. Nothing here ever exits
// the process.
import { CodedError } from '../../../common/src/errors/coded-error.ts';
import { Informer } from '../../../common/src/kube/informer.ts';
import { KubeClient, type KubeObject, Resources } from '../../../common/src/kube/kube-client.ts';
import { loadKubeAccess } from '../../../common/src/kube/kube-config.ts';
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
  /** Called once per shard watch the informer opens (tests and the propagation benchmark count renewals). */
  readonly onWatch?: (shard: number) => void;
  /**
   * Server-side lifetime of each watch, randomised in the range (default: the informer's, 90-162 s); null lets the API server choose
   * (its --min-request-timeout; tests use that to expire watches cheaply).
   */
  readonly watchTimeoutSeconds?: [number, number] | null;
}

export class SecretSourceError extends CodedError<'SFTPGATE_USERS_SECRET'> {
  constructor(message: string, options?: ErrorOptions) {
    super('SFTPGATE_USERS_SECRET', message, options);
  }
}

interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}

const KEY = 'users.json';
// Retries after failures (API server down, network) stay short: a pod has a handful of watches, and every second of
// retry delay is a second a new user cannot log in.
const BACKOFF = { baseMs: 250, maxMs: 5_000 };

function decode(secret: SecretObject, name: string): UsersDocument {
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

/**
 * Reads shard 0 and the shards it names, applies the combined table, then keeps watching. Resolves once the first
 * complete table was applied; throws SecretSourceError if that does not happen within initialTimeoutMs.
 */
export async function startSecretSource(o: SecretSourceOptions, signal: AbortSignal): Promise<void> {
  if (!o.shard0.endsWith('-0')) throw new SecretSourceError(`users Secret ${o.shard0} must be shard 0 (end in -0)`);
  const base = o.shard0.slice(0, -1);
  const client = new KubeClient(await loadKubeAccess(o.kubeconfig), {
    userAgent: 'sftpgate-sftp',
    requestTimeoutMs: 10_000,
  });
  signal.addEventListener('abort', () => client.close(), { once: true });

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
    for (let i = 1; i < n; i++) if (!loops.has(i)) watchShard(i);
  };

  const onDoc = (i: number, doc: UsersDocument | null) => {
    if (!loops.has(i)) return; // an event of a shard dropped meanwhile
    shards.set(i, doc);
    if (i === 0) setShards(doc ? Math.max(1, doc.shards ?? 1) : 1);
    apply();
  };

  const watchShard = (i: number) => {
    const name = `${base}${i}`;
    const ctl = new AbortController();
    loops.set(i, ctl);
    const shardSignal = AbortSignal.any([signal, ctl.signal]);
    const informer = new Informer<SecretObject>({
      client,
      type: Resources.Secret,
      namespace: o.namespace,
      fieldSelector: `metadata.name=${name}`,
      // Level-based already: every event replaces the shard; a periodic re-delivery would only re-apply the same table.
      resyncPeriodMs: 0,
      // The informer's default lifetime (90-162 s) keeps these quiet watches below its watchdog: renewed, not failed.
      ...(o.watchTimeoutSeconds !== undefined && { watchTimeoutSeconds: o.watchTimeoutSeconds }),
      backoff: BACKOFF,
      logger: o.log.child({ secret: name }),
      ...(o.onWatch !== undefined && { hooks: { watch: () => o.onWatch?.(i) } }),
    });
    informer.on((type, secret) => {
      try {
        onDoc(i, type === 'delete' ? null : decode(secret, name));
      } catch (err) {
        o.log.error('users Secret not applied, keeping the last valid table', { secret: name, err });
      }
    });
    void informer.run(shardSignal);
    // A Secret that does not exist yields no event: once the first list is in, "absent" is a state too.
    informer.waitForSync(shardSignal).then(
      () => {
        if (informer.size === 0 && shards.get(i) === undefined) onDoc(i, null);
      },
      () => {},
    );
  };

  watchShard(0);
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
