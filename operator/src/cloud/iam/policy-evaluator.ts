// A small IAM policy evaluator: does a policy document allow one request (action, resource ARN, condition context)?
// It implements the parts of AWS's evaluation logic that sftpgate's generated documents use — Allow/Deny with an
// explicit Deny winning, Action/NotAction and Resource/NotResource with `*` and `?` wildcards, and the String*, Arn*
// and Null condition operators (with the IfExists and ForAllValues/ForAnyValue forms) — and THROWS on anything else
// (policy variables, other operators), so a document it cannot judge is never reported as allowing a call.
// Tests use it to check every recorded AWS call against the policy the calling component holds (docs/iam.md).

import type { PolicyDoc } from './aws-role-policies.ts';

/** One authorisation question: e.g. `s3:ListBucket` on `arn:aws:s3:::b` with `{ 's3:prefix': 'p/' }`. */
export interface PolicyRequest {
  readonly action: string;
  readonly resource: string;
  /** Condition keys (case-insensitive names); an absent key is absent, not empty. */
  readonly context?: Readonly<Record<string, string | readonly string[] | undefined>>;
}

export type Decision = 'allow' | 'explicit-deny' | 'implicit-deny';

export class PolicyEvaluationError extends Error {
  readonly code = 'SFTPGATE_IAM_POLICY_UNSUPPORTED';
  constructor(message: string) {
    super(message);
    this.name = 'PolicyEvaluationError';
  }
}

type Statement = Readonly<Record<string, unknown>>;

const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/** IAM wildcard match: `*` any run of characters (also none), `?` exactly one. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  if (pattern.includes('${')) throw new PolicyEvaluationError(`policy variables are not supported: ${pattern}`);
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, ignoreCase ? 'is' : 's').test(value);
}

function contextValues(req: PolicyRequest, key: string): string[] | undefined {
  for (const [k, v] of Object.entries(req.context ?? {})) {
    if (k.toLowerCase() === key.toLowerCase()) return v === undefined ? undefined : list(v);
  }
  return undefined;
}

const STRING_TESTS: Readonly<Record<string, (pattern: string, value: string) => boolean>> = {
  StringEquals: (p, v) => p === v,
  StringNotEquals: (p, v) => p === v,
  StringEqualsIgnoreCase: (p, v) => p.toLowerCase() === v.toLowerCase(),
  StringNotEqualsIgnoreCase: (p, v) => p.toLowerCase() === v.toLowerCase(),
  StringLike: (p, v) => wildcardMatch(p, v),
  StringNotLike: (p, v) => wildcardMatch(p, v),
  ArnEquals: (p, v) => wildcardMatch(p, v),
  ArnLike: (p, v) => wildcardMatch(p, v),
  ArnNotEquals: (p, v) => wildcardMatch(p, v),
  ArnNotLike: (p, v) => wildcardMatch(p, v),
};
const NEGATED = new Set([
  'StringNotEquals',
  'StringNotEqualsIgnoreCase',
  'StringNotLike',
  'ArnNotEquals',
  'ArnNotLike',
]);

/** One operator block over one key: AWS semantics for absent keys, multi-valued keys and IfExists. */
function conditionHolds(operator: string, key: string, expected: string[], req: PolicyRequest): boolean {
  const values = contextValues(req, key);
  if (operator === 'Null') {
    const wantAbsent = expected.some((e) => e === 'true');
    return wantAbsent === (values === undefined || values.length === 0);
  }
  let op = operator;
  let setOp: 'ForAllValues' | 'ForAnyValue' | undefined;
  const set = /^(ForAllValues|ForAnyValue):(.+)$/.exec(op);
  if (set) {
    setOp = set[1] as 'ForAllValues' | 'ForAnyValue';
    op = set[2] ?? '';
  }
  const ifExists = op.endsWith('IfExists');
  if (ifExists) op = op.slice(0, -'IfExists'.length);
  const test = STRING_TESTS[op];
  if (!test) throw new PolicyEvaluationError(`condition operator ${operator} is not supported`);
  const negated = NEGATED.has(op);
  if (values === undefined || values.length === 0) {
    // ForAllValues over an empty set is true; a plain operator on an absent key is false (negated: true).
    if (setOp === 'ForAllValues') return true;
    if (setOp === 'ForAnyValue') return false;
    return ifExists || negated;
  }
  const one = (v: string) => {
    const hit = expected.some((e) => test(e, v));
    return negated ? !hit : hit;
  };
  if (setOp === 'ForAllValues') return values.every(one);
  // A single-valued key with a plain operator, or ForAnyValue: any value satisfying it is enough.
  return values.some(one);
}

function statementMatches(s: Statement, req: PolicyRequest): boolean {
  for (const k of Object.keys(s)) {
    if (!['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition', 'Principal'].includes(k)) {
      throw new PolicyEvaluationError(`statement element ${k} is not supported`);
    }
  }
  const actionHit = (patterns: string[]) => patterns.some((p) => wildcardMatch(p, req.action, true));
  const resourceHit = (patterns: string[]) => patterns.some((p) => wildcardMatch(p, req.resource));
  if (s['Action'] !== undefined ? !actionHit(list(s['Action'])) : actionHit(list(s['NotAction']))) return false;
  if (s['Resource'] !== undefined ? !resourceHit(list(s['Resource'])) : resourceHit(list(s['NotResource']))) {
    return false;
  }
  const condition = (s['Condition'] ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(condition).every(([operator, block]) =>
    Object.entries(block).every(([key, expected]) => conditionHolds(operator, key, list(expected), req)),
  );
}

/** The decision of one policy document: an explicit Deny wins, then any Allow, else the implicit deny. */
export function evaluatePolicy(policy: PolicyDoc | string, req: PolicyRequest): Decision {
  const doc = (typeof policy === 'string' ? JSON.parse(policy) : policy) as { Statement?: unknown };
  const all = (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]) as Statement[];
  let allowed = false;
  for (const s of all) {
    if (!statementMatches(s, req)) continue;
    if (s['Effect'] === 'Deny') return 'explicit-deny';
    if (s['Effect'] === 'Allow') allowed = true;
    else throw new PolicyEvaluationError(`statement Effect ${String(s['Effect'])} is not Allow or Deny`);
  }
  return allowed ? 'allow' : 'implicit-deny';
}

/**
 * Whether a principal holding ALL of these documents at once may make the request: the intersection a session
 * policy makes with its role's (or MinIO user's) policy — every document must allow it, and none may deny it.
 */
export function allowedByAll(policies: readonly (PolicyDoc | string)[], req: PolicyRequest): boolean {
  return policies.length > 0 && policies.every((p) => evaluatePolicy(p, req) === 'allow');
}
