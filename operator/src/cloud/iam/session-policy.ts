// The per-user session ("scope-down") policy: the second wall behind the pod's path jail. Each login's temporary S3
// credentials carry it, so S3 itself refuses a request outside the user's prefixes whatever the pod's code does.
//
// Pure and deterministic: the same user + server always give the same bytes (sorted actions, resources and
// statements; statements with the same actions merged), so the digest in the user's status only moves when the
// effective permissions do. See docs/iam.md for the permission -> action table and worked examples.
//
// Semantics mirror the jail (sftp-pod/src/storage/jail.ts): the user's `/` is `<server prefix>/<home>/`, logical
// directories map an entry path to another prefix, and permissions at a path come from the longest matching rule
// (directoryPermissions beat a logical directory's own permissions on the same path, which beat the user default).
// The policy is EXACT except in two documented cases where it is broader than the jail, never narrower:
//  - a directory that loses an action while a directory below it gets it back cannot be denied (IAM has no
//    "allow below a deny"), so the parent keeps the action;
//  - under the user's home, keys shadowed by a logical directory's entry stay reachable through S3.
// Both stay inside the user's own prefixes, which is the property the wall exists for: tenant isolation.

import { createHash } from 'node:crypto';
import { usagePrefix } from '../../../../common/src/quota/usage-document.ts';
import type { Permission } from '../../../../common/src/users/permission.ts';
import type { AccessRules, UserRecord } from '../../../../common/src/users/types.ts';
import { IamError, IamErrorCode, PolicyTooLargeError } from './errors.ts';

/** STS's cap on an inline session policy (AWS: 2,048 characters of plaintext; MinIO: 2,048 bytes). */
export const SESSION_POLICY_MAX_BYTES = 2048;

export { PERMISSIONS, type Permission } from '../../../../common/src/users/permission.ts';

/**
 * S3 actions each SFTP permission needs. ListBucket also comes with every permission that must tell what exists
 * before acting (overwrite check on upload, rmdir's emptiness check, directory rename enumeration, mkdir's existence
 * check): without it S3 answers 403 for a missing key and the jail could not enforce its own rules. `overwrite` adds
 * nothing: S3 cannot tell a create from a replace in a portable way, so the jail enforces it (docs/iam.md).
 */
export const PERMISSION_ACTIONS: Readonly<Record<Permission, readonly S3Action[]>> = {
  list: ['s3:ListBucket'],
  // Tags carry the times and hashes known only after an object's first request (a multipart upload's, `put -p`,
  // SETSTAT): reading them is part of STAT and checksums, writing them part of upload, rename and setstat.
  download: ['s3:GetObject', 's3:GetObjectTagging'],
  upload: [
    's3:PutObject',
    's3:PutObjectTagging',
    's3:AbortMultipartUpload',
    's3:ListMultipartUploadParts',
    's3:ListBucket',
  ],
  overwrite: [],
  delete: ['s3:DeleteObject', 's3:ListBucket'],
  // Server-side copy (multipart copy above 5 GiB, aborted on failure) then delete of the source.
  rename: [
    's3:GetObject',
    's3:GetObjectTagging',
    's3:PutObject',
    's3:PutObjectTagging',
    's3:DeleteObject',
    's3:AbortMultipartUpload',
    's3:ListBucket',
  ],
  mkdir: ['s3:PutObject', 's3:ListBucket'],
  // utimes of a file rewrites its tags (no copy); of a directory, its marker object.
  setstat: ['s3:GetObject', 's3:GetObjectTagging', 's3:PutObject', 's3:PutObjectTagging'],
};

export type S3Action =
  | 's3:ListBucket'
  | 's3:GetObject'
  | 's3:GetObjectTagging'
  | 's3:PutObject'
  | 's3:PutObjectTagging'
  | 's3:AbortMultipartUpload'
  | 's3:ListMultipartUploadParts'
  | 's3:DeleteObject';

/** The slice of a users-table entry (docs/users-table.md) the policy depends on; home defaults to the username. */
export type SessionPolicyUser = Pick<UserRecord, 'username' | 'home'> &
  AccessRules & {
    /** Present when the user has a quota: the pods then read and write the user's usage objects. */
    readonly quota?: object | undefined;
  };

export interface SessionPolicyServer {
  readonly bucket: string;
  /** The server prefix (may be empty); user homes and logical prefixes live below it. */
  readonly prefix: string;
  /** ARN partition: `aws` (default; also what MinIO expects), `aws-cn`, `aws-us-gov`. */
  readonly partition?: string;
  /** With SSE-KMS: the key's ARN; the session policy must allow it too, or the intersection denies it. */
  readonly kmsKeyArn?: string;
}

