// Pure builders for the two roles of an SftpServer in AWS mode (docs/iam.md draws the chain):
//
//   pod ServiceAccount --(IRSA web identity | EKS Pod Identity)--> pod role --(AssumeRole + SourceIdentity,
//   session policy per login)--> data role --(S3 on bucket/prefix/*, KMS key)--> S3
//
// The pod role can do one thing: assume the data role. The data role holds the server-wide S3 permissions and trusts
// only the pod role, and only for sessions named `sftpgate-*` that carry a source identity (the SFTP user), so every
// S3 call in CloudTrail names the user who caused it.

import { createHash } from 'node:crypto';
import { IamError, IamErrorCode } from './errors.ts';

export const TAG_NAMESPACE = 'sftpgate.io/owner-namespace';
export const TAG_NAME = 'sftpgate.io/owner-name';
export const TAG_UID = 'sftpgate.io/owner-uid';
export const DEFAULT_IAM_PATH = '/sftpgate/';
export const POD_POLICY_NAME = 'sftpgate-pod';
export const DATA_POLICY_NAME = 'sftpgate-data';
/** A role assumed with role credentials (role chaining) lives at most one hour, whatever the role allows. */
export const DATA_ROLE_MAX_SESSION_SECONDS = 3600;

export type WorkloadIdentity =
  | { readonly kind: 'irsa'; readonly oidcProviderArn: string }
  | { readonly kind: 'podIdentity'; readonly clusterName: string; readonly accountId?: string };

/** What the IAM manager needs of an SftpServer (the controller maps spec/metadata into this). */
export interface AwsIamServer {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** The sftp pods' ServiceAccount (pinned in the pod role's trust policy). */
  readonly serviceAccount: string;
  readonly bucket: string;
  /** Server prefix; empty means the whole bucket belongs to this server. */
  readonly prefix: string;
  /** With SSE-KMS: the key ARN the data role may use. */
  readonly kmsKeyArn?: string;
  readonly identity: WorkloadIdentity;
  readonly permissionsBoundaryArn?: string;
  /** IAM path of both roles; default /sftpgate/. */
  readonly path?: string;
}

/** Where the roles live: the operator's account, partition and region (the cluster's, for Pod Identity). */
export interface AwsAccount {
  readonly accountId: string;
  readonly partition: string;
  readonly region: string;
}

export interface PolicyDoc {
  readonly Version: '2012-10-17';
  readonly Statement: readonly Readonly<Record<string, unknown>>[];
}

export interface RoleSpec {
  readonly roleName: string;
  readonly path: string;
  readonly arn: string;
  readonly trustPolicy: PolicyDoc;
  readonly policyName: string;
  readonly permissionPolicy: PolicyDoc;
  readonly tags: Readonly<Record<string, string>>;
  readonly permissionsBoundaryArn: string | undefined;
  readonly maxSessionDuration: number;
  readonly description: string;
}

export interface ServerRoles {
  readonly pod: RoleSpec;
  readonly data: RoleSpec;
  /** `sha256:<hex>` over the four documents: moves only when what the roles grant or trust moves. */
  readonly digest: string;
}

const ROLE_NAME_MAX = 64;

/**
 * Deterministic role names: `sftpgate-<namespace>-<name>-<hash>-{pod,data}`, cut to IAM's 64 characters. The hash of
 * namespace/name keeps truncated names unique; the uid is NOT in the name, so it is checked through the tags instead.
 */
export function roleNames(namespace: string, name: string): { pod: string; data: string } {
  const hash = createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 10);
  const room = ROLE_NAME_MAX - 'sftpgate-'.length - 1 - hash.length - '-data'.length;
  const slug = `${namespace}-${name}`.replace(/[^A-Za-z0-9+=,.@_-]/g, '-').slice(0, room);
  return { pod: `sftpgate-${slug}-${hash}-pod`, data: `sftpgate-${slug}-${hash}-data` };
}

export function ownershipTags(server: Pick<AwsIamServer, 'namespace' | 'name' | 'uid'>): Record<string, string> {
  return { [TAG_NAMESPACE]: server.namespace, [TAG_NAME]: server.name, [TAG_UID]: server.uid };
}

function trimPrefix(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, '');
}

