// Applies a child object only when the live one lacks a field we set, reading it from a cache where there is one.
import { type KubeObject, Resources, type ResourceType } from '../../runtime/kube-client.ts';
import type { KubeManifest } from '../context.ts';
import { needsApply } from '../drift.ts';
import { RECHECK_MS, type ServerRun } from './run.ts';

/**
 * Applies `desired` unless the live object already has every field we set (zero writes when converged). Reads the
 * live object from the cache when there is one for the type, otherwise GETs it — or, for a type without an informer,
 * trusts a verification of the identical desired object younger than RECHECK_MS. Returns the live object.
 */
export async function ensureChild<T>(run: ServerRun, type: ResourceType, desired: object): Promise<T | undefined> {
  const { ctx, memo, signal } = run;
  const meta = (desired as KubeObject).metadata;
  const ns = meta?.namespace ?? '';
  const name = meta?.name ?? '';
  const key = `${type.kind}/${ns}/${name}`;
  const text = JSON.stringify(desired);
  const informed = type === Resources.Secret || type === Resources.Deployment;
  // A LoadBalancer's address arrives in its status later: always read it.
  const volatile =
    type === Resources.Service && (desired as { spec?: { type?: string } }).spec?.type === 'LoadBalancer';
  const seen = memo.verified.get(key);
  if (!informed && !volatile && seen?.desired === text && run.now() - seen.at < RECHECK_MS) return seen.live as T;
  const cached =
    type === Resources.Secret
      ? ctx.secrets.get(`${ns}/${name}`)
      : type === Resources.Deployment
        ? ctx.deployments.get(`${ns}/${name}`)
        : await ctx.client.getOptional(type, ns, name, signal);
  let live: unknown = cached;
  if (needsApply(desired, cached)) {
    const body = JSON.parse(text.replaceAll('"_from":', '"from":')) as KubeManifest;
    live = await ctx.client.apply(type, body, { signal });
    ctx.logger.info(cached ? `Updated ${type.kind}` : `Created ${type.kind}`, { namespace: ns, name });
  }
  if (!informed) memo.verified.set(key, { desired: text, at: run.now(), live });
  return live as T;
}
