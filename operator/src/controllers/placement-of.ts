// The placement of a server from the operator's caches (profiles, namespaces, servers): the one place both
// reconcilers resolve where a server's files live, so they can never disagree.
import type { SftpServer } from '../api/types.generated.ts';
import type { BucketManager } from '../cloud/s3/types.ts';
import { isDeleting } from '../runtime/finalizers.ts';
import type { ControllerContext } from './context.ts';
import { kube } from './context.ts';
import {
  firstCome,
  locate,
  locationsOverlap,
  type Placement,
  place,
  profileLocation,
  type Refusal,
} from './placement.ts';

/** The earlier profile whose location overlaps `name`'s, if any (the later of two overlapping profiles is refused). */
export function conflictingProfile(ctx: Pick<ControllerContext, 'profiles'>, name: string): string | undefined {
  const self = ctx.profiles.get(name);
  if (!self) return undefined;
  for (const other of ctx.profiles.list()) {
    if (other.metadata.name === name || !locationsOverlap(self, other)) continue;
    if (firstCome(other, self) < 0) return other.metadata.name;
  }
  return undefined;
}

/** Admission of a live server: its placement, or the refusal to report as a condition. */
export function placementOf(
  ctx: ControllerContext,
  server: SftpServer,
): { placement: Placement } | { refusal: Refusal } {
  const ns = server.metadata.namespace ?? '';
  const profileName = server.spec.storage.profile;
  const siblings = ctx.servers
    .list()
    .filter((s) => s.metadata.namespace === ns && s.spec.storage.profile === profileName && !isDeleting(kube(s)));
  if (!siblings.some((s) => s.metadata.name === server.metadata.name)) siblings.push(server);
  const namespace = ctx.namespaces.get(ns);
  // Earlier servers of other profiles on the same bucket: the second wall against overlapping prefixes.
  const profile = ctx.profiles.get(profileName);
  const placedElsewhere = profile
    ? ctx.servers
        .list()
        .filter(
          (s) =>
            s.spec.storage.profile !== profileName &&
            !isDeleting(kube(s)) &&
            // Only servers that were placed (status is the operator's), on a profile that is not itself refused.
            s.status?.location !== undefined &&
            conflictingProfile(ctx, s.spec.storage.profile) === undefined &&
            firstCome(s, server) < 0 &&
            ctx.profiles.get(s.spec.storage.profile)?.spec.bucket === profile.spec.bucket,
        )
        .flatMap((s) => {
          const p = ctx.profiles.get(s.spec.storage.profile);
          if (!p) return [];
          const at = locate(p, s.metadata.namespace ?? '', s.metadata.name ?? '');
          return [
            {
              namespace: s.metadata.namespace ?? '',
              name: s.metadata.name ?? '',
              endpoint: profileLocation(p).endpoint,
              bucket: at.bucket,
              prefix: at.prefix,
            },
          ];
        })
    : [];
  return place({
    placedElsewhere,
    server,
    profile: ctx.profiles.get(profileName),
    namespaceLabels: namespace ? { ...namespace.metadata?.labels, 'kubernetes.io/metadata.name': ns } : undefined,
    siblings,
    conflictingProfile: conflictingProfile(ctx, profileName),
  });
}

/** Where a server's files were allotted, without admission checks (deletion); undefined when the profile is gone. */
export function allottedPlacement(ctx: ControllerContext, server: SftpServer): Placement | undefined {
  const profile = ctx.profiles.get(server.spec.storage.profile);
  if (!profile) return undefined;
  return locate(profile, server.metadata.namespace ?? '', server.metadata.name ?? '', {
    storageClass: server.spec.storage.storageClass,
  });
}

/** The bucket manager of a placed server (one S3 client per server uid). Throws StallingError on bad credentials. */
export function bucketFor(ctx: ControllerContext, server: SftpServer, placement: Placement): BucketManager {
  return ctx.storage.for(server.metadata.uid ?? '', placement, ctx.operatorSecrets, ctx.operatorNamespace);
}