export interface PolicyStatement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: { readonly StringLike: { readonly 's3:prefix': string | readonly string[] } };
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

export interface SessionPolicy {
  readonly document: PolicyDocument;
  /** The packed (whitespace-free) JSON passed as STS's `Policy` and stored in the users table. */
  readonly packed: string;
  /** Size of `packed` in UTF-8 bytes (what MinIO counts; AWS counts characters, never more). */
  readonly size: number;
  /** `sha256:<hex>` of `packed`, for the user's `status.policyDigest`. */
  readonly digest: string;
  /**
   * `exact`: every directory override is in the policy. `coarse`: the Deny statements for restrictive overrides did
   * not fit, so inside the user's own prefixes only the jail enforces them (the user's status should say so).
   */
  readonly precision: 'exact' | 'coarse';
}

/** `sha256:<hex>` of a packed policy. */
export function policyDigest(packed: string): string {
  return `sha256:${createHash('sha256').update(packed, 'utf8').digest('hex')}`;
}

/**
 * Builds the user's session policy. Pure and deterministic. Throws PolicyTooLargeError when even the coarse form
 * exceeds SESSION_POLICY_MAX_BYTES, IamError INVALID_INPUT when a prefix cannot be written into a policy.
 */
export function buildSessionPolicy(user: SessionPolicyUser, server: SessionPolicyServer): SessionPolicy {
  const nodes = resolveNodes(user, server);
  const usage = user.quota ? usageStatements(user.username, server) : [];
  // The resumable-upload grant goes first when space is short: without it an interrupted upload is only aborted.
  let size = 0;
  for (const precision of ['exact', 'coarse'] as const) {
    for (const resume of [user.username, undefined]) {
      const p = render(nodes, server, precision === 'exact', resume, usage);
      if (p.size <= SESSION_POLICY_MAX_BYTES) return { ...p, precision };
      size = p.size;
    }
  }
  throw new PolicyTooLargeError(user.username, size, SESSION_POLICY_MAX_BYTES);
}

/** A significant point of the user's tree: its S3 key prefix (no trailing slash) and the S3 actions allowed there. */
interface Node {
  readonly key: string;
  readonly actions: ReadonlySet<S3Action>;
}

// `*` and `?` are wildcards in IAM resources and conditions and `${` starts a policy variable. IAM has escapes for
// them, MinIO does not: refuse them rather than grant a wildcard.
const UNSAFE = /[*?$]/;

function segmentsOf(what: string, value: string, allowEmpty: boolean): string[] {
  const trimmed = value.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') {
    if (allowEmpty) return [];
    throw new IamError(IamErrorCode.InvalidInput, `${what} must not be empty`);
  }
  const segments = trimmed.split('/');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || s.includes('\0')) {
      throw new IamError(
        IamErrorCode.InvalidInput,
        `${what} ${JSON.stringify(value)} has an empty, '.' or '..' segment`,
      );
    }
    if (UNSAFE.test(s)) {
      throw new IamError(
        IamErrorCode.InvalidInput,
        `${what} ${JSON.stringify(value)} contains '*', '?' or '$', which IAM policies treat as wildcards`,
      );
    }
  }
  return segments;
}

function virtualSegments(what: string, value: string): string[] {
  if (!value.startsWith('/'))
    throw new IamError(IamErrorCode.InvalidInput, `${what} ${JSON.stringify(value)} must start with '/'`);
  return value === '/' ? [] : segmentsOf(what, value, false);
}

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((s, i) => path[i] === s);
}

function actionsOf(perms: Iterable<Permission>): Set<S3Action> {
  const out = new Set<S3Action>();
  for (const p of perms) for (const a of PERMISSION_ACTIONS[p] ?? []) out.add(a);
  return out;
}

