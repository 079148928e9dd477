// An index of SftpUsers by (namespace, server, username), kept current from the informer's events, so a user pass
// finds the other claims on its username in O(1) instead of scanning every user (10,000 users: 10^8 comparisons).
import type { SftpUser } from '../api/types.generated.ts';
import { usernameOf } from './sftp-user/desired.ts';

const slot = (u: SftpUser): string => `${u.metadata.namespace}/${u.spec.serverRef.name}/${usernameOf(u)}`;
const keyOf = (u: SftpUser): string => `${u.metadata.namespace}/${u.metadata.name}`;

export class UserIndex {
  readonly #bySlot = new Map<string, Map<string, SftpUser>>();
  readonly #slotOfKey = new Map<string, string>();

  /** Informer handler: call for every add/update/delete. */
  observe(type: 'add' | 'update' | 'delete', user: SftpUser): void {
    const key = keyOf(user);
    const previous = this.#slotOfKey.get(key);
    if (previous !== undefined) {
      this.#bySlot.get(previous)?.delete(key);
      if (this.#bySlot.get(previous)?.size === 0) this.#bySlot.delete(previous);
      this.#slotOfKey.delete(key);
    }
    if (type === 'delete') return;
    const s = slot(user);
    let users = this.#bySlot.get(s);
    if (!users) {
      users = new Map();
      this.#bySlot.set(s, users);
    }
    users.set(key, user);
    this.#slotOfKey.set(key, s);
  }

  /** Every user claiming `user`'s username on its server (itself included). */
  claimants(user: SftpUser): SftpUser[] {
    return [...(this.#bySlot.get(slot(user))?.values() ?? [])];
  }
}
