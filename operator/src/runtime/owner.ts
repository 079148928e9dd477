// Owner references: every child object the operator creates points at its SftpServer/SftpUser, so the garbage
// collector removes children with their owner and `kubectl get -o yaml` shows who manages what.
import type { KubeObject, OwnerReference } from './kube-client.ts';

/** A controller owner reference to `owner` (which must have been read from the API server: it needs a uid). */
export function ownerReference(owner: KubeObject, options: { controller?: boolean } = {}): OwnerReference {
  const { apiVersion, kind } = owner;
  const name = owner.metadata?.name;
  const uid = owner.metadata?.uid;
  if (apiVersion === undefined || kind === undefined || name === undefined || uid === undefined) {
    throw new TypeError('ownerReference: owner needs apiVersion, kind, metadata.name and metadata.uid');
  }
  return { apiVersion, kind, name, uid, controller: options.controller ?? true, blockOwnerDeletion: true };
}

/** Whether `object` lists `owner` (by uid) among its owners. */
export function isOwnedBy(object: KubeObject, owner: KubeObject): boolean {
  const uid = owner.metadata?.uid;
  return uid !== undefined && (object.metadata?.ownerReferences ?? []).some((ref) => ref.uid === uid);
}

/** The controller owner reference of `object`, if any (to map a child's events back to its owner's key). */
export function controllerOf(object: KubeObject): OwnerReference | undefined {
  return (object.metadata?.ownerReferences ?? []).find((ref) => ref.controller === true);
}

/** Returns `object` with `owner` as its controller reference (replacing any existing reference to the same uid). */
export function withOwner<T extends KubeObject>(object: T, owner: KubeObject): T {
  const ref = ownerReference(owner);
  const others = (object.metadata?.ownerReferences ?? []).filter((r) => r.uid !== ref.uid);
  return { ...object, metadata: { ...object.metadata, ownerReferences: [...others, ref] } };
}
