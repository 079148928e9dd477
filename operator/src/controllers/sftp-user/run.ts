// The state one SftpUser pass carries through its steps.
import type { ConditionType, Reason } from '../../api/conditions.ts';
import type { SftpServer, SftpUser, SftpUserStatus } from '../../api/types.generated.ts';
import { setCondition } from '../../runtime/conditions.ts';
import type { PassRun, Step } from '../../runtime/reconcile-pass.ts';
import type { ControllerContext } from '../context.ts';
import type { Placement } from '../placement.ts';

export const SERVER_RETRY_MS = 30_000;

export interface UserRun extends PassRun<SftpUserStatus> {
  readonly ctx: ControllerContext;
  readonly key: string;
  /** A deep copy of the cached object; steps may update its metadata (finalizers). */
  readonly user: SftpUser;
  readonly signal: AbortSignal;
  readonly now: () => Date;
  /** The user's server and its placement once the server step admitted them. */
  server: SftpServer | undefined;
  placement: Placement | undefined;
  /** Set by a step that wants the key again later (expiry). */
  requeueAfterMs: number | undefined;
  /**
   * Set by the published step for a brand-new user whose only missing piece is the users-table write: its first
   * status is written by the pass after the write (one status write per new user instead of two).
   */
  deferStatus?: boolean;
}

export type UserStep = Step<UserRun>;

/** Records one condition on a user run's status (generation stamped from the object). */
export function markUser(run: UserRun, type: ConditionType, ok: boolean, reason: Reason, message: string): void {
  run.status.conditions = setCondition(
    run.status.conditions,
    { type, status: ok, reason, message },
    run.user.metadata.generation,
  );
}
