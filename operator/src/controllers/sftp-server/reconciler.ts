// SftpServer reconcile (Flux bucket_controller shape): get from cache → work on a copy → ordered steps with one
// signature (finalizer/deletion, users table, host keys, storage, IAM, workloads), stopping at the first error →
// status summarised and written once, only when it changed (runtime/reconcile-pass.ts).
import { ConditionType, Reason } from '../../api/conditions.ts';
import type { SftpServer, SftpServerStatus } from '../../api/types.generated.ts';
import { markUnexplainedFailure, setCondition, summarizeReady } from '../../runtime/conditions.ts';
import { hasFinalizer, isDeleting } from '../../runtime/finalizers.ts';
import { Resources } from '../../runtime/kube-client.ts';
import { runPass } from '../../runtime/reconcile-pass.ts';
import type { UsersTableEntry } from '../../secrets/users-table.ts';
import { type ControllerContext, type KubeManifest, kube } from '../context.ts';
import { placementOf } from '../placement-of.ts';
import { forgetShards } from '../sftp-user/steps/published.ts';
import { ServerMemo, type ServerRun, type ServerStep } from './run.ts';
import { deletionStep, finalizerStep } from './steps/finalizer.ts';
import { hostKeysStep } from './steps/host-keys.ts';
import { iamStep } from './steps/iam.ts';
import { notificationsStep } from './steps/notifications.ts';
import { placementStep, refusalStep } from './steps/placement.ts';
import { podFieldsStep } from './steps/pod-fields.ts';
import { storageStep } from './steps/storage.ts';
import { usersTableEntries, usersTableStep } from './steps/users-table.ts';
import { workloadsStep } from './steps/workloads.ts';

export { RECHECK_MS } from './run.ts';

/**
 * The order is the contract: deletion first; then the placement (nothing touches storage, IAM or the tenant's
 * namespace for a server its profile refuses); the users table right after, so revocation never waits on S3 or IAM
 * (nor on a profile: a server that lost its placement gets an empty table, then stops); then the pod-template fields
 * the profile allows, before any host key, storage, IAM or workload object is built.
 */
export const serverSteps: readonly ServerStep[] = [
  deletionStep,
  placementStep,
  finalizerStep,
  usersTableStep,
  refusalStep,
  podFieldsStep,
  notificationsStep,
  hostKeysStep,
  storageStep,
  iamStep,
  workloadsStep,
];

export class SftpServerReconciler {
  readonly #ctx: ControllerContext;
  readonly #now: () => number;
  /** namespace/name → what passes of that server remember; dropped when it is deleted or gone. */
  readonly #memos = new Map<string, ServerMemo>();

  constructor(ctx: ControllerContext, now: () => number = Date.now) {
    this.#ctx = ctx;
    this.#now = now;
  }

  /** Reconciles one server by `namespace/name`. Throws typed errors (runtime/errors.ts) that decide the retry. */
  async reconcile(key: string, signal: AbortSignal): Promise<{ requeueAfterMs: number } | undefined> {
    const cached = this.#ctx.servers.get(key);
    if (!cached || isDeleting(kube(cached))) this.#forget(key);
    if (!cached) return;
    const server = structuredClone(cached);
    const before: SftpServerStatus = structuredClone(server.status ?? {});
    const run: ServerRun = {
      ctx: this.#ctx,
      server,
      status: structuredClone(before),
      signal,
      // A server being deleted gets a throwaway memo: nothing of it may outlive the object.
      memo: isDeleting(kube(server)) ? new ServerMemo(server.metadata.uid ?? '') : this.#memoFor(key, server),
      now: this.#now,
      hostKeysDigest: '',
      placement: undefined,
      done: false,
      writeStatusNow: () => this.#write(server, run.status, signal).catch(() => undefined),
    };
    await runPass(run, before, serverSteps, {
      summarize: (r, failure) => summarizeServer(r, failure),
      write: (r) => this.#write(r.server, r.status, signal),
      writesStatus: (r) => !isDeleting(kube(r.server)) || hasFinalizer(kube(r.server)),
      onWriteError: (err) => this.#ctx.logger.warn('status write failed', { sftpserver: key, err }),
    });
    return run.requeueAfterMs === undefined ? undefined : { requeueAfterMs: run.requeueAfterMs };
  }

