// The users table the pod authenticates against. Sources (file, Kubernetes Secrets) replace it wholesale; listeners
// (the SSH server) re-check live sessions on every change so that removed or disabled users are cut off promptly.
import type { UserRecord } from './types.ts';

export type UsersListener = (store: UsersStore) => void;

export class UsersStore {
  #users = new Map<string, UserRecord>();
  #loaded = false;
  #listeners = new Set<UsersListener>();

  /** True once a source delivered its first valid table (readiness). */
  get loaded(): boolean {
    return this.#loaded;
  }

  get size(): number {
    return this.#users.size;
  }

  get(username: string): UserRecord | undefined {
    return this.#users.get(username);
  }

  /** Replaces the whole table (a source always delivers a complete, validated set). */
  replace(users: Iterable<UserRecord>): void {
    const next = new Map<string, UserRecord>();
    for (const u of users) next.set(u.username, u);
    this.#users = next;
    this.#loaded = true;
    for (const l of this.#listeners) l(this);
  }

  onChange(listener: UsersListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** Why a user may not log in now, or undefined when they may (credentials are checked elsewhere). */
export function loginRefusal(user: UserRecord, now = Date.now()): 'disabled' | 'expired' | undefined {
  if (user.disabled) return 'disabled';
  if (user.expiresAt && Date.parse(user.expiresAt) <= now) return 'expired';
  return undefined;
}