/** Builds both roles. Pure; throws IamError INVALID_INPUT for values that cannot be written into a policy. */
export function buildServerRoles(server: AwsIamServer, account: AwsAccount): ServerRoles {
  const path = server.path ?? DEFAULT_IAM_PATH;
  if (!/^\/([A-Za-z0-9+=,.@_-]+\/)*$/.test(path)) {
    throw new IamError(IamErrorCode.InvalidInput, `IAM path ${JSON.stringify(path)} is not valid`);
  }
  const prefix = trimPrefix(server.prefix);
  if (/[*?$]/.test(prefix) || /[*?$/]/.test(server.bucket) || server.bucket === '') {
    throw new IamError(IamErrorCode.InvalidInput, 'bucket and prefix must not contain IAM wildcards (*, ?, $)');
  }
  const p = account.partition;
  const names = roleNames(server.namespace, server.name);
  const arnOf = (roleName: string) => `arn:${p}:iam::${account.accountId}:role${path}${roleName}`;
  const podArn = arnOf(names.pod);
  const dataArn = arnOf(names.data);
  const tags = ownershipTags(server);
  const who = `${server.namespace}/${server.name}`;

  const podTrust: PolicyDoc = { Version: '2012-10-17', Statement: [workloadTrust(server, account)] };
  const podPolicy: PolicyDoc = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'], Resource: dataArn }],
  };
  const dataTrust: PolicyDoc = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: podArn },
        Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
        // Only the broker's sessions: named sftpgate-<user>-<session> and carrying the user as source identity
        // (StringLike on an absent key is false, so a session without a source identity is refused).
        Condition: { StringLike: { 'sts:RoleSessionName': 'sftpgate-*', 'sts:SourceIdentity': '*' } },
      },
    ],
  };
  const dataPolicy = serverAccessPolicy({
    partition: p,
    bucket: server.bucket,
    prefix,
    ...(server.kmsKeyArn !== undefined ? { kmsKeyArn: server.kmsKeyArn } : {}),
  });

  const pod: RoleSpec = {
    roleName: names.pod,
    path,
    arn: podArn,
    trustPolicy: podTrust,
    policyName: POD_POLICY_NAME,
    permissionPolicy: podPolicy,
    tags,
    permissionsBoundaryArn: server.permissionsBoundaryArn,
    maxSessionDuration: 3600,
    description: `sftpgate: sftp pods of SftpServer ${who}; may only assume the data role`,
  };
  const data: RoleSpec = {
    roleName: names.data,
    path,
    arn: dataArn,
    trustPolicy: dataTrust,
    policyName: DATA_POLICY_NAME,
    permissionPolicy: dataPolicy,
    tags,
    permissionsBoundaryArn: server.permissionsBoundaryArn,
    maxSessionDuration: DATA_ROLE_MAX_SESSION_SECONDS,
    description: `sftpgate: per-login S3 access of SftpServer ${who}, scoped by session policies`,
  };
  const digest = `sha256:${createHash('sha256')
    .update(JSON.stringify([podTrust, podPolicy, dataTrust, dataPolicy, server.permissionsBoundaryArn ?? null]))
    .digest('hex')}`;
  return { pod, data, digest };
}

/**
 * The server-wide S3 ceiling: list the server prefix, object reads/writes/deletes and multipart under it, the KMS key.
 * It is the data role's permission policy (mode AWS), and the policy the base credentials of modes None and STS
 * should carry (docs/iam.md), so every mode's pod holds the same ceiling. Pure; the caller validated bucket/prefix.
 */
export function serverAccessPolicy(o: {
  readonly partition: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly kmsKeyArn?: string;
}): PolicyDoc {
  const prefix = trimPrefix(o.prefix);
  const bucketArn = `arn:${o.partition}:s3:::${o.bucket}`;
  const objects = prefix === '' ? `${bucketArn}/*` : `${bucketArn}/${prefix}/*`;
  const statements: Record<string, unknown>[] = [
    prefix === ''
      ? { Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn }
      : {
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: bucketArn,
          Condition: { StringLike: { 's3:prefix': `${prefix}/*` } },
        },
    {
      Effect: 'Allow',
      Action: [
        's3:AbortMultipartUpload',
        's3:DeleteObject',
        's3:GetObject',
        's3:GetObjectTagging',
        's3:ListMultipartUploadParts',
        's3:PutObject',
        's3:PutObjectTagging',
      ],
      Resource: objects,
    },
  ];
  if (o.kmsKeyArn !== undefined) {
    statements.push({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: o.kmsKeyArn });
  }
  return { Version: '2012-10-17', Statement: statements };
}

function workloadTrust(server: AwsIamServer, account: AwsAccount): Record<string, unknown> {
  const id = server.identity;
  if (id.kind === 'irsa') {
    const m = /^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider\/(.+)$/.exec(id.oidcProviderArn);
    const issuer = m?.[1];
    if (!issuer) {
      throw new IamError(IamErrorCode.InvalidInput, `not an OIDC provider ARN: ${JSON.stringify(id.oidcProviderArn)}`);
    }
    return {
      Effect: 'Allow',
      Principal: { Federated: id.oidcProviderArn },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: {
          [`${issuer}:sub`]: `system:serviceaccount:${server.namespace}:${server.serviceAccount}`,
          [`${issuer}:aud`]: 'sts.amazonaws.com',
        },
      },
    };
  }
  const clusterAccount = id.accountId ?? account.accountId;
  return {
    Effect: 'Allow',
    Principal: { Service: 'pods.eks.amazonaws.com' },
    Action: ['sts:AssumeRole', 'sts:TagSession'],
    Condition: {
      // Confused deputy: only this cluster's Pod Identity agent, and only for this server's ServiceAccount (EKS
      // sets these session tags on every Pod Identity session).
      StringEquals: {
        'aws:SourceAccount': clusterAccount,
        'aws:RequestTag/kubernetes-namespace': server.namespace,
        'aws:RequestTag/kubernetes-service-account': server.serviceAccount,
      },
      ArnEquals: {
        'aws:SourceArn': `arn:${account.partition}:eks:${account.region}:${clusterAccount}:cluster/${id.clusterName}`,
      },
    },
  };
}
