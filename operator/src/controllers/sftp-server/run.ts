// The state one SftpServer pass carries through its steps, and what the reconciler remembers between passes.

import { Reason } from '../../api/conditions.ts';
import type { SftpServer, SftpServerStatus } from '../../api/types.generated.ts';
import { StallingError } from '../../runtime/errors.ts';
import type { PassRun, Step } from '../../runtime/reconcile-pass.ts';
import type { UsersTableEntry } from '../../secrets/users-table.ts';
import type { ControllerContext, PlacedServer } from '../context.ts';
import type { Placement, Refusal } from '../placement.ts';

/**
 * A server pass runs for every change of any of its users. S3 checks and reads of children that were verified
 * recently with the same inputs are skipped for this long, so those passes cost no S3 request and no GET; drift made
 * behind our back (a lifecycle rule or a Role edited by hand) is repaired within this window or at the next change.
 */
export const RECHECK_MS = 5 * 60_000;
export const STORAGE_RETRY_MS = 30_000;
/**
 * A users shard is written at most once per this interval: under churn (a bulk apply or delete) the changes that
 * arrive meanwhile are gathered into the next write instead of one rewrite of the whole shard per user.
 */
export const SHARD_WRITE_INTERVAL_MS = 1000;

/**
 * Memo of one server between passes. Held per `namespace/name` and dropped as soon as the server is being deleted
 * or gone, whatever its deletionPolicy, so nothing outlives the object.
 */
export class ServerMemo {
  /** The server's uid: a recreated server with the same name starts from an empty memo. */
  readonly uid: string;
  /** Inputs of the last successful storage check and when. */
  storageChecked: { inputs: string; at: number } | undefined;
  /** user uid → its users-table entry and the versions it was derived from. */
  entries = new Map<string, { version: string; entry: UsersTableEntry | undefined }>();
  /** kind/ns/name → the desired object last found applied, when, and the live object then. */
  readonly verified = new Map<string, { desired: string; at: number; live: unknown }>();

  /**
   * The table as last written or verified: the signature of its inputs, each shard's resourceVersion then, and how
   * many users it lists. A pass with the same inputs over the same shards has nothing to do.
   */
  table: { signature: string; shards: ReadonlyMap<string, string>; users: number } | undefined;
  /** users shard name → when this operator last wrote it (at most one write per SHARD_WRITE_INTERVAL_MS). */
  readonly #shardWrites = new Map<string, number>();

  constructor(uid: string) {
    this.uid = uid;
  }

  shardWritten(name: string, at: number): void {
    this.#shardWrites.set(name, at);
  }

  /** Milliseconds before shard `name` may be written again (0: now). */
  shardWriteWaitMs(name: string, now: number): number {
    const last = this.#shardWrites.get(name);
    return last === undefined ? 0 : Math.max(0, last + SHARD_WRITE_INTERVAL_MS - now);
  }

  /** Milliseconds before any of `names` may be written again: 0 when one of them may be written now (or none given). */
  allShardsWriteWaitMs(names: readonly string[], now: number): number {
    let wait = names.length === 0 ? 0 : Number.POSITIVE_INFINITY;
    for (const name of names) wait = Math.min(wait, this.shardWriteWaitMs(name, now));
    return wait;
  }

  /** Milliseconds before any shard of this server may be written again: when its next users-table pass is useful. */
  tableWriteWaitMs(now: number): number {
    let wait = 0;
    for (const name of this.#shardWrites.keys()) wait = Math.max(wait, this.shardWriteWaitMs(name, now));
    return wait;
  }
}

export interface ServerRun extends PassRun<SftpServerStatus> {
  readonly ctx: ControllerContext;
  /** A deep copy of the cached object; steps may update its metadata (finalizers). */
  readonly server: SftpServer;
  readonly signal: AbortSignal;
  readonly memo: ServerMemo;
  readonly now: () => number;
  /** Writes the working status now, ignoring failures (deletion: progress before the finalizer goes). */
  readonly writeStatusNow: () => Promise<void>;
  /** Where the server's files live, once the placement step admitted it. */
  placement: Placement | undefined;
  /** Why a server placed before may no longer use its profile (its users table then lists nobody). */
  refusal?: Refusal | undefined;
  /** Digest of the mounted host keys (host-keys step → workloads step: the pods' config checksum). */
  hostKeysDigest: string;
  /** Set by a step that must run the pass again after this delay (a users shard write held back). */
  requeueAfterMs?: number | undefined;
}

export type ServerStep = Step<ServerRun>;

/** The run's server with its placement; the steps after the placement step call this. */
export function placed(run: ServerRun): PlacedServer {
  if (!run.placement) throw new StallingError(Reason.ReconcileError, 'internal: a step ran before the placement step');
  return { server: run.server, placement: run.placement };
}
