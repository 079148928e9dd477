import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorIn200, responseError, S3_RESPONSE_ERROR, S3ResponseError } from './errors.ts';

const body = (code: string, extra = '') =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>m &amp; n</Message>${extra}<RequestId>r1</RequestId></Error>`;

describe('S3 errors', () => {
  it('takes the code, message and request id from the XML body', () => {
    const e = responseError(404, body('NoSuchKey'), undefined);
    assert.ok(e instanceof S3ResponseError);
    assert.equal(e.name, 'NoSuchKey');
    assert.equal(e.Code, 'NoSuchKey');
    assert.equal(e.code, S3_RESPONSE_ERROR);
    assert.equal(e.message, 'm & n');
    assert.deepEqual(e.$metadata, { httpStatusCode: 404, requestId: 'r1' });
    assert.equal(e.$fault, 'client');
  });

  it('names bodiless answers (HEAD) by status, as the AWS SDK does', () => {
    assert.equal(responseError(404, '', 'x').name, 'NotFound');
    assert.equal(responseError(403, '', 'x').name, 'Forbidden');
    assert.equal(responseError(412, '', 'x').name, 'PreconditionFailed');
    assert.equal(responseError(304, '', 'x').name, 'NotModified');
    assert.equal(responseError(503, '<html>busy</html>', 'x').$fault, 'server');
  });

  it('carries the storage class of InvalidObjectState', () => {
    assert.equal(
      responseError(403, body('InvalidObjectState', '<StorageClass>GLACIER</StorageClass>'), 'x').StorageClass,
      'GLACIER',
    );
  });

  it('finds the 200-with-error body of Complete/Copy, and only that', () => {
    const e = errorIn200(body('InternalError'), 'q');
    assert.equal(e?.name, 'InternalError');
    assert.equal(e?.$fault, 'server');
    assert.equal(e?.$metadata.httpStatusCode, 200);
    assert.equal(
      errorIn200('<CompleteMultipartUploadResult><ETag>"x"</ETag></CompleteMultipartUploadResult>', 'q'),
      undefined,
    );
  });
});
