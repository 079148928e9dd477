// Glue between the CRDs and the IAM modules: implements the controllers' IamIntegration (controllers/context.ts).
// Everything here maps fields; the decisions live in session-policy.ts, aws-role-policies.ts and aws-iam-manager.ts.

import type { IAMClient } from '@aws-sdk/client-iam';
import type { SftpUser } from '../../api/types.generated.ts';
import type { IamIntegration, PlacedServer } from '../../controllers/context.ts';
import { childNames } from '../../controllers/sftp-server/desired.ts';
import { type AwsIamManager, createAwsIamManager } from './aws-iam-manager.ts';
import type { AwsAccount, AwsIamServer, WorkloadIdentity } from './aws-role-policies.ts';
import { IamError, IamErrorCode } from './errors.ts';
import { buildSessionPolicy, type SessionPolicyServer } from './session-policy.ts';

export interface IamIntegrationOptions {
  /**
   * AWS mode only: an IAM client with the operator's own credentials and the account/partition/region the operator
   * runs in (main.ts reads them once with STS GetCallerIdentity). Absent: servers in mode AWS report IAMReady False.
   */
  readonly aws?: { readonly iam: IAMClient; readonly account: AwsAccount };
}

/** Condition reasons (CamelCase) for the IAMReady condition of servers and users. */
export const IamReason = {
  Configured: 'IAMConfigured',
  StsEndpoint: 'STSEndpointConfigured',
  RoleConflict: 'IAMRoleConflict',
  AccessDenied: 'IAMAccessDenied',
  InvalidSpec: 'IAMInvalidSpec',
  LimitExceeded: 'IAMLimitExceeded',
  NotAvailable: 'IAMNotAvailable',
  SessionPolicyTooLarge: 'SessionPolicyTooLarge',
  SessionPolicyCoarse: 'SessionPolicyCoarse',
  Error: 'IAMError',
} as const;

const REASON_BY_CODE: Partial<Record<IamErrorCode, string>> = {
  [IamErrorCode.Conflict]: IamReason.RoleConflict,
  [IamErrorCode.AccessDenied]: IamReason.AccessDenied,
  [IamErrorCode.InvalidInput]: IamReason.InvalidSpec,
  [IamErrorCode.LimitExceeded]: IamReason.LimitExceeded,
  [IamErrorCode.PolicyTooLarge]: IamReason.SessionPolicyTooLarge,
};

export function createIamIntegration(options: IamIntegrationOptions = {}): IamIntegration {
  const manager: AwsIamManager | undefined = options.aws && createAwsIamManager(options.aws);
  const account = options.aws?.account;

  return {
    async reconcileServer(placed, signal) {
      const mode = placed.placement.iam.mode;
      if (mode === 'STS') {
        const endpoint = placed.placement.iam.sts?.endpoint ?? '';
        return {
          ready: true,
          reason: IamReason.StsEndpoint,
          message: `per-login credentials from STS at ${endpoint}, scoped by each user's session policy`,
          status: { mode, stsEndpoint: endpoint },
        };
      }
      if (mode !== 'AWS') {
        return { ready: true, reason: IamReason.Configured, message: 'mode None: isolation by the path jail only' };
      }
      if (!manager || !account) {
        return {
          ready: false,
          reason: IamReason.NotAvailable,
          message: 'iam.mode AWS: the operator has no AWS IAM access configured',
          status: { mode },
        };
      }
      try {
        const r = await manager.ensure(awsServer(placed, account), signal);
        return {
          ready: true,
          reason: IamReason.Configured,
          message:
            r.changes.length > 0
              ? `roles in place (${r.changes.join('; ')})`
              : 'pod and data roles in place, policies as declared',
          status: { mode, podRoleArn: r.podRoleArn, dataRoleArn: r.dataRoleArn, policyDigest: r.policyDigest },
        };
      } catch (err) {
        // Transient (throttling, network, abort): let the controller back off. The rest is a state worth showing.
        if (!(err instanceof IamError) || err.code === IamErrorCode.Unavailable || err.code === IamErrorCode.Aborted) {
          throw err;
        }
        return {
          ready: false,
          reason: REASON_BY_CODE[err.code] ?? IamReason.Error,
          message: `${err.code}: ${err.message}`,
          status: { mode },
        };
      }
    },

    async cleanupServer({ server, placement }, signal) {
      if (placement.iam.mode !== 'AWS' || !manager) return;
      await manager.delete(
        {
          namespace: server.metadata.namespace ?? '',
          name: server.metadata.name ?? '',
          uid: server.metadata.uid ?? '',
        },
        signal,
      );
    },

    sessionPolicy(placed, user) {
      try {
        const p = buildSessionPolicy(policyUser(user), policyServer(placed, account));
        return { policy: p.packed, digest: p.digest };
      } catch (err) {
        if (!(err instanceof IamError)) throw err;
        return { error: err.code, reason: REASON_BY_CODE[err.code] ?? IamReason.Error, message: err.message };
      }
    },
  };
}

