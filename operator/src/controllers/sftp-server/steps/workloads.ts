// Workloads: ServiceAccount, Deployment, Service, PodDisruptionBudget, NetworkPolicy; Available from the Deployment.
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { ConditionType, Reason } from '../../../api/conditions.ts';
import { Resources } from '../../../runtime/kube-client.ts';
import { connectionFor } from '../../context.ts';
import {
  childNames,
  desiredDeployment,
  desiredNetworkPolicy,
  desiredPodDisruptionBudget,
  desiredService,
  endpointOf,
} from '../desired.ts';
import { desiredCaSecret, desiredCredentialsSecret, desiredServiceAccount } from '../desired-access.ts';
import { ensureChild } from '../ensure.ts';
import { secretDataDigest } from '../pod-env.ts';
import { placed, type ServerRun, type ServerStep } from '../run.ts';
import { mark } from './mark.ts';

export const workloadsStep: ServerStep = async (run) => {
  const { ctx, server, status, signal } = run;
  const { placement } = placed(run);
  const ns = server.metadata.namespace ?? '';
  const names = childNames(server);
  const credentialsDigest = [await podCredentials(run), await podCaBundle(run)].filter(Boolean).join('/') || undefined;
  await ensureChild(run, Resources.ServiceAccount, desiredServiceAccount(server, placement, status.iam));
  // The pods read host keys and credentials only at start: both roll them when they change.
  const mounted = credentialsDigest === undefined ? run.hostKeysDigest : `${run.hostKeysDigest}/${credentialsDigest}`;
  const deployment = await ensureChild<V1Deployment>(
    run,
    Resources.Deployment,
    desiredDeployment(server, placement, ctx.workload, mounted, status.iam),
  );
  const service = await ensureChild<V1Service>(run, Resources.Service, desiredService(server));
  await ensureChild(run, Resources.PodDisruptionBudget, desiredPodDisruptionBudget(server));
  if (server.spec.networkPolicy.enabled) {
    await ensureChild(run, Resources.NetworkPolicy, desiredNetworkPolicy(server));
  } else if (await ctx.client.getOptional(Resources.NetworkPolicy, ns, names.workload, signal)) {
    await ctx.client.delete(Resources.NetworkPolicy, ns, names.workload, { signal });
  }
  const endpoint = endpointOf(server, service);
  if (endpoint) status.endpoint = endpoint;
  else delete status.endpoint;
  const ready = deployment?.status?.readyReplicas ?? 0;
  status.readyReplicas = ready;
  const want = server.spec.replicas;
  if (want === 0) mark(run, ConditionType.Available, false, Reason.ScaledToZero, 'replicas is 0');
  else if (ready > 0)
    mark(run, ConditionType.Available, true, Reason.DeploymentAvailable, `${ready}/${want} replicas ready`);
  else {
    const message = `0/${want} replicas ready (Deployment ${names.workload})`;
    mark(run, ConditionType.Available, false, Reason.DeploymentUnavailable, message);
  }
};

/**
 * The pods' copy of the profile's static credentials (absent with workload identity): written when it differs,
 * removed when the profile has none. Returns the digest of the copy, or undefined without one.
 */
async function podCredentials(run: ServerRun): Promise<string | undefined> {
  const { ctx, server, signal } = run;
  const { placement } = placed(run);
  const ns = server.metadata.namespace ?? '';
  const name = childNames(server).credentials;
  if (!placement.credentials) {
    if (ctx.secrets.get(`${ns}/${name}`)) await ctx.client.delete(Resources.Secret, ns, name, { signal });
    return undefined;
  }
  const conn = connectionFor(placement, ctx.operatorSecrets, ctx.operatorNamespace);
  if (!conn.credentials) return undefined;
  const secret = desiredCredentialsSecret(server, conn.credentials);
  await ensureChild(run, Resources.Secret, secret);
  return secretDataDigest(secret.data);
}

/** The pods' copy of the profile's CA bundle (absent without one). Returns its digest, or undefined. */
async function podCaBundle(run: ServerRun): Promise<string | undefined> {
  const { ctx, server, signal } = run;
  const { placement } = placed(run);
  const ns = server.metadata.namespace ?? '';
  const name = childNames(server).caBundle;
  if (!placement.caBundle) {
    if (ctx.secrets.get(`${ns}/${name}`)) await ctx.client.delete(Resources.Secret, ns, name, { signal });
    return undefined;
  }
  const secret = desiredCaSecret(server, placement.caBundle);
  await ensureChild(run, Resources.Secret, secret);
  return secretDataDigest(secret.data);
}