/** The jail's resolution, evaluated at every path where the answer can change: `/`, logical entries, overrides. */
function resolveNodes(user: SessionPolicyUser, server: SessionPolicyServer): Node[] {
  if (server.bucket === '' || UNSAFE.test(server.bucket) || server.bucket.includes('/')) {
    throw new IamError(IamErrorCode.InvalidInput, `bucket name ${JSON.stringify(server.bucket)} is not valid`);
  }
  const base = segmentsOf('server prefix', server.prefix, true);
  const home = segmentsOf('home', user.home ?? user.username, false);
  const mounts = [{ at: [] as string[], key: [...base, ...home] }];
  const rules: { at: string[]; perms: readonly Permission[]; rank: number }[] = [
    { at: [], perms: user.permissions, rank: 0 },
  ];
  for (const ld of user.logicalDirectories ?? []) {
    const at = virtualSegments('logical directory path', ld.path);
    mounts.push({ at, key: [...base, ...segmentsOf('logical directory prefix', ld.prefix, false)] });
    if (ld.permissions) rules.push({ at, perms: ld.permissions, rank: 1 });
  }
  for (const dp of user.directoryPermissions ?? []) {
    rules.push({ at: virtualSegments('directory permission path', dp.path), perms: dp.permissions, rank: 2 });
  }
  rules.sort((a, b) => b.at.length - a.at.length || b.rank - a.rank);
  mounts.sort((a, b) => b.at.length - a.at.length);

  const points = new Map<string, string[]>();
  for (const p of [...mounts.map((m) => m.at), ...rules.map((r) => r.at)]) points.set(p.join('/'), p);
  const nodes: Node[] = [];
  for (const at of points.values()) {
    const mount = mounts.find((m) => startsWith(at, m.at));
    const rule = rules.find((r) => startsWith(at, r.at));
    if (!mount || !rule) continue; // unreachable: the root mount and rule match every path
    nodes.push({ key: [...mount.key, ...at.slice(mount.at.length)].join('/'), actions: actionsOf(rule.perms) });
  }
  return nodes;
}

/** Is `key` the prefix `ancestor` or below it, on whole segments? */
function within(key: string, ancestor: string): boolean {
  return key === ancestor || key.startsWith(`${ancestor}/`);
}

function minimal(keys: Iterable<string>): string[] {
  const sorted = [...new Set(keys)].sort();
  return sorted.filter((k) => !sorted.some((o) => o !== k && within(k, o)));
}

const ALL_ACTIONS: readonly S3Action[] = [
  's3:ListBucket',
  's3:GetObject',
  's3:GetObjectTagging',
  's3:PutObject',
  's3:PutObjectTagging',
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts',
  's3:DeleteObject',
];

/** Per action: the prefixes to allow and to deny. */
function decide(nodes: readonly Node[], withDenies: boolean): Map<S3Action, { allow: string[]; deny: string[] }> {
  const out = new Map<S3Action, { allow: string[]; deny: string[] }>();
  for (const action of ALL_ACTIONS) {
    // Two points on the same key (a logical prefix that is also a home subdirectory) resolve to allow: the wall may
    // be broader than the jail, never narrower.
    const allowed = new Set(nodes.filter((n) => n.actions.has(action)).map((n) => n.key));
    const allow = minimal(allowed);
    const deny = withDenies
      ? minimal(
          nodes
            .filter((n) => !allowed.has(n.key))
            .map((n) => n.key)
            .filter((k) => allow.some((a) => within(k, a)))
            // A deny cannot be undone below it: keep the action where some deeper point gets it back.
            .filter((k) => ![...allowed].some((a) => a !== k && within(a, k))),
        )
      : [];
    if (allow.length > 0) out.set(action, { allow, deny });
  }
  return out;
}

function one<T>(items: readonly T[]): T | readonly T[] {
  return items.length === 1 ? (items[0] as T) : items;
}

/**
 * A user with a quota: the pods read the operator's measurement and the other pods' leases, and write their own,
 * under `<server prefix>/.sftpgate/usage/<user>/` (common/src/quota/usage-document.ts) — that user's only.
 */
function usageStatements(username: string, server: SessionPolicyServer): PolicyStatement[] {
  const bucketArn = `arn:${server.partition ?? 'aws'}:s3:::${server.bucket}`;
  if (UNSAFE.test(username))
    throw new IamError(IamErrorCode.InvalidInput, `username ${username} cannot be in a policy`);
  const prefix = usagePrefix(server.prefix.replace(/\/+$/, ''), username);
  return [
    {
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: bucketArn,
      Condition: { StringLike: { 's3:prefix': `${prefix}*` } },
    },
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `${bucketArn}/${prefix}*` },
  ];
}

