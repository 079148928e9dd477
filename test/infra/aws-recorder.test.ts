// The recorder's map from an HTTP request to the IAM questions AWS asks for it (table-driven; no server).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeAwsRequest, describeIamRequest, type IamState } from './aws-recorder.ts';

test('S3 and STS requests map to their IAM actions, resources and condition keys', () => {
  const B = 'arn:aws:s3:::b';
  const cases: Array<[string, string, string, Record<string, string>, string | undefined, string, unknown[]]> = [
    ['HeadBucket', 'HEAD', '/b', {}, undefined, 'HeadBucket', [{ action: 's3:ListBucket', resource: B, context: {} }]],
    [
      'ListObjectsV2 with prefix',
      'GET',
      '/b?list-type=2&prefix=srv%2F&max-keys=1',
      {},
      undefined,
      'ListObjectsV2',
      [{ action: 's3:ListBucket', resource: B, context: { 's3:prefix': 'srv/' } }],
    ],
    [
      'ListObjectsV2 without prefix',
      'GET',
      '/b?list-type=2',
      {},
      undefined,
      'ListObjectsV2',
      [{ action: 's3:ListBucket', resource: B, context: {} }],
    ],
    [
      'versions',
      'GET',
      '/b?versions&prefix=p%2F',
      {},
      undefined,
      'ListObjectVersions',
      [{ action: 's3:ListBucketVersions', resource: B, context: { 's3:prefix': 'p/' } }],
    ],
    [
      'lifecycle delete',
      'DELETE',
      '/b?lifecycle',
      {},
      undefined,
      'DeleteBucketLifecycle',
      [{ action: 's3:PutLifecycleConfiguration', resource: B, context: {} }],
    ],
    [
      'GetObject (SDK x-id)',
      'GET',
      '/b/p/a%20b.txt?x-id=GetObject',
      {},
      undefined,
      'GetObject',
      [{ action: 's3:GetObject', resource: `${B}/p/a b.txt` }],
    ],
    [
      'directory marker',
      'PUT',
      '/b/p/dir/?x-id=PutObject',
      {},
      undefined,
      'PutObject',
      [{ action: 's3:PutObject', resource: `${B}/p/dir/` }],
    ],
    [
      'copy',
      'PUT',
      '/b/p/new',
      { 'x-amz-copy-source': '/b/p/old%20x' },
      undefined,
      'CopyObject',
      [
        { action: 's3:PutObject', resource: `${B}/p/new` },
        { action: 's3:GetObject', resource: `${B}/p/old x` },
      ],
    ],
    [
      'part copy',
      'PUT',
      '/b/p/new?partNumber=1&uploadId=u',
      { 'x-amz-copy-source': 'b/p/old?versionId=1' },
      undefined,
      'UploadPartCopy',
      [
        { action: 's3:PutObject', resource: `${B}/p/new` },
        { action: 's3:GetObjectVersion', resource: `${B}/p/old` },
      ],
    ],
    [
      'create multipart',
      'POST',
      '/b/p/f?uploads',
      {},
      undefined,
      'CreateMultipartUpload',
      [{ action: 's3:PutObject', resource: `${B}/p/f` }],
    ],
    [
      'abort multipart',
      'DELETE',
      '/b/p/f?uploadId=u',
      {},
      undefined,
      'AbortMultipartUpload',
      [{ action: 's3:AbortMultipartUpload', resource: `${B}/p/f` }],
    ],
    [
      'list parts',
      'GET',
      '/b/p/f?uploadId=u',
      {},
      undefined,
      'ListParts',
      [{ action: 's3:ListMultipartUploadParts', resource: `${B}/p/f` }],
    ],
    [
      'delete objects, with a version',
      'POST',
      '/b?delete',
      {},
      '<Delete><Object><Key>p/a&amp;b</Key></Object><Object><Key>p/c</Key><VersionId>v1</VersionId></Object></Delete>',
      'DeleteObjects',
      [
        { action: 's3:DeleteObject', resource: `${B}/p/a&b` },
        { action: 's3:DeleteObjectVersion', resource: `${B}/p/c` },
      ],
    ],
    [
      'AssumeRole with a source identity',
      'POST',
      '/',
      {},
      'Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fd&SourceIdentity=alice',
      'AssumeRole',
      [
        { action: 'sts:AssumeRole', resource: 'arn:aws:iam::1:role/d' },
        { action: 'sts:SetSourceIdentity', resource: 'arn:aws:iam::1:role/d' },
      ],
    ],
    ['an unmapped sub-resource', 'PUT', '/b/p/f?acl', {}, undefined, 'Unknown PUT ?acl', []],
    ['bucket tagging is not mapped', 'PUT', '/b?tagging', {}, undefined, 'Unknown PUT ?tagging', []],
    [
      'object tags are read',
      'GET',
      '/b/p/f?tagging',
      {},
      undefined,
      'GetObjectTagging',
      [{ action: 's3:GetObjectTagging', resource: `${B}/p/f` }],
    ],
    [
      'object tags are written',
      'PUT',
      '/b/p/f?tagging',
      {},
      undefined,
      'PutObjectTagging',
      [{ action: 's3:PutObjectTagging', resource: `${B}/p/f` }],
    ],
  ];
  for (const [name, method, url, headers, body, operation, requests] of cases) {
    const got = describeAwsRequest(method, url, headers, body === undefined ? undefined : Buffer.from(body));
    assert.equal(got.operation, operation, name);
    assert.deepEqual(got.requests, requests, name);
  }
});

test('IAM calls: the role ARN with its path, request tags and the role tags known at the time', () => {
  const state: IamState = { accountId: '123456789012', roles: new Map() };
  const form = (o: Record<string, string>) => new URLSearchParams(o);
  // A role the recorder has not seen is named without a path, as IAM does for a missing role.
  assert.deepEqual(describeIamRequest(form({ Action: 'GetRole', RoleName: 'sftpgate-x-pod' }), state), [
    { action: 'iam:GetRole', resource: 'arn:aws:iam::123456789012:role/sftpgate-x-pod', context: {} },
  ]);
  const create = form({
    Action: 'CreateRole',
    RoleName: 'sftpgate-x-pod',
    Path: '/sftpgate/',
    'Tags.member.1.Key': 'sftpgate.io/owner-uid',
    'Tags.member.1.Value': 'u1',
  });
  const context = { 'aws:RequestTag/sftpgate.io/owner-uid': 'u1', 'aws:TagKeys': ['sftpgate.io/owner-uid'] };
  const resource = 'arn:aws:iam::123456789012:role/sftpgate/sftpgate-x-pod';
  assert.deepEqual(describeIamRequest(create, state), [
    { action: 'iam:CreateRole', resource, context },
    { action: 'iam:TagRole', resource, context },
  ]);
  state.roles.set('sftpgate-x-pod', { path: '/sftpgate/', tags: { 'sftpgate.io/owner-uid': 'u1' } });
  assert.deepEqual(describeIamRequest(form({ Action: 'DeleteRole', RoleName: 'sftpgate-x-pod' }), state), [
    { action: 'iam:DeleteRole', resource, context: { 'aws:ResourceTag/sftpgate.io/owner-uid': 'u1' } },
  ]);
});
