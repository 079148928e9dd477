import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ApiError, classifyError, OperatorError, OperatorErrorCode, StallingError, WaitingError } from './errors.ts';

describe('operator errors', () => {
  it('classify into stalling / waiting / backoff with bounded reasons', () => {
    assert.deepEqual(classifyError(new StallingError('InvalidAuthorizedKey', 'key 1 does not parse')), {
      kind: 'stalling',
      reason: 'InvalidAuthorizedKey',
    });
    assert.deepEqual(classifyError(new WaitingError('ServerNotReady', 'server demo is not Ready', 5000)), {
      kind: 'waiting',
      reason: 'ServerNotReady',
      delayMs: 5000,
    });
    assert.deepEqual(classifyError(new ApiError(500, 'InternalError', 'boom', 'get', '/api/v1/secrets')), {
      kind: 'backoff',
      reason: 'Api500',
    });
    assert.deepEqual(classifyError(new Error('anything')), { kind: 'backoff', reason: 'Error' });
    assert.deepEqual(classifyError(new OperatorError(OperatorErrorCode.ApiUnavailable, 'down')), {
      kind: 'backoff',
      reason: 'API_UNAVAILABLE',
    });
  });

  it('keep causes and stable codes', () => {
    const cause = new Error('socket hang up');
    const err = new WaitingError('DependencyNotReady', 'later', 100, { cause });
    assert.equal(err.cause, cause);
    assert.equal(err.code, 'SFTPGATE_OPERATOR_WAITING');
    assert.ok(err instanceof OperatorError);
  });

  it('every code is documented in docs/api.md', () => {
    const doc = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
    for (const code of Object.values(OperatorErrorCode))
      assert.ok(doc.includes(code), `${code} missing from docs/api.md`);
  });
});
