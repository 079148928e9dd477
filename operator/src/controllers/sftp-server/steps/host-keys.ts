// Host keys: generated once into a Secret (create, never apply: an existing Secret always wins), missing types added,
// existing keys never touched; fingerprints to status; the mounted keys' digest to the run for the config checksum.
import type { V1Secret } from '@kubernetes/client-node';
import { ConditionType, Reason } from '../../../api/conditions.ts';
import { isConflict, StallingError } from '../../../runtime/errors.ts';
import { type KubeObject, Resources } from '../../../runtime/kube-client.ts';
import { generateHostKey, HOST_KEY_FILES, inspectOpenSshPrivateKey } from '../../../secrets/host-keys.ts';
import { kube } from '../../context.ts';
import { childNames } from '../desired.ts';
import { desiredHostKeysSecret } from '../desired-access.ts';
import { secretDataDigest } from '../pod-env.ts';
import type { ServerRun, ServerStep } from '../run.ts';
import { mark } from './mark.ts';

export const hostKeysStep: ServerStep = async (run) => {
  const { ctx, server, status, signal } = run;
  const ns = server.metadata.namespace ?? '';
  const name = childNames(server).hostKeys;
  const userProvided = server.spec.hostKeys.secretName !== undefined;
  const types = server.spec.hostKeys.types;
  const comment = `sftpgate ${ns}/${server.metadata.name}`;
  const fail = (message: string): never => {
    mark(run, ConditionType.HostKeysReady, false, Reason.HostKeysInvalid, message);
    throw new StallingError(Reason.HostKeysInvalid, message);
  };
  let secret =
    ctx.secrets.get(`${ns}/${name}`) ??
    (await ctx.client.getOptional<V1Secret & KubeObject>(Resources.Secret, ns, name, signal));
  let generated = false;
  if (!secret) {
    if (userProvided) fail(`hostKeys.secretName: Secret ${name} not found`);
    ({ secret, generated } = await createHostKeys(run, name, types, comment));
  } else {
    const missing = types.filter((t) => secret?.data?.[HOST_KEY_FILES[t]] === undefined);
    if (missing.length > 0) {
      if (userProvided) fail(`Secret ${name} lacks ${missing.map((t) => HOST_KEY_FILES[t]).join(', ')}`);
      // Only a key someone removed (rotation, docs/operator.md) or a newly requested type is generated; existing
      // keys are never touched. Guarded by resourceVersion: a concurrent edit wins and we retry.
      const data: Record<string, string> = {};
      for (const t of missing) {
        data[HOST_KEY_FILES[t]] = Buffer.from(generateHostKey(t, comment).privateKey).toString('base64');
      }
      secret = await ctx.client.mergePatch<V1Secret & KubeObject>(
        Resources.Secret,
        ns,
        name,
        { metadata: { resourceVersion: secret.metadata?.resourceVersion }, data },
        { signal },
      );
      await ctx.events.record(
        kube(server),
        'Normal',
        'HostKeyGenerated',
        `generated ${missing.join(', ')} host key(s) in Secret ${name}`,
        signal,
      );
    }
  }
  const fingerprints: { type: string; fingerprint: string }[] = [];
  // Only the keys the pods mount count for the rollout checksum.
  const mounted: Record<string, string> = {};
  for (const t of types) {
    const data = secret?.data?.[HOST_KEY_FILES[t]] ?? '';
    mounted[HOST_KEY_FILES[t]] = data;
    try {
      const k = inspectOpenSshPrivateKey(Buffer.from(data, 'base64').toString('utf8'));
      fingerprints.push({ type: k.type, fingerprint: k.fingerprint });
    } catch (err) {
      fail(`Secret ${name} key ${HOST_KEY_FILES[t]}: ${(err as Error).message}`);
    }
  }
  run.hostKeysDigest = secretDataDigest(mounted);
  status.hostKeyFingerprints = fingerprints;
  mark(
    run,
    ConditionType.HostKeysReady,
    true,
    generated ? Reason.HostKeysGenerated : Reason.HostKeysFound,
    `${fingerprints.map((f) => `${f.type} ${f.fingerprint}`).join(', ')} in Secret ${name}`,
  );
  if (generated) {
    await ctx.events.record(
      kube(server),
      'Normal',
      'HostKeysGenerated',
      `generated host keys in Secret ${name}`,
      signal,
    );
  }
};

/** Creates the Secret with fresh keys; when someone (or an earlier pass) created it meanwhile, theirs wins. */
async function createHostKeys(
  run: ServerRun,
  name: string,
  types: readonly ('ed25519' | 'rsa')[],
  comment: string,
): Promise<{ secret: V1Secret; generated: boolean }> {
  const { ctx, server, signal } = run;
  const ns = server.metadata.namespace ?? '';
  const keys: Record<string, string> = {};
  for (const t of types) keys[HOST_KEY_FILES[t]] = generateHostKey(t, comment).privateKey;
  try {
    const created = await ctx.client.create(
      Resources.Secret,
      ns,
      desiredHostKeysSecret(server, keys) as KubeObject,
      signal,
    );
    return { secret: created as V1Secret, generated: true };
  } catch (err) {
    if (!isConflict(err)) throw err;
    return {
      secret: await ctx.client.get<V1Secret & KubeObject>(Resources.Secret, ns, name, signal),
      generated: false,
    };
  }
}
