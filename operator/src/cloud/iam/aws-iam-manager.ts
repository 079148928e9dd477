// Keeps the AWS IAM side of one SftpServer (mode AWS) as buildServerRoles() describes it: the pod role and the data
// role, each with its trust policy, one inline permission policy, the ownership tags and the optional permissions
// boundary. Level-based: ensure() reads what IAM holds and writes only the differences, so a second call with no
// drift writes nothing and a policy edited in the console is put back. Roles are ours only when their tags say so
// (namespace, name AND uid): anything else with our name is a Conflict, never adopted, never modified or deleted.

import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRoleTagsCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  type Role,
  TagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateRoleCommand,
} from '@aws-sdk/client-iam';
import {
  type AwsAccount,
  type AwsIamServer,
  buildServerRoles,
  type RoleSpec,
  roleNames,
  TAG_NAME,
  TAG_NAMESPACE,
  TAG_UID,
} from './aws-role-policies.ts';
import { classifyIamError, isAlreadyExists, isNoSuchEntity } from './classify-aws-error.ts';
import { IamError, IamErrorCode } from './errors.ts';

export interface AwsIamStatus {
  readonly podRoleArn: string;
  readonly dataRoleArn: string;
  /** For `status.iam.policyDigest`. */
  readonly policyDigest: string;
  /** What this pass changed, e.g. "created role X", "repaired trust policy of X": for events and logs. */
  readonly changes: readonly string[];
}

export interface AwsIamDeleteResult {
  /** Role names deleted in this pass. */
  readonly deleted: readonly string[];
  /** Role names left alone because they are not ours (tags missing or naming another owner). */
  readonly skipped: readonly string[];
}

export interface AwsIamManager {
  /** Creates or repairs both roles. Idempotent; throws IamError (Conflict, AccessDenied, Unavailable, ...). */
  ensure(server: AwsIamServer, signal?: AbortSignal): Promise<AwsIamStatus>;
  /** Deletes the roles that carry this server's ownership tags (uid included). Idempotent; never touches others. */
  delete(server: Pick<AwsIamServer, 'namespace' | 'name' | 'uid'>, signal?: AbortSignal): Promise<AwsIamDeleteResult>;
}

export interface AwsIamManagerOptions {
  readonly iam: IAMClient;
  /** Account, partition and region the roles live in (the operator reads them once at start: GetCallerIdentity). */
  readonly account: AwsAccount;
}

type Ownership = 'ours' | 'foreign';

/** The SDK's per-call options; an absent signal must be an absent property (exactOptionalPropertyTypes). */
function o(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}

