// Which prefixes a user's usage covers and when a user is next measured. Pure.
import type { SftpUser } from '../../api/types.generated.ts';

/** The annotation that asks for a measurement now; any new value is one request (docs/api.md). */
export const MEASURE_ANNOTATION = 'sftpgate.io/measure-usage';

/** The user's login name and home, as the users table has them. */
export function loginOf(user: SftpUser): { username: string; home: string } {
  const username = user.spec.username ?? user.metadata?.name ?? '';
  return { username, home: user.spec.homeDirectory ?? username };
}

const within = (p: string, ancestor: string): boolean => p === ancestor || p.startsWith(`${ancestor}/`);

/**
 * `<server prefix>/<home>` and `<server prefix>/<logical prefix>` for each logical directory, without the ones
 * inside another (so no object is counted twice for this user). Sorted for stable output.
 */
export function usagePrefixes(serverPrefix: string, user: SftpUser): string[] {
  const join = (rel: string) => (serverPrefix === '' ? rel : `${serverPrefix.replace(/\/+$/, '')}/${rel}`);
  const all = [loginOf(user).home, ...(user.spec.logicalDirectories ?? []).map((d) => d.prefix)].map(join);
  const unique = [...new Set(all)].sort();
  return unique.filter((p) => !unique.some((q) => q !== p && within(p, q)));
}

/** A pending on-demand request: the annotation's value when the last measurement did not answer it. */
export function pendingRequest(user: SftpUser): string | undefined {
  const value = user.metadata?.annotations?.[MEASURE_ANNOTATION];
  if (value === undefined || value === user.status?.usage?.request) return undefined;
  return value.slice(0, 253);
}

/** The next periodic measurement: `intervalMs` scaled by 0.8..1.2 so users measured together spread out. */
export function nextDue(now: number, intervalMs: number, random: number): number {
  return now + Math.round(intervalMs * (0.8 + 0.4 * random));
}

/** Whether the user has a quota: its uploads wait for a first measurement (the pods refuse them until then). */
export function hasQuota(user: SftpUser): boolean {
  const q = user.spec.quota;
  return q !== undefined && (q.maxBytes !== undefined || q.maxFiles !== undefined);
}

/**
 * When the measurer first looks at a user it has not measured since it started: a user measured before continues
 * its periodic cycle; a new user with a quota is measured at once (its uploads wait for it); any other new user joins
 * the cycle at a random point of the second interval (one to two intervals from now), so a bulk create neither lists
 * thousands of prefixes at once nor writes their first usage while the API server is still busy with the create
 * itself (the users' first status writes): at 10,000 users a first interval held ~800 usage writes inside the burst.
 */
export function firstDue(user: SftpUser, now: number, intervalMs: number, random: number): number {
  if (user.status?.usage?.measuredAt !== undefined) return nextDue(now, intervalMs, random);
  return hasQuota(user) ? now : now + Math.round(intervalMs * (1 + random));
}

/** An unchanged measurement refreshes status.usage.measuredAt at most this often (API writes stay rare). */
export const STATUS_REFRESH_MS = 3_600_000;

/**
 * Whether a measurement is worth a status write: the counts changed, a request is answered, a published deferral
 * is to be cleared, or the published measuredAt is older than STATUS_REFRESH_MS. The S3 object the pods read is written every time regardless.
 */
export function statusDue(
  current: { bytes?: number; files?: number; measuredAt?: string; request?: string } | undefined,
  measured: { bytes: number; files: number },
  request: string | undefined,
  now: number,
  clearDeferral = false,
): boolean {
  if (clearDeferral) return true;
  if (!current || current.bytes !== measured.bytes || current.files !== measured.files) return true;
  if (request !== undefined && request !== current.request) return true;
  const at = current.measuredAt ? Date.parse(current.measuredAt) : Number.NaN;
  return !(now - at < STATUS_REFRESH_MS);
}