function render(
  nodes: readonly Node[],
  server: SessionPolicyServer,
  withDenies: boolean,
  /** Grant this user's resumable-upload state objects (undefined: no grant). */
  username: string | undefined,
  extra: readonly PolicyStatement[] = [],
): Omit<SessionPolicy, 'precision'> {
  const partition = server.partition ?? 'aws';
  const bucketArn = `arn:${partition}:s3:::${server.bucket}`;
  const decided = decide(nodes, withDenies);
  const statements: PolicyStatement[] = [];

  const list = decided.get('s3:ListBucket');
  // `p/*` also matches the prefix `p/` itself (`*` matches the empty string), so one pattern per prefix lists a
  // directory and everything below it, and never the sibling `p2/`.
  if (list) {
    statements.push({
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: bucketArn,
      Condition: { StringLike: { 's3:prefix': one(list.allow.map((k) => `${k}/*`)) } },
    });
  }
  statements.push(...objectStatements('Allow', decided, 'allow', bucketArn));
  // A user who uploads may leave an interrupted upload for a later resume: its state object is theirs alone.
  const resume =
    username !== undefined && decided.has('s3:ListMultipartUploadParts')
      ? resumeStateResource(server, username)
      : undefined;
  if (resume !== undefined) {
    statements.push({
      Effect: 'Allow',
      Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
      Resource: `${bucketArn}/${resume}`,
    });
  }
  statements.push(...extra);

  if (server.kmsKeyArn !== undefined) {
    // Reads decrypt; writes generate data keys, and a multipart upload also decrypts them to complete.
    const kms = new Set<string>();
    if (decided.has('s3:GetObject') || decided.has('s3:PutObject')) kms.add('kms:Decrypt');
    if (decided.has('s3:PutObject')) kms.add('kms:GenerateDataKey');
    if (kms.size > 0) statements.push({ Effect: 'Allow', Action: one([...kms].sort()), Resource: server.kmsKeyArn });
  }

  if (list && list.deny.length > 0) {
    statements.push({
      Effect: 'Deny',
      Action: 's3:ListBucket',
      Resource: bucketArn,
      Condition: { StringLike: { 's3:prefix': one(list.deny.map((k) => `${k}/*`)) } },
    });
  }
  statements.push(...objectStatements('Deny', decided, 'deny', bucketArn));

  // A user with no permission at all still gets a valid document: STS refuses an empty Statement list.
  if (statements.length === 0) statements.push({ Effect: 'Deny', Action: 's3:*', Resource: '*' });
  const document: PolicyDocument = { Version: '2012-10-17', Statement: statements };
  const packed = JSON.stringify(document);
  return { document, packed, size: Buffer.byteLength(packed, 'utf8'), digest: policyDigest(packed) };
}

/**
 * The sftp pod's resumable-upload state of one user, `<prefix>/.sftpgate/uploads/<user>/*` (the pod's
 * storage/resume-state.ts; docs/storage.md "Resumable uploads"); undefined for a name IAM would read as a wildcard.
 */
function resumeStateResource(server: SessionPolicyServer, username: string): string | undefined {
  const user = encodeURIComponent(username);
  if (UNSAFE.test(user)) return undefined;
  const prefix = server.prefix.replace(/^\/+|\/+$/g, '');
  return `${prefix === '' ? '' : `${prefix}/`}.sftpgate/uploads/${user}/*`;
}

/** Object statements, one per distinct action set (prefixes with the same actions share a statement). */
function objectStatements(
  effect: 'Allow' | 'Deny',
  decided: ReadonlyMap<S3Action, { allow: string[]; deny: string[] }>,
  side: 'allow' | 'deny',
  bucketArn: string,
): PolicyStatement[] {
  const byPrefix = new Map<string, S3Action[]>();
  for (const action of ALL_ACTIONS) {
    if (action === 's3:ListBucket') continue;
    for (const k of decided.get(action)?.[side] ?? []) byPrefix.set(k, [...(byPrefix.get(k) ?? []), action]);
  }
  const byActions = new Map<string, string[]>();
  for (const [k, actions] of byPrefix) {
    const sig = compactTagging(actions).sort().join(',');
    byActions.set(sig, [...(byActions.get(sig) ?? []), k]);
  }
  return [...byActions.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([sig, keys]) => ({
      Effect: effect,
      Action: one(sig.split(',')),
      // A deny spares the directory's own `k/` marker (`?*`: at least one character): creating or removing the
      // directory is an operation on its parent, which the jail decides.
      Resource: one(keys.sort().map((k) => `${bucketArn}/${k}/${effect === 'Deny' ? '?*' : '*'}`)),
    }));
}

/**
 * Both tagging actions as `s3:*ObjectTagging` (23 bytes less per statement, which keeps the largest supported spec
 * under STS's 2,048 bytes). The pattern also matches s3:DeleteObjectTagging, which grants nothing s3:PutObjectTagging
 * does not: putting an empty tag set deletes the tags. Only when both are present, so neither is ever widened alone.
 */
function compactTagging(actions: readonly string[]): string[] {
  if (!actions.includes('s3:GetObjectTagging') || !actions.includes('s3:PutObjectTagging')) return [...actions];
  return [...actions.filter((a) => a !== 's3:GetObjectTagging' && a !== 's3:PutObjectTagging'), 's3:*ObjectTagging'];
}
