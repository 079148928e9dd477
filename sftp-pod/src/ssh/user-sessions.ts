// Per-user accounting on this pod: authenticated connections, session channels (every `session` channel counts,
// whichever connection it is on: each can carry an SFTP subsystem with its own handles and buffers), and the
// bandwidth pacers all of a user's sessions share, so opening more channels never buys more bandwidth. Limits are
// per pod: N replicas admit up to N times a user's maxSessions (docs/sftp-pod.md).
import type { HandleBudget } from '../sftp/handles.ts';
import { Pacer } from '../sftp/pacer.ts';
import type { UserRecord } from '../users/types.ts';

export interface UserShare {
  connections: number;
  sessions: number;
  readonly upload: Pacer;
  readonly download: Pacer;
  readonly handles: HandleBudget;
}

/** A count of open handles against a fixed limit. */
function handleBudget(limit: number): HandleBudget {
  let used = 0;
  return {
    limit,
    take: () => {
      if (used >= limit) return false;
      used++;
      return true;
    },
    give: (count) => {
      used = Math.max(0, used - count);
    },
  };
}

export class UserSessions {
  readonly #users = new Map<string, UserShare>();
  readonly #handlesPerUser: number;

  /** `handlesPerUser`: open SFTP handles one user may hold across all their sessions on the pod. */
  constructor(handlesPerUser: number) {
    this.#handlesPerUser = handlesPerUser;
  }

  #share(user: UserRecord): UserShare {
    let s = this.#users.get(user.username);
    if (!s) {
      s = {
        connections: 0,
        sessions: 0,
        upload: new Pacer(0),
        download: new Pacer(0),
        handles: handleBudget(this.#handlesPerUser),
      };
      this.#users.set(user.username, s);
    }
    return s;
  }

  #forget(username: string, s: UserShare): void {
    if (s.connections <= 0 && s.sessions <= 0) this.#users.delete(username);
  }

  /** What all of the user's sessions share: the pacers (with the record's rates, 0 = unlimited) and handles. */
  shared(user: UserRecord): { upload: Pacer; download: Pacer; handles: HandleBudget } {
    const s = this.#share(user);
    this.applyLive(user);
    return { upload: s.upload, download: s.download, handles: s.handles };
  }

  /** A users-table change that only touched bandwidth or quota: live sessions take the new rates. */
  applyLive(user: UserRecord): void {
    const s = this.#users.get(user.username);
    if (!s) return;
    s.upload.setRate(user.bandwidth?.uploadBytesPerSecond ?? 0);
    s.download.setRate(user.bandwidth?.downloadBytesPerSecond ?? 0);
  }

  atLimit(username: string, max: number): boolean {
    const s = this.#users.get(username);
    return s !== undefined && (s.connections >= max || s.sessions >= max);
  }

  sessions(username: string): number {
    return this.#users.get(username)?.sessions ?? 0;
  }

  addConnection(user: UserRecord): void {
    this.#share(user).connections++;
  }

  removeConnection(username: string): void {
    const s = this.#users.get(username);
    if (!s) return;
    s.connections--;
    this.#forget(username, s);
  }

  /** Takes one session slot if the user holds fewer than `max`; returns the release function, or undefined. */
  openSession(user: UserRecord, max: number): (() => void) | undefined {
    const s = this.#share(user);
    if (s.sessions >= max) return undefined;
    s.sessions++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      s.sessions--;
      this.#forget(user.username, s);
    };
  }
}
