// Workloads: ServiceAccount, Deployment, Service, PodDisruptionBudget, NetworkPolicy; Available from the Deployment.
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { ConditionType, Reason } from '../../../api/conditions.ts';
import { Resources } from '../../../runtime/kube-client.ts';
import {
  childNames,
  desiredDeployment,
  desiredNetworkPolicy,
  desiredPodDisruptionBudget,
  desiredService,
  endpointOf,
} from '../desired.ts';
import { desiredServiceAccount } from '../desired-access.ts';
import { ensureChild } from '../ensure.ts';
import type { ServerStep } from '../run.ts';
import { mark } from './mark.ts';

export const workloadsStep: ServerStep = async (run) => {
  const { ctx, server, status, signal } = run;
  const ns = server.metadata.namespace ?? '';
  const names = childNames(server);
  await ensureChild(run, Resources.ServiceAccount, desiredServiceAccount(server, status.iam));
  const deployment = await ensureChild<V1Deployment>(
    run,
    Resources.Deployment,
    desiredDeployment(server, ctx.workload, run.hostKeysDigest, status.iam),
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
