// An index of SftpUsers by (namespace, server, username), kept current from the informer's events, so a user pass
// finds the other claims on its username in O(1) instead of scanning every user (10,000 users: 10^8 comparisons).
import { ConditionType, Reason } from '../api/conditions.ts';
import type { SftpUser } from '../api/types.generated.ts';
import { getCondition } from '../runtime/conditions.ts';
import { usernameOf } from './sftp-user/desired.ts';

const slot = (u: SftpUser): string => `${u.metadata.namespace}/${u.spec.serverRef.name}/${usernameOf(u)}`;
const keyOf = (u: SftpUser): string => `${u.metadata.namespace}/${u.metadata.name}`;

export class UserIndex {
  readonly #bySlot = new Map<string, Map<string, SftpUser>>();
  readonly #slotOfKey = new Map<string, string>();
  readonly #perNamespace = new Map<string, number>();
  /** Keys of the users refused for their profile's per-namespace cap (ServerReady reason QuotaExceeded). */
  readonly #overCap = new Set<string>();

  /** Informer handler: call for every add/update/delete. */
  observe(type: 'add' | 'update' | 'delete', user: SftpUser): void {
    const key = keyOf(user);
    const previous = this.#slotOfKey.get(key);
    if (previous !== undefined) {
      this.#count(user.metadata.namespace, -1);
      this.#bySlot.get(previous)?.delete(key);
      if (this.#bySlot.get(previous)?.size === 0) this.#bySlot.delete(previous);
      this.#slotOfKey.delete(key);
    }
    this.#overCap.delete(key);
    if (type === 'delete') return;
    if (getCondition(user.status?.conditions, ConditionType.ServerReady)?.reason === Reason.QuotaExceeded) {
      this.#overCap.add(key);
    }
    const s = slot(user);
    let users = this.#bySlot.get(s);
    if (!users) {
      users = new Map();
      this.#bySlot.set(s, users);
    }
    users.set(key, user);
    this.#slotOfKey.set(key, s);
    this.#count(user.metadata.namespace, 1);
  }

  /** Keys (`namespace/name`) of the users of `namespace` refused for the per-namespace cap. */
  overCapIn(namespace: string | undefined): string[] {
    return [...this.#overCap].filter((k) => k.startsWith(`${namespace ?? ''}/`));
  }

  /** How many SftpUsers the namespace holds (deleting ones included): a bound for per-namespace caps. */
  countIn(namespace: string | undefined): number {
    return this.#perNamespace.get(namespace ?? '') ?? 0;
  }

  #count(namespace: string | undefined, delta: number): void {
    const n = (this.#perNamespace.get(namespace ?? '') ?? 0) + delta;
    if (n > 0) this.#perNamespace.set(namespace ?? '', n);
    else this.#perNamespace.delete(namespace ?? '');
  }

  /** Every user claiming `user`'s username on its server (itself included). */
  claimants(user: SftpUser): SftpUser[] {
    return [...(this.#bySlot.get(slot(user))?.values() ?? [])];
  }
}
