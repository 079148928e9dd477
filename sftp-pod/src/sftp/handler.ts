// The shape of one entry of the request table (handler-table.ts), in the style of OpenSSH sftp-server.c's
// `handlers[]`: what the request is, its label, what it needs, and the function that serves it. What an entry
// `needs` is checked by access.ts, once, before `run` is called: handlers never check permissions themselves.
import type { PathJail, Permission, ResolvedPath } from '../storage/jail.ts';
import type { FileInfo, Storage } from '../storage/types.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Reader } from './codec.ts';
import type { StatusCode } from './constants.ts';
import type { Handle, HandleKind, HandleTable } from './handles.ts';
import type { RateLimiter } from './pacer.ts';

/** Hooks for telemetry/metrics.ts; every label value passed is from a bounded set. */
export interface SftpMetrics {
  request(op: string, status: string): void;
  transfer(direction: 'upload' | 'download', result: 'ok' | 'error' | 'aborted'): void;
  addTransferBytes(direction: 'upload' | 'download', bytes: number): void;
  /** A WRITE had to wait for a storage budget, so the channel stopped being read. */
  backpressurePause(): void;
}

/** What a request handler may use: the session's storage, jail, handles and settings. */
export interface SessionContext {
  readonly storage: Storage;
  readonly jail: PathJail;
  readonly handles: HandleTable;
  /** Aborted when the session ends. */
  readonly signal: AbortSignal;
  readonly username: string;
  readonly sessionId: string;
  readonly setstatMode: 'Error' | 'Ignore';
  readonly metrics: SftpMetrics | undefined;
  readonly log: Logger;
  readonly uploadPacer: RateLimiter | undefined;
  readonly downloadPacer: RateLimiter | undefined;
  /** stat that answers a directory for mount points (the user's root, logical directories) whatever S3 holds. */
  stat(p: ResolvedPath): Promise<FileInfo>;
}

/** Answers one request; each method sends exactly one reply and counts it under the entry's op label. */
export interface Responder {
  readonly id: number;
  ok(): Promise<void>;
  status(code: StatusCode, message: string): Promise<void>;
  send(reply: Buffer): Promise<void>;
  /**
   * A DATA reply: header and payload in one corked channel write (the payload is not copied into a reply buffer;
   * ssh2 packs both into full packets). `written` runs once the channel has taken the payload (ssh2 copied it into
   * its packets), never on a failed write: the memory may be reused then.
   */
  data(payload: Uint8Array, written?: () => void): Promise<void>;
}

/** The decoded arguments that access checks look at; handlers add their own fields. */
export interface Args {
  readonly path?: ResolvedPath;
  /** The second path of RENAME / posix-rename. */
  readonly target?: ResolvedPath;
  readonly handle?: Handle;
  /** copy-data's write handle. */
  readonly targetHandle?: Handle;
  /** For entries whose needs depend on the request (OPEN): which variant of `needs` applies. */
  readonly mode?: 'read' | 'write';
}

/**
 * What a mount point (the user's `/`, a logical directory entry, a directory on the way to one) gets: refused with
 * PERMISSION_DENIED (`deny`), refused because it exists as a directory (`exists`, `target-exists`, `is-directory`),
 * or no permission check at all (`skip`: stat of a mount point works whatever the parent's permissions).
 */
export type MountRule = 'deny' | 'exists' | 'target-exists' | 'is-directory' | 'skip';

export interface PathNeed {
  readonly arg: 'path' | 'target';
  /** The permission required; absent = none (REALPATH). */
  readonly permission?: Permission;
  /** Checked at the path itself (reading, listing, setstat) or at its parent (creating, deleting, renaming). */
  readonly on?: 'path' | 'parent';
  readonly mountPoint?: MountRule;
  /** The request creates an entry at this path: the name rule applies (names.ts). */
  readonly creates?: boolean;
}

export interface HandleNeed {
  readonly arg: 'handle' | 'targetHandle';
  readonly kind: HandleKind | 'any';
  /** Permission required at the handle's path (FSETSTAT: setstat). */
  readonly permission?: Permission;
  /** How the handle is named in the refusal (`handle is not open for writing`). */
  readonly what?: string;
}

/**
 * An operation that acts on everything below `path` (directory rename, rmdir): `permission` is needed wherever a
 * permission rule below it applies, and (with `to`) no rule inside may be weaker than where its entries would land.
 */
export interface SubtreeNeed {
  readonly permission: Permission;
  readonly to?: 'target';
}

export interface Needs {
  /** Changes what is stored (OpenSSH's `does_write`); such entries must need a writing permission or handle. */
  readonly writes: boolean;
  readonly paths?: readonly PathNeed[];
  readonly handles?: readonly HandleNeed[];
  readonly subtree?: SubtreeNeed;
}

/** Needs that depend on the request (OPEN for reading vs writing), chosen by the decoded `mode`. */
export interface NeedsByMode {
  readonly read: Needs;
  readonly write: Needs;
}

export interface Handler<A extends Args = Args> {
  /** The SSH_FXP_* request type, or for SSH_FXP_EXTENDED the extension name. */
  readonly type: number | string;
  /** Label for logs and sftpgate_sftp_requests_total{op}: from a fixed set. */
  readonly op: string;
  readonly needs: Needs | NeedsByMode;
  /** Set for requests we recognise but never serve: answered OP_UNSUPPORTED with this message, before decoding. */
  readonly unsupported?: string;
  /**
   * Reads the request's arguments (and calls r.end() unless trailing bytes are tolerated); throws PacketError. A
   * decoder may type a handle by the kind its `needs.handles` demands: access.ts checks that kind before `run`.
   */
  decode(r: Reader, s: SessionContext): A;
  /** Serves the request after the access checks passed; throws to answer with a mapped status. */
  run(s: SessionContext, res: Responder, a: A): Promise<void>;
}

/** Keeps an entry's argument type while listing it among entries of other types. */
export function handler<A extends Args>(h: Handler<A>): Handler {
  return h;
}

export function needsFor(h: Handler, a: Args): Needs {
  const n = h.needs;
  if ('writes' in n) return n;
  return a.mode === 'write' ? n.write : n.read;
}

/** An entry for a request object storage cannot serve (links): always OP_UNSUPPORTED with `message`. */
export function unsupportedEntry(type: number | string, op: string, writes: boolean, message: string): Handler {
  return {
    type,
    op,
    needs: { writes },
    unsupported: message,
    decode: () => ({}),
    run: async () => {
      throw new Error(`${op} is unsupported and must not run`);
    },
  };
}
