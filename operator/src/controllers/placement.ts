// Where a server's files live, derived by the operator from the platform's profile — never chosen by the tenant.
// Pure: the same server, profile and namespace labels always give the same placement or the same refusal.
import { createHash } from 'node:crypto';
import { Reason } from '../api/conditions.ts';
import type {
  SftpServer,
  SftpStorageProfile,
  SftpStorageProfileIam,
  SftpStorageProfileNamespaceSelector,
  SftpStorageProfileNotificationsAllowedDestination,
} from '../api/types.generated.ts';
import type { LifecycleSettings } from '../cloud/s3/types.ts';

/** Everything the operator and the pods need to reach a server's allotted prefix. */
export interface Placement {
  readonly profile: string;
  readonly bucket: string;
  readonly region: string;
  readonly endpoint?: string | undefined;
  readonly forcePathStyle: boolean;
  readonly caBundle?: string | undefined;
  /** `<root>/<namespace>/<server>`, no leading or trailing slash. */
  readonly prefix: string;
  /** The credentials Secret, in the operator's namespace; absent: workload identity. */
  readonly credentials?:
    | { readonly name: string; readonly accessKeyIdKey: string; readonly secretAccessKeyKey: string }
    | undefined;
  readonly encryption?: { readonly type: 'AES256' | 'aws:kms'; readonly kmsKeyId?: string | undefined } | undefined;
  readonly storageClass?: string | undefined;
  readonly lifecycle: LifecycleSettings;
  /** Our lifecycle rule: id derived from profile + namespace + server, filter on the prefix. */
  readonly rule: { readonly id: string; readonly prefix: string };
  readonly iam: SftpStorageProfileIam;
  /** Webhook destinations the profile allows (spec.notifications.allowedDestinations); none when absent. */
  readonly notifications?: readonly SftpStorageProfileNotificationsAllowedDestination[] | undefined;
}

export interface Refusal {
  readonly reason: Reason;
  readonly message: string;
}

/** Joins non-empty segments with '/'. */
function join(...segments: string[]): string {
  return segments.filter((s) => s !== '').join('/');
}

/** The prefix the operator allots a server: `<root>/<namespace>/<server>`. Names cannot contain '/', so no two collide. */
export function serverPrefix(profile: SftpStorageProfile, namespace: string, name: string): string {
  return join(profile.spec.root, namespace, name);
}

/**
 * Our lifecycle rule id for one server of one profile: readable, unique per (profile, namespace, server), within S3's
 * 255 characters. Ids the operator does not derive are never touched (bucket-manager.ts).
 */