/** The users-table view of an SftpUser that the session policy depends on. */
export function policyUser(user: SftpUser) {
  const s = user.spec;
  const username = s.username ?? user.metadata.name ?? '';
  return {
    username,
    home: s.homeDirectory ?? username,
    permissions: s.permissions,
    directoryPermissions: (s.directoryPermissions ?? []).map((d) => ({ path: d.path, permissions: d.permissions })),
    logicalDirectories: (s.logicalDirectories ?? []).map((l) => ({
      path: l.path,
      prefix: l.prefix,
      ...(l.permissions !== undefined && { permissions: l.permissions }),
    })),
    // Only whether a quota exists matters to the policy (its pods then read and write usage objects).
    ...(s.quota?.maxBytes !== undefined || s.quota?.maxFiles !== undefined ? { quota: {} } : {}),
  };
}

/** Bucket, prefix and key come from the placement the operator derived from the platform's profile. */
export function policyServer(placed: PlacedServer, account: AwsAccount | undefined): SessionPolicyServer {
  const st = placed.placement;
  const aws = st.iam.mode === 'AWS';
  const kms = aws ? kmsKeyArn(placed, account) : undefined;
  return {
    bucket: st.bucket,
    prefix: st.prefix,
    ...(aws && account && { partition: account.partition }),
    ...(kms !== undefined && { kmsKeyArn: kms }),
  };
}

/** IAM resources need the key ARN; a bare key id is expanded, an alias cannot be used as a resource. */
function kmsKeyArn({ placement }: PlacedServer, account: AwsAccount | undefined): string | undefined {
  const enc = placement.encryption;
  if (enc?.type !== 'aws:kms' || !enc.kmsKeyId) return undefined;
  const id = enc.kmsKeyId;
  if (id.startsWith('arn:')) return id;
  if (id.startsWith('alias/') || !account) {
    throw new IamError(
      IamErrorCode.InvalidInput,
      "the profile's encryption.kmsKeyId must be a key ARN or key id in iam.mode AWS (IAM policies cannot name an alias)",
    );
  }
  return `arn:${account.partition}:kms:${placement.region}:${account.accountId}:key/${id}`;
}

export function awsServer(placed: PlacedServer, account: AwsAccount): AwsIamServer {
  const { server, placement } = placed;
  const aws = placement.iam.aws;
  let identity: WorkloadIdentity;
  if (aws?.irsa) identity = { kind: 'irsa', oidcProviderArn: aws.irsa.oidcProviderArn };
  else if (aws?.podIdentity) {
    identity = {
      kind: 'podIdentity',
      clusterName: aws.podIdentity.clusterName,
      ...(aws.podIdentity.accountId !== undefined && { accountId: aws.podIdentity.accountId }),
    };
  } else {
    throw new IamError(IamErrorCode.InvalidInput, 'iam.mode AWS needs iam.aws.irsa or iam.aws.podIdentity');
  }
  const kms = kmsKeyArn(placed, account);
  return {
    namespace: server.metadata.namespace ?? '',
    name: server.metadata.name ?? '',
    uid: server.metadata.uid ?? '',
    serviceAccount: childNames(server).workload,
    bucket: placement.bucket,
    prefix: placement.prefix,
    identity,
    ...(kms !== undefined && { kmsKeyArn: kms }),
    ...(aws.permissionsBoundaryArn !== undefined && { permissionsBoundaryArn: aws.permissionsBoundaryArn }),
    path: aws.path,
  };
}
