import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CodedError, hasCode } from './coded-error.ts';

class DemoError extends CodedError<'SFTPGATE_DEMO_A' | 'SFTPGATE_DEMO_B'> {}

describe('CodedError', () => {
  it('carries its code, the subclass name and the cause', () => {
    const cause = new Error('socket hang up');
    const err = new DemoError('SFTPGATE_DEMO_A', 'failed', { cause });
    assert.equal(err.code, 'SFTPGATE_DEMO_A');
    assert.equal(err.name, 'DemoError');
    assert.equal(err.cause, cause);
    assert.ok(err instanceof Error && err instanceof CodedError);
  });

  it('hasCode matches any coded error or the listed codes only', () => {
    const err = new DemoError('SFTPGATE_DEMO_B', 'x');
    assert.equal(hasCode(err), true);
    assert.equal(hasCode(err, 'SFTPGATE_DEMO_B'), true);
    assert.equal(hasCode(err, 'SFTPGATE_DEMO_A'), false);
    assert.equal(hasCode(new Error('plain')), false);
    assert.equal(hasCode({ code: 'SFTPGATE_DEMO_B' }), false);
  });
});
