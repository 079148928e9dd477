import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorIn200, responseError } from './errors.ts';
import { backoffMs, retryKind } from './retry.ts';

const nodeError = (code: string) => Object.assign(new Error(code), { code });

describe('retry classification (the AWS SDK standard mode)', () => {
  const cases: [string, unknown, string][] = [
    ['503 SlowDown', responseError(503, '<Error><Code>SlowDown</Code></Error>', undefined), 'throttling'],
    ['429 without a body', responseError(429, '', undefined), 'throttling'],
    ['500 InternalError', responseError(500, '<Error><Code>InternalError</Code></Error>', undefined), 'transient'],
    ['502 from a proxy', responseError(502, '<html/>', undefined), 'transient'],
    ['200 with an error body', errorIn200('<Error><Code>InternalError</Code></Error>', undefined), 'transient'],
    ['400 RequestTimeout', responseError(400, '<Error><Code>RequestTimeout</Code></Error>', undefined), 'transient'],
    ['connection reset', nodeError('ECONNRESET'), 'transient'],
    ['connection refused', nodeError('ECONNREFUSED'), 'transient'],
    ['broken pipe', nodeError('EPIPE'), 'transient'],
    ['premature close mid-body', nodeError('ERR_STREAM_PREMATURE_CLOSE'), 'transient'],
    ['404 NoSuchKey', responseError(404, '<Error><Code>NoSuchKey</Code></Error>', undefined), 'none'],
    ['403 AccessDenied', responseError(403, '<Error><Code>AccessDenied</Code></Error>', undefined), 'none'],
    ['412 PreconditionFailed', responseError(412, '', undefined), 'none'],
    ['abort', Object.assign(new Error('aborted'), { name: 'AbortError', code: 'ABORT_ERR' }), 'none'],
    ['a string', 'boom', 'none'],
  ];
  for (const [name, err, kind] of cases) it(name, () => assert.equal(retryKind(err), kind));

  it('backs off with full jitter, from 100 ms (500 ms throttled), capped at 20 s', () => {
    assert.equal(backoffMs('transient', 1, 0), 0);
    assert.equal(backoffMs('transient', 1, 0.999), 199);
    assert.equal(backoffMs('transient', 2, 0.5), 200);
    assert.equal(backoffMs('throttling', 1, 0.5), 500);
    assert.equal(backoffMs('transient', 30, 0.999), 20_000);
  });
});
