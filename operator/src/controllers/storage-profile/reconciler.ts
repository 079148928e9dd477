// SftpStorageProfile reconcile: is the profile accepted (its endpoint + bucket + root overlap no earlier profile's),
// how many servers use it, and an in-use finalizer so a profile cannot vanish from under its servers' data.
// Platform-facing: messages here may name other profiles (only the platform reads cluster-scoped status).
import { ConditionType, Reason } from '../../api/conditions.ts';
import type { SftpStorageProfile, SftpStorageProfileStatus } from '../../api/types.generated.ts';
import { setCondition } from '../../runtime/conditions.ts';
import { ensureFinalizer, isDeleting, removeFinalizer } from '../../runtime/finalizers.ts';
import { Resources } from '../../runtime/kube-client.ts';
import { type PassRun, runPass, type Step } from '../../runtime/reconcile-pass.ts';
import { type ControllerContext, type KubeManifest, kube } from '../context.ts';
import { conflictingProfile } from '../placement-of.ts';

/** Held while any SftpServer references the profile (Crossplane's ProviderConfigUsage, as a finalizer). */
export const IN_USE_FINALIZER = 'sftpgate.io/in-use';

export interface ProfileRun extends PassRun<SftpStorageProfileStatus> {
  readonly ctx: ControllerContext;
  readonly profile: SftpStorageProfile;
  readonly signal: AbortSignal;
  users: number;
}

function mark(run: ProfileRun, ok: boolean, reason: Reason, message: string): void {
  run.status.conditions = setCondition(
    run.status.conditions,
    { type: ConditionType.Ready, status: ok, reason, message },
    run.profile.metadata.generation,
  );
}

/** Counts the servers using the profile; holds the in-use finalizer exactly while there are any. */
export const usageStep: Step<ProfileRun> = async (run) => {
  const { ctx, profile, signal } = run;
  const name = profile.metadata.name;
  run.users = ctx.servers.list().filter((s) => s.spec.storage.profile === name).length;
  run.status.servers = run.users;
  const updated =
    run.users > 0
      ? await ensureFinalizer(ctx.client, Resources.SftpStorageProfile, kube(profile), IN_USE_FINALIZER, signal)
      : await removeFinalizer(ctx.client, Resources.SftpStorageProfile, kube(profile), IN_USE_FINALIZER, signal);
  profile.metadata = updated.metadata as SftpStorageProfile['metadata'];
  if (isDeleting(kube(profile))) {
    if (run.users > 0) mark(run, false, Reason.ProfileInUse, `deletion waits: ${run.users} SftpServer(s) still use it`);
    run.done = true;
  }
};

/** The later of two profiles whose locations overlap is refused (its servers too: ProfileConflict). */
export const overlapStep: Step<ProfileRun> = async (run) => {
  const earlier = conflictingProfile(run.ctx, run.profile.metadata.name ?? '');
  if (earlier !== undefined) {
    mark(
      run,
      false,
      Reason.ProfileConflict,
      `endpoint, bucket and root overlap SftpStorageProfile ${earlier} (created first); servers cannot use this profile`,
    );
    return;
  }
  const p = run.profile.spec;
  mark(run, true, Reason.ProfileAccepted, `s3://${p.bucket}/${p.root}${p.root ? '/' : ''}<namespace>/<server>/`);
};

export const profileSteps: readonly Step<ProfileRun>[] = [usageStep, overlapStep];

export class SftpStorageProfileReconciler {
  readonly #ctx: ControllerContext;

  constructor(ctx: ControllerContext) {
    this.#ctx = ctx;
  }

  async reconcile(key: string, signal: AbortSignal): Promise<void> {
    const cached = this.#ctx.profiles.get(key);
    if (!cached) return;
    const profile = structuredClone(cached);
    const before: SftpStorageProfileStatus = structuredClone(profile.status ?? {});
    const run: ProfileRun = { ctx: this.#ctx, profile, signal, status: structuredClone(before), users: 0, done: false };
    await runPass(run, before, profileSteps, {
      summarize: (r) => {
        const gen = r.profile.metadata.generation;
        if (gen !== undefined) r.status.observedGeneration = gen;
      },
      write: async (r) => {
        await this.#ctx.client.apply(
          Resources.SftpStorageProfile,
          {
            apiVersion: r.profile.apiVersion,
            kind: r.profile.kind,
            metadata: { name: r.profile.metadata.name ?? '' },
            status: r.status,
          } as KubeManifest,
          { subresource: 'status', signal },
        );
      },
      writesStatus: (r) => !isDeleting(kube(r.profile)) || r.users > 0,
      onWriteError: (err) => this.#ctx.logger.warn('status write failed', { sftpstorageprofile: key, err }),
    });
  }
}
