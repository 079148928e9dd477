// Condition helpers (cert-manager's apiutil.SetCondition): stamp observedGeneration, keep lastTransitionTime unless
// the status flips, and compare statuses deeply so a reconcile writes status only when something changed.
import { isDeepStrictEqual } from 'node:util';
import { asReason, Reason } from '../api/conditions.ts';
import type { Condition } from '../api/types.generated.ts';
import { StallingError, WaitingError } from './errors.ts';

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  type: string;
  status: ConditionStatus | boolean;
  /** Only from the registry (api/conditions.ts): alerts and scripts match on reasons. */
  reason: Reason;
  message: string;
}

/**
 * Returns a new list with `input` set: lastTransitionTime is kept when the status did not change (a new reason or
 * message alone is not a transition), observedGeneration is `generation`. Order of other conditions is preserved;
 * a new type is appended. Pure: `now` is injected by tests.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  generation: number | undefined,
  now: Date = new Date(),
): Condition[] {
  const status: ConditionStatus = typeof input.status === 'boolean' ? (input.status ? 'True' : 'False') : input.status;
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === input.type);
  const previous = index >= 0 ? list[index] : undefined;
  const next: Condition = {
    type: input.type,
    status,
    ...(generation !== undefined && { observedGeneration: generation }),
    lastTransitionTime:
      previous !== undefined && previous.status === status ? previous.lastTransitionTime : formatTime(now),
    reason: input.reason,
    // The schema caps messages at 32 KiB; S3 or API errors can be longer.
    message: input.message.length > 32_000 ? `${input.message.slice(0, 32_000)}...` : input.message,
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/**
 * Summarises dependencies into the Ready condition: the first condition of `dependsOn` that is not True decides
 * the reason and message (in the given order, so the most basic failure shows); all True gives `readyReason`.
 */
export function summarizeReady(
  conditions: readonly Condition[] | undefined,
  dependsOn: readonly string[],
  generation: number | undefined,
  readyReason: Reason,
  readyMessage: string,
  now: Date = new Date(),
): Condition[] {
  for (const type of dependsOn) {
    const c = getCondition(conditions, type);
    if (c === undefined) {
      return setCondition(
        conditions,
        { type: 'Ready', status: 'Unknown', reason: Reason.Progressing, message: `${type} not yet determined` },
        generation,
        now,
      );
    }
    if (c.status !== 'True') {
      return setCondition(
        conditions,
        { type: 'Ready', status: 'False', reason: asReason(c.reason), message: `${type}: ${c.message}` },
        generation,
        now,
      );
    }
  }
  return setCondition(
    conditions,
    { type: 'Ready', status: 'True', reason: readyReason, message: readyMessage },
    generation,
    now,
  );
}

/**
 * After a pass that failed with an error no condition explains (an API write failed, say), Ready must not claim
 * success: it turns False with the error's message when `supersede(ready)` lets the current Ready be replaced.
 * Stalling and Waiting errors are explained by the conditions their sub-reconciler set, so they change nothing.
 */
export function markUnexplainedFailure(
  conditions: readonly Condition[] | undefined,
  failure: unknown,
  generation: number | undefined,
  reason: Reason,
  supersede: (ready: Condition | undefined) => boolean,
): Condition[] {
  const list = [...(conditions ?? [])];
  if (failure === undefined || failure instanceof StallingError || failure instanceof WaitingError) return list;
  if (!supersede(getCondition(list, 'Ready'))) return list;
  return setCondition(
    list,
    { type: 'Ready', status: false, reason, message: String((failure as Error).message) },
    generation,
  );
}

/** Deep equality for status objects: the guard that makes status writes happen only on change. */
export function statusEqual(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(normalise(a), normalise(b));
}

// Objects read back from the API server have no `undefined` members; built ones may. Drop them before comparing.
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = normalise(v);
    return out;
  }
  return value;
}

/** RFC 3339 with second precision, as the API server stores metav1.Time (so a round trip compares equal). */
export function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
