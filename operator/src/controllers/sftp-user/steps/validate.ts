// What the API server cannot check: keys parse, the password Secret is readable, the username is not taken.
import { ConditionType, Reason } from '../../../api/conditions.ts';
import { StallingError } from '../../../runtime/errors.ts';
import { isDeleting } from '../../../runtime/finalizers.ts';
import { InvalidPasswordError } from '../../../secrets/errors.ts';
import { kube } from '../../context.ts';
import { PASSWORD_RECHECK_MS } from '../../password-secrets.ts';
import { usernameOf, usernameOwners, validateUser } from '../desired.ts';
import { markUser, type UserRun, type UserStep } from '../run.ts';

export const keysStep: UserStep = async (run) => {
  const { user, status } = run;
  status.username = usernameOf(user);
  const v = validateUser(user);
  status.keyFingerprints = v.keys.map((k) => k.fingerprint);
  if (v.problems.length > 0) {
    const message = v.problems.join('; ');
    markUser(run, ConditionType.Validated, false, Reason.InvalidAuthorizedKey, message);
    throw new StallingError(Reason.InvalidAuthorizedKey, message);
  }
};

function refuse(run: UserRun, reason: Reason, message: string, cause?: unknown): never {
  markUser(run, ConditionType.Validated, false, reason, message);
  throw new StallingError(reason, message, cause === undefined ? undefined : { cause });
}

export const passwordStep: UserStep = async (run) => {
  const { ctx, user, status } = run;
  const ref = user.spec.passwordSecretRef;
  if (!ref) {
    delete status.passwordSecretVersion;
    return;
  }
  // By name, in the user's own namespace only; a fresh GET each pass (the operator watches no tenant Secret).
  const secret = await ctx.passwords.fetch(user.metadata.namespace ?? '', ref.name, run.signal);
  // Rotation is noticed at the next look: PASSWORD_RECHECK_MS.
  run.requeueAfterMs = PASSWORD_RECHECK_MS;
  if (!secret) refuse(run, Reason.PasswordSecretNotFound, `passwordSecretRef: Secret ${ref.name} not found`);
  const value = secret.data?.[ref.key];
  if (value === undefined) {
    refuse(run, Reason.PasswordSecretKeyMissing, `passwordSecretRef: Secret ${ref.name} has no key ${ref.key}`);
  }
  try {
    // Warms the shared cache the server reconciler uses; the hash itself never lands in this object.
    await ctx.hasher.hash(Buffer.from(value, 'base64'), {
      secretUid: secret.metadata?.uid ?? '',
      resourceVersion: secret.metadata?.resourceVersion ?? '',
      username: usernameOf(user),
      format: ref.format,
    });
  } catch (err) {
    if (!(err instanceof InvalidPasswordError)) throw err;
    refuse(run, Reason.InvalidPassword, `passwordSecretRef: Secret ${ref.name} key ${ref.key}: ${err.message}`, err);
  }
  status.passwordSecretVersion = secret.metadata?.resourceVersion ?? '';
};

export const usernameStep: UserStep = async (run) => {
  const { ctx, user, key } = run;
  const ns = user.metadata.namespace;
  const username = usernameOf(user);
  const candidates =
    ctx.userIndex?.claimants(user) ??
    ctx.users
      .list()
      .filter(
        (u) =>
          u.metadata.namespace === ns &&
          u.spec.serverRef.name === user.spec.serverRef.name &&
          usernameOf(u) === username,
      );
  const owner = usernameOwners(candidates.filter((u) => !isDeleting(kube(u)))).get(username);
  if (owner !== undefined && owner !== key) {
    const taken = `SftpUser ${owner.split('/')[1]}`;
    refuse(
      run,
      Reason.UsernameConflict,
      `username ${username} on server ${user.spec.serverRef.name} is already taken by ${taken}`,
    );
  }
  const v = run.status.keyFingerprints?.length ?? 0;
  markUser(
    run,
    ConditionType.Validated,
    true,
    Reason.Reconciled,
    `${v} key(s)${user.spec.passwordSecretRef ? ' and a password' : ''}`,
  );
};