export function lifecycleRuleId(profile: string, namespace: string, server: string): string {
  const digest = createHash('sha256').update(`${profile}/${namespace}/${server}`).digest('hex').slice(0, 12);
  return `sftpgate-${digest}-${`${profile}.${namespace}.${server}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200)}`;
}

/** metav1.LabelSelector semantics; an empty selector selects everything. */
export function selects(
  selector: SftpStorageProfileNamespaceSelector,
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    const ok =
      e.operator === 'In'
        ? has && values.includes(value ?? '')
        : e.operator === 'NotIn'
          ? !has || !values.includes(value ?? '')
          : e.operator === 'Exists'
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}

/** The location a profile owns: endpoint + bucket + root. */
export function profileLocation(p: SftpStorageProfile): { endpoint: string; bucket: string; root: string } {
  return { endpoint: p.spec.endpoint ?? 's3.amazonaws.com', bucket: p.spec.bucket, root: p.spec.root };
}

/** Whether two profiles' locations overlap: same endpoint and bucket, and one root equals or contains the other. */
export function locationsOverlap(a: SftpStorageProfile, b: SftpStorageProfile): boolean {
  const x = profileLocation(a);
  const y = profileLocation(b);
  return x.endpoint === y.endpoint && x.bucket === y.bucket && prefixesOverlap(x.root, y.root);
}

/** Stable order for "first come": creation time, then name (the API server's timestamps have second precision). */
export function firstCome<T extends { metadata: { creationTimestamp?: Date | string | undefined; name?: string } }>(
  a: T,
  b: T,
): number {
  const ta = new Date(a.metadata.creationTimestamp ?? 0).getTime();
  const tb = new Date(b.metadata.creationTimestamp ?? 0).getTime();
  return ta - tb || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}

/** Whether `self` is among the first `max` of `all` (which contains it) in first-come order. */
export function withinCap<T extends { metadata: { creationTimestamp?: Date | string | undefined; name?: string } }>(
  all: readonly T[],
  self: T,
  max: number,
): boolean {
  const index = [...all].sort(firstCome).findIndex((o) => o.metadata.name === self.metadata.name);
  return index >= 0 && index < max;
}

export interface PlacementInputs {
  readonly server: SftpServer;
  readonly profile: SftpStorageProfile | undefined;
  /** The labels of the server's namespace as the API server has them; undefined: namespace not found. */
  readonly namespaceLabels: Readonly<Record<string, string>> | undefined;
  /** The servers of the same namespace that use the same profile (the server itself included). */
  readonly siblings: readonly SftpServer[];
  /** Another profile whose location overlaps this one and was there first, if any. */
  readonly conflictingProfile?: string | undefined;
  /**
   * Servers already placed elsewhere (other profiles on the same endpoint and bucket), first come first: a server
   * whose derived prefix would overlap one of theirs is refused. Cannot happen while profiles do not overlap; kept as
   * a second wall because a purge trusts the prefix.
   */
  readonly placedElsewhere?: readonly {
    namespace: string;
    name: string;
    endpoint: string;
    bucket: string;
    prefix: string;
  }[];
}

/** Whether two key prefixes overlap on whole segments (one equals or contains the other). */
export function prefixesOverlap(a: string, b: string): boolean {
  const within = (inner: string, outer: string) => outer === '' || inner === outer || inner.startsWith(`${outer}/`);
  return within(a, b) || within(b, a);
}

/**
 * The server's placement, or the refusal a tenant sees as a condition. Checks, in order: the profile exists, selects
 * the namespace, does not overlap an earlier profile, the server fits the namespace's cap, the storage class and
 * lifecycle settings are within what the profile allows.
 */
export function place(i: PlacementInputs): { placement: Placement } | { refusal: Refusal } {
  const { server, profile } = i;
  const ns = server.metadata.namespace ?? '';
  const name = server.metadata.name ?? '';
  const wanted = server.spec.storage;
  const refuse = (reason: Reason, message: string) => ({ refusal: { reason, message } });
  if (!profile) return refuse(Reason.ProfileNotFound, `SftpStorageProfile ${wanted.profile} not found`);
  // The same message whether the profile exists but does not select us: a tenant learns nothing about profiles it
  // may not use beyond their name, which it typed.
  if (!i.namespaceLabels || !selects(profile.spec.namespaceSelector, i.namespaceLabels)) {
    return refuse(
      Reason.NamespaceNotAllowed,
      `SftpStorageProfile ${wanted.profile} does not allow namespace ${ns} (ask the platform team)`,
    );
  }
  if (i.conflictingProfile !== undefined) {
    return refuse(
      Reason.ProfileConflict,
      `SftpStorageProfile ${wanted.profile} overlaps another profile's location and is not in use (ask the platform team)`,
    );
  }
  const cap = profile.spec.limits.maxServersPerNamespace;
  if (!withinCap(i.siblings, server, cap)) {
    return refuse(
      Reason.QuotaExceeded,
      `SftpStorageProfile ${wanted.profile} allows ${cap} SftpServer(s) per namespace; ${ns} has ${i.siblings.length}`,
    );
  }
  const classes = profile.spec.storageClasses ?? [];
  if (wanted.storageClass !== undefined && !classes.includes(wanted.storageClass)) {
    return refuse(
      Reason.StorageClassNotAllowed,
      `storage.storageClass ${wanted.storageClass} is not allowed by SftpStorageProfile ${wanted.profile} (allowed: ${classes.join(', ') || 'none, the bucket default only'})`,
    );
  }
  const lc = profile.spec.lifecycle;
  const abort = wanted.lifecycle?.abortIncompleteMultipartUploadDays ?? lc.abortIncompleteMultipartUploadDays;
  const noncurrent = wanted.lifecycle?.noncurrentVersionExpirationDays ?? lc.noncurrentVersionExpirationDays;
  const noncurrentFloor = lc.noncurrentVersionExpirationDays === 0 ? 0 : 1;
  if (abort > lc.maxAbortIncompleteMultipartUploadDays) {
    return refuse(
      Reason.LifecycleNotAllowed,
      `storage.lifecycle.abortIncompleteMultipartUploadDays ${abort} exceeds the profile's maximum ${lc.maxAbortIncompleteMultipartUploadDays}`,
    );
  }
  if (noncurrent < noncurrentFloor || noncurrent > lc.maxNoncurrentVersionExpirationDays) {
    return refuse(
      Reason.LifecycleNotAllowed,
      `storage.lifecycle.noncurrentVersionExpirationDays ${noncurrent} is outside ${noncurrentFloor}..${lc.maxNoncurrentVersionExpirationDays} (profile ${wanted.profile})`,
    );
  }
  const placement = locate(
    profile,
    ns,
    name,
    { abort, noncurrent, storageClass: wanted.storageClass },
    wanted.lifecycle?.expiredObjectDeleteMarker,
  );
  const endpoint = profileLocation(profile).endpoint;
  const other = (i.placedElsewhere ?? []).find(
    (o) => o.endpoint === endpoint && o.bucket === placement.bucket && prefixesOverlap(o.prefix, placement.prefix),
  );
  if (other) {
    // Name the other server only to its own namespace: a tenant learns nothing about another tenant.
    const who = other.namespace === ns ? `SftpServer ${other.name}` : 'a server in another namespace';
    return refuse(Reason.PrefixConflict, `the derived prefix ${placement.prefix}/ overlaps ${who}`);
  }
  return { placement };
}

