// SftpUser reconcile: validate what the API server cannot (keys, password Secret, username conflicts) → resolve the
// server and the S3 prefix → home marker → report whether the server's users table carries the user. The table
// itself is written by the server reconciler (level-based: it rebuilds from all valid users), so removing access
// never depends on this reconciler running. Same pass shape as the server (runtime/reconcile-pass.ts).
import { ConditionType, Reason } from '../../api/conditions.ts';
import type { SftpUserStatus } from '../../api/types.generated.ts';
import { markUnexplainedFailure, setCondition, summarizeReady } from '../../runtime/conditions.ts';
import { isDeleting } from '../../runtime/finalizers.ts';
import { Resources } from '../../runtime/kube-client.ts';
import { runPass } from '../../runtime/reconcile-pass.ts';
import { type ControllerContext, kube } from '../context.ts';
import { allottedPlacement } from '../placement-of.ts';
import type { UserRun, UserStep } from './run.ts';
import { userFinalizerStep } from './steps/finalizer.ts';
import { homeStep } from './steps/home.ts';
import { expiryStep, publishedStep, sessionPolicyStep } from './steps/published.ts';
import { serverStep } from './steps/server.ts';
import { keysStep, passwordStep, usernameStep } from './steps/validate.ts';

export { shardUsernames } from './steps/published.ts';

export const userSteps: readonly UserStep[] = [
  userFinalizerStep,
  keysStep,
  passwordStep,
  usernameStep,
  serverStep,
  homeStep,
  publishedStep,
  sessionPolicyStep,
  expiryStep,
];

export class SftpUserReconciler {
  readonly #ctx: ControllerContext;
  readonly #now: () => Date;

  constructor(ctx: ControllerContext, now: () => Date = () => new Date()) {
    this.#ctx = ctx;
    this.#now = now;
  }

  async reconcile(key: string, signal: AbortSignal): Promise<{ requeueAfterMs?: number } | undefined> {
    const cached = this.#ctx.users.get(key);
    if (!cached) return undefined;
    const user = structuredClone(cached);
    const before: SftpUserStatus = structuredClone(user.status ?? {});
    const run: UserRun = {
      ctx: this.#ctx,
      key,
      user,
      status: structuredClone(before),
      signal,
      now: this.#now,
      server: undefined,
      placement: undefined,
      requeueAfterMs: undefined,
      done: false,
    };
    await runPass(run, before, userSteps, {
      summarize: (r, failure) => summarizeUser(r, failure),
      write: async (r) => {
        // status.usage is the usage measurer's (a merge patch of that field alone): applying our cached copy of it
        // would take it over and could put back an older measurement.
        const { usage: _measured, ...status } = r.status;
        await this.#ctx.client.apply(
          Resources.SftpUser,
          kube({
            apiVersion: r.user.apiVersion,
            kind: r.user.kind,
            metadata: { name: r.user.metadata.name, namespace: r.user.metadata.namespace },
            status,
          }),
          { subresource: 'status', signal },
        );
      },
      writesStatus: (r) => !isDeleting(kube(r.user)) && r.deferStatus !== true,
      onWriteError: (err) => this.#ctx.logger.warn('status write failed', { sftpuser: key, err }),
    });
    return run.requeueAfterMs === undefined ? undefined : { requeueAfterMs: run.requeueAfterMs };
  }
}

/** Ready from the step conditions, then Disabled / Expired over a True Ready; observedGeneration stamped. Pure. */
export function summarizeUser(run: Pick<UserRun, 'ctx' | 'user' | 'status' | 'now'>, failure: unknown): void {
  const { ctx, user, status } = run;
  const gen = user.metadata.generation;
  const deps: string[] = [
    ConditionType.Validated,
    ConditionType.ServerReady,
    ConditionType.StorageReady,
    ConditionType.Published,
  ];
  const server = ctx.servers.get(`${user.metadata.namespace}/${user.spec.serverRef.name}`);
  const mode = server ? allottedPlacement(ctx, server)?.iam.mode : undefined;
  if (mode !== undefined && mode !== 'None' && ctx.iam) deps.push(ConditionType.IAMReady);
  status.conditions = summarizeReady(status.conditions, deps, gen, Reason.Reconciled, 'the server accepts this login');
  const ready = status.conditions.find((c) => c.type === ConditionType.Ready);
  if (ready?.status === 'True') {
    const off = user.spec.disabled
      ? { reason: Reason.Disabled, message: 'spec.disabled: logins refused' }
      : user.spec.expiresAt && Date.parse(user.spec.expiresAt) <= run.now().getTime()
        ? { reason: Reason.Expired, message: `expired at ${user.spec.expiresAt}` }
        : undefined;
    if (off) {
      status.conditions = setCondition(status.conditions, { type: ConditionType.Ready, status: false, ...off }, gen);
    }
  }
  status.conditions = markUnexplainedFailure(
    status.conditions,
    failure,
    gen,
    Reason.ReconcileError,
    (r) => r?.status !== 'False',
  );
  if (gen !== undefined) status.observedGeneration = gen;
}