export function createAwsIamManager(options: AwsIamManagerOptions): AwsIamManager {
  const { iam, account } = options;

  /** Every IAM call goes through here: abort-aware, errors classified at the edge. */
  async function call<T>(what: string, signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
    if (signal?.aborted) throw new IamError(IamErrorCode.Aborted, `${what}: aborted`, { cause: signal.reason });
    try {
      return await run();
    } catch (err) {
      throw classifyIamError(what, err);
    }
  }

  async function getRole(roleName: string, signal: AbortSignal | undefined): Promise<Role | undefined> {
    try {
      const out = await iam.send(new GetRoleCommand({ RoleName: roleName }), o(signal));
      return out.Role;
    } catch (err) {
      if (isNoSuchEntity(err)) return undefined;
      throw classifyIamError(`get role ${roleName}`, err);
    }
  }

  async function roleTags(role: Role, signal: AbortSignal | undefined): Promise<Map<string, string>> {
    // GetRole includes tags on AWS; ListRoleTags is the documented source and pages past 100 tags.
    let tags = role.Tags;
    if (tags === undefined) {
      const out = await call(`list tags of ${role.RoleName}`, signal, () =>
        iam.send(new ListRoleTagsCommand({ RoleName: role.RoleName, MaxItems: 1000 }), o(signal)),
      );
      tags = out.Tags ?? [];
    }
    return new Map(tags.map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  /**
   * The uid tag is the proof: a Kubernetes uid is unique across the cluster's lifetime, so a role carrying it was
   * made for this very object. Namespace and name tags are for humans (and are repaired when edited); a role with our
   * name but no or another uid (a foreign role, or one left by an earlier server of the same name) is never ours.
   */
  function ownership(tags: Map<string, string>, server: Pick<AwsIamServer, 'uid'>): Ownership {
    return tags.get(TAG_UID) === server.uid ? 'ours' : 'foreign';
  }

  async function ensureRole(
    spec: RoleSpec,
    server: AwsIamServer,
    signal: AbortSignal | undefined,
    changes: string[],
  ): Promise<string> {
    let role = await getRole(spec.roleName, signal);
    if (role && role.Path !== spec.path) {
      // The path is part of the ARN and cannot be updated: replace the role, if it is ours.
      if (ownership(await roleTags(role, signal), server) !== 'ours') throw conflict(spec.roleName);
      await deleteRole(spec.roleName, signal);
      changes.push(`deleted role ${spec.roleName} to move it to path ${spec.path}`);
      role = undefined;
    }
    if (!role) {
      try {
        const out = await iam.send(
          new CreateRoleCommand({
            RoleName: spec.roleName,
            Path: spec.path,
            AssumeRolePolicyDocument: JSON.stringify(spec.trustPolicy),
            Description: spec.description,
            MaxSessionDuration: spec.maxSessionDuration,
            Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })),
            ...(spec.permissionsBoundaryArn !== undefined && { PermissionsBoundary: spec.permissionsBoundaryArn }),
          }),
          o(signal),
        );
        changes.push(`created role ${spec.roleName}`);
        role = out.Role;
      } catch (err) {
        // Another replica (or a previous pass cut short) created it in between: fall through to the checks.
        if (!isAlreadyExists(err)) throw classifyIamError(`create role ${spec.roleName}`, err);
        role = await getRole(spec.roleName, signal);
      }
      if (!role) throw new IamError(IamErrorCode.Failure, `role ${spec.roleName} vanished right after creation`);
    } else {
      await repairRole(role, spec, server, signal, changes);
    }
    await ensureOnlyOurPolicy(spec, signal, changes);
    return role.Arn ?? spec.arn;
  }

  async function repairRole(
    role: Role,
    spec: RoleSpec,
    server: AwsIamServer,
    signal: AbortSignal | undefined,
    changes: string[],
  ): Promise<void> {
    const tags = await roleTags(role, signal);
    if (ownership(tags, server) !== 'ours') throw conflict(spec.roleName, tags);
    const name = spec.roleName;
    if (!samePolicy(role.AssumeRolePolicyDocument, spec.trustPolicy)) {
      await call(`update trust policy of ${name}`, signal, () =>
        iam.send(
          new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: JSON.stringify(spec.trustPolicy) }),
          o(signal),
        ),
      );
      changes.push(`repaired trust policy of ${name}`);
    }
    if (role.MaxSessionDuration !== spec.maxSessionDuration || role.Description !== spec.description) {
      await call(`update role ${name}`, signal, () =>
        iam.send(
          new UpdateRoleCommand({
            RoleName: name,
            MaxSessionDuration: spec.maxSessionDuration,
            Description: spec.description,
          }),
          o(signal),
        ),
      );
      changes.push(`repaired settings of ${name}`);
    }
    const boundary = role.PermissionsBoundary?.PermissionsBoundaryArn;
    if (boundary !== spec.permissionsBoundaryArn) {
      const desired = spec.permissionsBoundaryArn;
      if (desired === undefined) {
        await call(`remove permissions boundary of ${name}`, signal, () =>
          iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: name }), o(signal)),
        );
      } else {
        await call(`set permissions boundary of ${name}`, signal, () =>
          iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: name, PermissionsBoundary: desired }), o(signal)),
        );
      }
      changes.push(`repaired permissions boundary of ${name}`);
    }
    // Our three tags only: other tags (cost allocation...) are the account owner's business.
    const missing = Object.entries(spec.tags).filter(([k, v]) => tags.get(k) !== v);
    if (missing.length > 0) {
      await call(`tag ${name}`, signal, () =>
        iam.send(
          new TagRoleCommand({ RoleName: name, Tags: missing.map(([Key, Value]) => ({ Key, Value })) }),
          o(signal),
        ),
      );
      changes.push(`repaired tags of ${name}`);
    }
  }

  /** Exactly one inline policy (ours, with our document) and no attached managed policy on a role we own. */
  async function ensureOnlyOurPolicy(spec: RoleSpec, signal: AbortSignal | undefined, changes: string[]) {
    const name = spec.roleName;
    let current: string | undefined;
    try {
      const out = await iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: spec.policyName }), o(signal));
      current = out.PolicyDocument;
    } catch (err) {
      if (!isNoSuchEntity(err)) throw classifyIamError(`get policy ${spec.policyName} of ${name}`, err);
    }
    if (current === undefined || !samePolicy(current, spec.permissionPolicy)) {
      await call(`put policy ${spec.policyName} on ${name}`, signal, () =>
        iam.send(
          new PutRolePolicyCommand({
            RoleName: name,
            PolicyName: spec.policyName,
            PolicyDocument: JSON.stringify(spec.permissionPolicy),
          }),
          o(signal),
        ),
      );
      changes.push(`${current === undefined ? 'put' : 'repaired'} policy ${spec.policyName} of ${name}`);
    }
    // Anything granted beside our policy would widen what every login can reach: remove it.
    for (const other of await inlinePolicies(name, signal)) {
      if (other === spec.policyName) continue;
      await call(`delete policy ${other} of ${name}`, signal, () =>
        iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: other }), o(signal)),
      );
      changes.push(`removed foreign inline policy ${other} from ${name}`);
    }
    for (const arn of await attachedPolicies(name, signal)) {
      await call(`detach ${arn} from ${name}`, signal, () =>
        iam.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: arn }), o(signal)),
      );
      changes.push(`detached managed policy ${arn} from ${name}`);
    }
  }

  async function inlinePolicies(roleName: string, signal: AbortSignal | undefined): Promise<string[]> {
    const names: string[] = [];
    let marker: string | undefined;
    do {
      const out = await call(`list policies of ${roleName}`, signal, () =>
        iam.send(
          new ListRolePoliciesCommand({ RoleName: roleName, ...(marker !== undefined && { Marker: marker }) }),
          o(signal),
        ),
      );
      names.push(...(out.PolicyNames ?? []));
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker !== undefined);
    return names;
  }

  async function attachedPolicies(roleName: string, signal: AbortSignal | undefined): Promise<string[]> {
    const arns: string[] = [];
    let marker: string | undefined;
    do {
      const out = await call(`list attached policies of ${roleName}`, signal, () =>
        iam.send(
          new ListAttachedRolePoliciesCommand({ RoleName: roleName, ...(marker !== undefined && { Marker: marker }) }),
          o(signal),
        ),
      );
      for (const p of out.AttachedPolicies ?? []) if (p.PolicyArn) arns.push(p.PolicyArn);
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker !== undefined);
    return arns;
  }

  /** Deletes a role we already proved ours: inline policies and attachments first, as IAM requires. */
  async function deleteRole(roleName: string, signal: AbortSignal | undefined): Promise<void> {
    for (const p of await inlinePolicies(roleName, signal)) {
      await call(`delete policy ${p} of ${roleName}`, signal, () =>
        iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: p }), o(signal)),
      );
    }
    for (const arn of await attachedPolicies(roleName, signal)) {
      await call(`detach ${arn} from ${roleName}`, signal, () =>
        iam.send(new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn }), o(signal)),
      );
    }
    try {
      await iam.send(new DeleteRoleCommand({ RoleName: roleName }), o(signal));
    } catch (err) {
      if (!isNoSuchEntity(err)) throw classifyIamError(`delete role ${roleName}`, err);
    }
  }

  return {
    async ensure(server, signal) {
      const roles = buildServerRoles(server, account);
      const changes: string[] = [];
      // Pod role first: AWS resolves the data role's trust principal when the trust policy is written.
      const podRoleArn = await ensureRole(roles.pod, server, signal, changes);
      const dataRoleArn = await ensureRole(roles.data, server, signal, changes);
      return { podRoleArn, dataRoleArn, policyDigest: roles.digest, changes };
    },

    async delete(server, signal) {
      const names = roleNames(server.namespace, server.name);
      const deleted: string[] = [];
      const skipped: string[] = [];
      // Data role first: it names the pod role in its trust policy.
      for (const roleName of [names.data, names.pod]) {
        const role = await getRole(roleName, signal);
        if (!role) continue;
        if (ownership(await roleTags(role, signal), server) !== 'ours') {
          skipped.push(roleName);
          continue;
        }
        await deleteRole(roleName, signal);
        deleted.push(roleName);
      }
      return { deleted, skipped };
    },
  };
}

function conflict(roleName: string, tags?: Map<string, string>): IamError {
  const owner = tags?.get(TAG_UID)
    ? ` (tagged for ${tags.get(TAG_NAMESPACE)}/${tags.get(TAG_NAME)} uid ${tags.get(TAG_UID)})`
    : ' (no sftpgate ownership tag)';
  return new IamError(
    IamErrorCode.Conflict,
    `IAM role ${roleName} exists but is not owned by this SftpServer${owner}; sftpgate will not adopt or change it`,
  );
}

/** IAM returns documents URL-encoded (GetRole, GetRolePolicy); compare parsed JSON, not bytes. */
function samePolicy(actual: string | undefined, desired: unknown): boolean {
  if (actual === undefined) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(actual);
  } catch {
    try {
      parsed = JSON.parse(decodeURIComponent(actual));
    } catch {
      return false;
    }
  }
  return canonical(parsed) === canonical(desired);
}

/** JSON with sorted keys, so key order in IAM's answer does not count as drift. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
