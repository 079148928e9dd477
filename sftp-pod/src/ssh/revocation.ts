// What a users-table change means for a live session. A session was admitted under one version of the user's record;
// any change that could have refused that login or narrowed what it may do (keys, password, permissions, home,
// logical directories, session policy, source ranges, session limit, disabled, expired, removed) ends it: the client
// logs in again under the new record. Only bandwidth and quota are applied to the live session.
import type { UserRecord } from '../users/types.ts';
import { policyRefusal } from './auth.ts';

/** Fields a live session takes over from a new record instead of being ended. */
const LIVE_FIELDS: ReadonlySet<string> = new Set(['bandwidth', 'quota']);

export type RevocationReason = 'removed' | 'disabled' | 'expired' | 'cidr' | 'changed';

/** JSON with sorted keys, so two records equal in content compare equal whatever order their source wrote. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function withoutLiveFields(user: UserRecord): Record<string, unknown> {
  return Object.fromEntries(Object.entries(user).filter(([k]) => !LIVE_FIELDS.has(k)));
}

/**
 * Why a session admitted under `admitted` must end now that the table holds `current` (undefined: the user is
 * gone), or undefined when it may continue (then `current` replaces the session's record). Pure.
 */
export function revocationReason(
  admitted: UserRecord,
  current: UserRecord | undefined,
  address: string,
  now = Date.now(),
): RevocationReason | undefined {
  if (!current) return 'removed';
  const refusal = policyRefusal(current, address, now);
  if (refusal) return refusal;
  if (admitted === current) return undefined;
  return canonical(withoutLiveFields(admitted)) === canonical(withoutLiveFields(current)) ? undefined : 'changed';
}
