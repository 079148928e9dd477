// Finalizers, only where deletion needs external cleanup (S3 purge, IAM). Writes carry the object's
// resourceVersion, so a concurrent change yields 409 Conflict (retried by the controller) instead of clobbering
// another controller's finalizer.
import { finalizerName } from '../api/resources.ts';
import type { KubeClient, KubeObject, ResourceType } from './kube-client.ts';

export function hasFinalizer(object: KubeObject, finalizer: string = finalizerName): boolean {
  return (object.metadata?.finalizers ?? []).includes(finalizer);
}

export function isDeleting(object: KubeObject): boolean {
  return object.metadata?.deletionTimestamp !== undefined && object.metadata.deletionTimestamp !== null;
}

/** Adds the finalizer when missing (one write; none when present). Returns the object as the API server has it. */
export async function ensureFinalizer<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  object: T,
  finalizer: string = finalizerName,
  signal?: AbortSignal,
): Promise<T> {
  if (hasFinalizer(object, finalizer)) return object;
  return patchFinalizers(client, type, object, [...(object.metadata?.finalizers ?? []), finalizer], signal);
}

/** Removes the finalizer when present (one write; none when absent). After this the object may vanish. */
export async function removeFinalizer<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  object: T,
  finalizer: string = finalizerName,
  signal?: AbortSignal,
): Promise<T> {
  if (!hasFinalizer(object, finalizer)) return object;
  const remaining = (object.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
  return patchFinalizers(client, type, object, remaining, signal);
}

async function patchFinalizers<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  object: T,
  finalizers: string[],
  signal: AbortSignal | undefined,
): Promise<T> {
  const name = object.metadata?.name;
  if (name === undefined) throw new TypeError('finalizer patch: metadata.name is required');
  return client.mergePatch<T>(
    type,
    object.metadata?.namespace,
    name,
    { metadata: { finalizers, resourceVersion: object.metadata?.resourceVersion } },
    signal === undefined ? {} : { signal },
  );
}