  /**
   * How long a users-table pass of `key` should wait after a user change: the coalescing window, or longer while a
   * shard of that server was written less than SHARD_WRITE_INTERVAL_MS ago (the pass could not write it anyway).
   */
  usersTableDelayMs(key: string, windowMs: number): number {
    return Math.max(windowMs, this.#memos.get(key)?.tableWriteWaitMs(this.#now()) ?? 0);
  }

  /** The users of `server` the pods accept (tests and tools; the pass itself uses the users-table step). */
  usersTableEntries(server: SftpServer): Promise<UsersTableEntry[]> {
    const key = `${server.metadata.namespace}/${server.metadata.name}`;
    const r = placementOf(this.#ctx, server);
    if ('refusal' in r) return Promise.resolve([]);
    return usersTableEntries(this.#ctx, { server, placement: r.placement }, this.#memoFor(key, server));
  }

  /** How many servers have a memo (tests: nothing outlives a deleted server). */
  get memoCount(): number {
    return this.#memos.size;
  }

  #memoFor(key: string, server: SftpServer): ServerMemo {
    const uid = server.metadata.uid ?? '';
    let memo = this.#memos.get(key);
    if (memo?.uid !== uid) {
      if (memo) this.#ctx.storage.forget(memo.uid);
      memo = new ServerMemo(uid);
      this.#memos.set(key, memo);
    }
    return memo;
  }

  /** Drops the memo and the S3 client of a server being deleted or gone, whatever its deletionPolicy. */
  #forget(key: string): void {
    const memo = this.#memos.get(key);
    if (!memo) return;
    this.#memos.delete(key);
    this.#ctx.storage.forget(memo.uid);
    const [ns = '', name = ''] = key.split('/');
    forgetShards(ns, name);
  }

  async #write(server: SftpServer, status: SftpServerStatus, signal: AbortSignal): Promise<void> {
    await this.#ctx.client.apply(
      Resources.SftpServer,
      {
        apiVersion: server.apiVersion,
        kind: server.kind,
        metadata: { name: server.metadata.name ?? '', namespace: server.metadata.namespace ?? '' },
        status,
      } as KubeManifest,
      { subresource: 'status', signal },
    );
  }
}

/** Ready from the step conditions; Deleting while a finalizer runs; observedGeneration stamped. Pure. */
export function summarizeServer(run: Pick<ServerRun, 'server' | 'status' | 'placement'>, failure: unknown): void {
  const { server, status } = run;
  const gen = server.metadata.generation;
  // A refused placement is the most basic failure: StorageReady first.
  const deps: string[] = [ConditionType.StorageReady, ConditionType.HostKeysReady];
  if (run.placement && run.placement.iam.mode !== 'None') deps.push(ConditionType.IAMReady);
  deps.push(ConditionType.Available);
  status.conditions = summarizeReady(status.conditions, deps, gen, Reason.Reconciled, 'serving');
  if (isDeleting(kube(server))) {
    status.conditions = setCondition(
      status.conditions,
      {
        type: ConditionType.Ready,
        status: false,
        reason: Reason.Deleting,
        message: status.deletion?.message ?? 'deleting',
      },
      gen,
    );
  } else {
    // A False Ready from a step names the more specific cause: keep it.
    status.conditions = markUnexplainedFailure(
      status.conditions,
      failure,
      gen,
      Reason.ReconcileError,
      (ready) => ready?.status === 'True' || ready?.reason === Reason.Progressing,
    );
  }
  if (gen !== undefined) status.observedGeneration = gen;
}