/**
 * The placement of a server without the admission checks — for deletion, which must clean up exactly what was
 * allotted even when the namespace lost the right to use the profile since.
 */
export function locate(
  profile: SftpStorageProfile,
  namespace: string,
  name: string,
  choice: { abort?: number; noncurrent?: number; storageClass?: string | undefined } = {},
  expiredObjectDeleteMarker?: boolean,
): Placement {
  const p = profile.spec;
  const profileName = profile.metadata.name ?? '';
  const prefix = serverPrefix(profile, namespace, name);
  const ref = p.credentials?.secretRef;
  return {
    profile: profileName,
    bucket: p.bucket,
    region: p.region,
    endpoint: p.endpoint,
    forcePathStyle: p.forcePathStyle,
    caBundle: p.caBundle,
    prefix,
    credentials: ref
      ? { name: ref.name, accessKeyIdKey: ref.accessKeyIdKey, secretAccessKeyKey: ref.secretAccessKeyKey }
      : undefined,
    encryption: p.encryption,
    storageClass: choice.storageClass,
    lifecycle: {
      abortIncompleteMultipartUploadDays: choice.abort ?? p.lifecycle.abortIncompleteMultipartUploadDays,
      noncurrentVersionExpirationDays: choice.noncurrent ?? p.lifecycle.noncurrentVersionExpirationDays,
      expiredObjectDeleteMarker: expiredObjectDeleteMarker ?? p.lifecycle.expiredObjectDeleteMarker,
    },
    rule: { id: lifecycleRuleId(profileName, namespace, name), prefix },
    iam: p.iam,
    notifications: p.notifications?.allowedDestinations,
  };
}
