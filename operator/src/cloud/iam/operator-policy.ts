// The operator's own AWS permissions, as documents (docs/iam.md "The operator's own IAM policy"):
//
//   - S3: what the bucket manager (operator/src/cloud/s3) does with the storage credentials it uses — the operator's
//     own identity or a platform credentials Secret — on a bucket and the root under which it allots server
//     prefixes: bucket checks, lifecycle rules, directory markers, purges (every version).
//   - IAM (mode AWS only): the roles under the sftpgate path, changed only while they carry our ownership tag.
//
// The chart ships them rendered with placeholders (charts/sftpgate/files/operator-{s3,iam}-policy.json and
// profile-credentials-policy.json, written by `make generate`); tests run the operator's and the pods' S3 calls
// against MinIO under exactly these documents.

import type { PolicyDoc } from './aws-role-policies.ts';
import { DEFAULT_IAM_PATH, serverAccessPolicy, TAG_NAME, TAG_NAMESPACE, TAG_UID } from './aws-role-policies.ts';

export interface OperatorStorageScope {
  readonly partition?: string;
  readonly bucket: string;
  /** Root of every prefix the operator allots in this bucket; empty means the whole bucket. */
  readonly root: string;
}

/**
 * S3 statements for one bucket/root. s3:ListBucket is unconditioned: HeadBucket is authorised as a bucket-wide
 * ListBucket, and AWS answers HeadObject of a missing marker with 404 (not 403, which the manager cannot tell from a
 * refusal) only to a caller holding ListBucket. So the operator may list key names of the whole bucket; every object
 * action stays under the root.
 */
export function operatorS3Statements(scope: OperatorStorageScope): Record<string, unknown>[] {
  const p = scope.partition ?? 'aws';
  const root = scope.root.replace(/^\/+|\/+$/g, '');
  const bucket = `arn:${p}:s3:::${scope.bucket}`;
  const objects = root === '' ? `${bucket}/*` : `${bucket}/${root}/*`;
  return [
    {
      Sid: 'CheckBucketAndManageLifecycleRules',
      Effect: 'Allow',
      Action: [
        's3:GetBucketVersioning',
        's3:GetLifecycleConfiguration',
        's3:ListBucket',
        's3:PutLifecycleConfiguration',
      ],
      Resource: bucket,
    },
    {
      Sid: 'ListVersionsUnderRoot',
      Effect: 'Allow',
      Action: 's3:ListBucketVersions',
      Resource: bucket,
      ...(root === '' ? {} : { Condition: { StringLike: { 's3:prefix': `${root}/*` } } }),
    },
    {
      Sid: 'MarkersAndPurgeUnderRoot',
      Effect: 'Allow',
      Action: ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:GetObject', 's3:PutObject'],
      Resource: objects,
    },
  ];
}

export function operatorS3Policy(scopes: readonly OperatorStorageScope[]): PolicyDoc {
  return { Version: '2012-10-17', Statement: scopes.flatMap(operatorS3Statements) };
}

/**
 * The principal behind a profile's static credentials (modes None and STS): the operator uses them for the bucket
 * work above, and every server of the profile gets a copy for its pods (S3 in mode None, AssumeRole's base in STS),
 * so they need the operator's statements plus the server-wide ceiling over the whole root.
 */
export function profileCredentialsPolicy(scope: OperatorStorageScope): PolicyDoc {
  const pods = serverAccessPolicy({ partition: scope.partition ?? 'aws', bucket: scope.bucket, prefix: scope.root });
  return {
    Version: '2012-10-17',
    Statement: [
      ...operatorS3Statements(scope),
      ...pods.Statement.map((st, i) => ({
        Sid: ['PodsListUnderRoot', 'PodsObjectsUnderRoot', 'PodsKmsKey'][i],
        ...st,
      })),
    ],
  };
}

const OWNERSHIP_TAG_KEYS = [TAG_NAMESPACE, TAG_NAME, TAG_UID];

/** IAM statements of mode AWS: roles under `path` only; writes only to roles carrying our uid tag. */
export function operatorIamPolicy(o: { readonly partition?: string; readonly path?: string } = {}): PolicyDoc {
  const roles = `arn:${o.partition ?? 'aws'}:iam::*:role${o.path ?? DEFAULT_IAM_PATH}*`;
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ReadRolesUnderSftpgatePath',
        Effect: 'Allow',
        Action: [
          'iam:GetRole',
          'iam:ListRoleTags',
          'iam:GetRolePolicy',
          'iam:ListRolePolicies',
          'iam:ListAttachedRolePolicies',
        ],
        Resource: roles,
      },
      {
        // IAM authorises a call on a role that does not exist (yet, or any more) against `role/<name>` without the
        // path: without this, the first GetRole of a new server is AccessDenied instead of NoSuchEntity.
        Sid: 'LookUpRolesBeforeTheyExist',
        Effect: 'Allow',
        Action: 'iam:GetRole',
        Resource: `arn:${o.partition ?? 'aws'}:iam::*:role/sftpgate-*`,
      },
      {
        Sid: 'CreateRolesOnlyWithOwnershipTags',
        Effect: 'Allow',
        Action: 'iam:CreateRole',
        Resource: roles,
        Condition: {
          Null: { [`aws:RequestTag/${TAG_UID}`]: 'false' },
          'ForAllValues:StringEquals': { 'aws:TagKeys': OWNERSHIP_TAG_KEYS },
        },
      },
      {
        Sid: 'SetOnlyOwnershipTags',
        Effect: 'Allow',
        Action: 'iam:TagRole',
        Resource: roles,
        Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': OWNERSHIP_TAG_KEYS } },
      },
      {
        Sid: 'ChangeAndDeleteOnlyOwnedRoles',
        Effect: 'Allow',
        Action: [
          'iam:UpdateAssumeRolePolicy',
          'iam:UpdateRole',
          'iam:PutRolePolicy',
          'iam:DeleteRolePolicy',
          'iam:DetachRolePolicy',
          'iam:PutRolePermissionsBoundary',
          'iam:DeleteRolePermissionsBoundary',
          'iam:DeleteRole',
        ],
        Resource: roles,
        Condition: { Null: { [`aws:ResourceTag/${TAG_UID}`]: 'false' } },
      },
    ],
  };
}
