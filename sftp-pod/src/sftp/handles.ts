// The per-session handle table. A handle is the session's count of handles opened so far (8 bytes): never reused
// within the session, so a stale handle is not in this table, nor is a forged one or another session's (each session
// has its own table), and no handle check can be forgotten by a request handler. Unguessable handles would add
// nothing: a client can only name handles of its own session, as with OpenSSH's sftp-server (small integers).
import type { ResolvedPath } from '../storage/jail.ts';
import type { FileInfo, ReadSource, WriteSink } from '../storage/types.ts';
import { Status } from './constants.ts';
import { SftpStatusError } from './status-map.ts';

export interface ReadHandle {
  readonly kind: 'read';
  readonly key: string;
  readonly path: ResolvedPath;
  readonly source: ReadSource;
  bytes: number;
}
export interface WriteHandle {
  readonly kind: 'write';
  readonly key: string;
  readonly path: ResolvedPath;
  readonly sink: WriteSink;
  /** Set when copy-data replaced the upload by a server-side copy: CLOSE then has nothing to commit. */
  copied: boolean;
  /** A write failed: the upload is aborted and CLOSE must fail too. */
  failed?: string;
}
export interface DirHandle {
  readonly kind: 'dir';
  readonly key: string;
  readonly path: ResolvedPath;
  readonly pages: AsyncIterator<readonly FileInfo[]>;
  pending: FileInfo[];
  readonly mounts: Set<string>;
  done: boolean;
}
export type Handle = ReadHandle | WriteHandle | DirHandle;
export type HandleKind = Handle['kind'];
/** A handle as the request handlers create it; the table assigns its key. */
export type NewHandle = DistributiveOmit<Handle, 'key'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export const DEFAULT_MAX_HANDLES = 64;
/** Longest handle we ever look up (ours are 12 bytes); longer input is not hashed into a map key. */
const MAX_HANDLE_BYTES = 64;

/** Handles shared by several tables (all of one user's sessions on the pod): a cap that channels do not multiply. */
export interface HandleBudget {
  readonly limit: number;
  /** Takes one handle; false when the budget is spent. */
  take(): boolean;
  give(count: number): void;
}

export class HandleTable {
  readonly #handles = new Map<string, Handle>();
  readonly #max: number;
  readonly #budget: HandleBudget | undefined;
  #opened = 0;
  #closingUploads = 0;

  constructor(maxHandles = DEFAULT_MAX_HANDLES, budget?: HandleBudget) {
    this.#max = maxHandles;
    this.#budget = budget;
  }

  get max(): number {
    return this.#max;
  }

  get size(): number {
    return this.#handles.size;
  }

  /** Uploads open right now, those whose CLOSE is still being answered included (the shutdown grace waits for both). */
  get uploads(): number {
    let n = this.#closingUploads;
    for (const h of this.#handles.values()) if (h.kind === 'write') n++;
    return n;
  }

  /** Registers a handle and returns its wire id. Throws FAILURE when the per-session cap is reached. */
  add(h: NewHandle): Buffer {
    if (this.#handles.size >= this.#max) {
      throw new SftpStatusError(Status.FAILURE, `too many open handles (limit ${this.#max})`);
    }
    if (this.#budget && !this.#budget.take()) {
      throw new SftpStatusError(Status.FAILURE, `too many open handles for this user (limit ${this.#budget.limit})`);
    }
    const n = ++this.#opened;
    const id = Buffer.allocUnsafe(8);
    id.writeUInt32BE(Math.floor(n / 2 ** 32), 0);
    id.writeUInt32BE(n >>> 0, 4);
    const key = id.toString('latin1');
    this.#handles.set(key, { ...h, key } as Handle);
    return id;
  }

  /** The handle for a wire id. Throws FAILURE `invalid handle` when it is not in this session's table. */
  get(raw: Buffer): Handle {
    const h = raw.length <= MAX_HANDLE_BYTES ? this.#handles.get(raw.toString('latin1')) : undefined;
    if (!h) throw new SftpStatusError(Status.FAILURE, 'invalid handle');
    return h;
  }

  /**
   * CLOSE: forgets the handle at once (no request can use it any more) but keeps counting an upload among `uploads`
   * until the returned function is called, once CLOSE's reply is on its way: a pod shutting down must not end the
   * connection between an object's commit and the OK that reports it.
   */
  closing(h: Handle): () => void {
    this.delete(h);
    if (h.kind !== 'write') return () => {};
    this.#closingUploads++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#closingUploads--;
    };
  }

  /** Forgets a handle (CLOSE); idempotent. */
  delete(h: Handle): void {
    if (this.#handles.delete(h.key)) this.#budget?.give(1);
  }

  /** Empties the table and returns what was open (session end). */
  drain(): Handle[] {
    const all = [...this.#handles.values()];
    this.#handles.clear();
    this.#budget?.give(all.length);
    return all;
  }
}
