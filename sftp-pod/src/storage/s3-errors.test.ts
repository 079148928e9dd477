import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorIn200, responseError, type S3ResponseError } from '../../../common/src/s3/errors.ts';
import { isStorageError, StorageErrorCode } from './errors.ts';
import { assertReadable, classifyS3Error } from './s3-errors.ts';

const sdkError = (name: string, status?: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(name), { name, $metadata: status === undefined ? {} : { httpStatusCode: status } }, extra);

const cases: { name: string; err: unknown; code: StorageErrorCode }[] = [
  { name: 'NoSuchKey', err: sdkError('NoSuchKey', 404), code: StorageErrorCode.NotFound },
  { name: 'HEAD 404 (no body, name NotFound)', err: sdkError('NotFound', 404), code: StorageErrorCode.NotFound },
  { name: 'AccessDenied', err: sdkError('AccessDenied', 403), code: StorageErrorCode.PermissionDenied },
  { name: 'If-None-Match lost', err: sdkError('PreconditionFailed', 412), code: StorageErrorCode.AlreadyExists },
  { name: 'SlowDown', err: sdkError('SlowDown', 503), code: StorageErrorCode.Unavailable },
  {
    name: '200 with error body (SDK rewrites to 503)',
    err: sdkError('InternalError', 503),
    code: StorageErrorCode.Unavailable,
  },
  { name: 'unknown 500', err: sdkError('Weird', 500), code: StorageErrorCode.Unavailable },
  {
    name: 'socket reset',
    err: Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
    code: StorageErrorCode.Unavailable,
  },
  { name: 'SDK timeout', err: sdkError('TimeoutError'), code: StorageErrorCode.Unavailable },
  { name: 'caller abort', err: sdkError('AbortError'), code: StorageErrorCode.Aborted },
  {
    name: 'archived object on GET',
    err: sdkError('InvalidObjectState', 403, { StorageClass: 'DEEP_ARCHIVE' }),
    code: StorageErrorCode.Archived,
  },
  { name: 'client-side 400', err: sdkError('InvalidArgument', 400), code: StorageErrorCode.Failure },
  { name: 'not an Error at all', err: 'boom', code: StorageErrorCode.Failure },
];
for (const c of cases) {
  test(`classify: ${c.name}`, () => {
    const e = classifyS3Error(c.err, 'GetObject', 'read /x');
    assert.equal(e.code, c.code);
    assert.equal(e.cause, c.err);
    assert.match(e.message, /^read \/x: /);
  });
}

test('archived message names the storage class', () => {
  const e = classifyS3Error(sdkError('InvalidObjectState', 403, { StorageClass: 'GLACIER' }), 'GetObject', 'read f');
  assert.match(e.message, /GLACIER storage class/);
});

test('assertReadable refuses archive classes unless restored', () => {
  assert.doesNotThrow(() => assertReadable('f', undefined, undefined));
  assert.doesNotThrow(() => assertReadable('f', 'STANDARD', undefined));
  assert.doesNotThrow(() => assertReadable('f', 'GLACIER_IR', undefined));
  assert.doesNotThrow(() =>
    assertReadable('f', 'GLACIER', 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'),
  );
  for (const cls of ['GLACIER', 'DEEP_ARCHIVE']) {
    assert.throws(
      () => assertReadable('read /f', cls, undefined),
      (err: unknown) => isStorageError(err, StorageErrorCode.Archived) && err.message.includes(`${cls} storage class`),
    );
    assert.throws(() => assertReadable('read /f', cls, 'ongoing-request="true"'), /must be restored/);
  }
});

const s3Body = (code: string, extra = '') =>
  `<Error><Code>${code}</Code><Message>m</Message>${extra}<RequestId>r1</RequestId></Error>`;

test("the lean S3 client's errors classify as the SDK's did", () => {
  const cases: [S3ResponseError, string][] = [
    [responseError(404, s3Body('NoSuchKey'), undefined), 'SFTPGATE_STORAGE_NOT_FOUND'],
    [responseError(404, '', undefined), 'SFTPGATE_STORAGE_NOT_FOUND'],
    [responseError(403, s3Body('AccessDenied'), undefined), 'SFTPGATE_STORAGE_PERMISSION_DENIED'],
    [responseError(412, '', undefined), 'SFTPGATE_STORAGE_ALREADY_EXISTS'],
    [responseError(503, s3Body('SlowDown'), undefined), 'SFTPGATE_STORAGE_UNAVAILABLE'],
    [errorIn200(s3Body('InternalError'), 'q') as S3ResponseError, 'SFTPGATE_STORAGE_UNAVAILABLE'],
    [
      responseError(403, s3Body('InvalidObjectState', '<StorageClass>GLACIER</StorageClass>'), undefined),
      'SFTPGATE_STORAGE_ARCHIVED',
    ],
  ];
  for (const [err, code] of cases) assert.equal(classifyS3Error(err, 'Op', 'x').code, code, err.name);
});
