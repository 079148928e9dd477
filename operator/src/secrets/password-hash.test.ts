import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyPassword } from '../../../sftp-pod/src/users/password.ts';
import { InvalidPasswordError } from './errors.ts';
import { hashPassword, PasswordHasher } from './password-hash.ts';

const src = { secretUid: 'uid-1', resourceVersion: '42', username: 'alice' };
const FAST = { ln: 10, r: 8, p: 1 };

describe('hashPassword', () => {
  it('produces the documented format at default cost, which the pod verifies', async () => {
    const h = await hashPassword(Buffer.from('correct horse battery'), src);
    assert.match(h, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.equal(await verifyPassword('correct horse battery', h), true);
    assert.equal(await verifyPassword('wrong horse battery', h), false);
  });

  it('is deterministic per source and changes with the source', async () => {
    const pw = Buffer.from('s3cret-password');
    const a = await hashPassword(pw, src, FAST);
    assert.equal(await hashPassword(pw, src, FAST), a);
    const variants = [
      { ...src, resourceVersion: '43' },
      { ...src, secretUid: 'uid-2' },
      { ...src, username: 'bob' },
    ];
    for (const v of variants) assert.notEqual(await hashPassword(pw, v, FAST), a);
    assert.ok(a.startsWith('$scrypt$ln=10,r=8,p=1$'));
  });

  const bad: { name: string; pw: Buffer }[] = [
    { name: 'empty', pw: Buffer.alloc(0) },
    { name: 'too short', pw: Buffer.from('Zq9x') },
    { name: 'too long', pw: Buffer.alloc(2000, 'a') },
  ];
  for (const c of bad) {
    it(`refuses ${c.name} without echoing it`, async () => {
      await assert.rejects(hashPassword(c.pw, src, FAST), (err: unknown) => {
        assert.ok(err instanceof InvalidPasswordError);
        if (c.pw.length > 0) assert.ok(!err.message.includes(c.pw.toString()));
        return true;
      });
    });
  }
});

describe('PasswordHasher', () => {
  it('memoises by source', async () => {
    const h = new PasswordHasher({ params: FAST, max: 2 });
    const pw = Buffer.from('s3cret-password');
    const a = h.hash(pw, src);
    assert.equal(h.hash(pw, src), a);
    await a;
    h.hash(pw, { ...src, resourceVersion: '1' });
    h.hash(pw, { ...src, resourceVersion: '2' });
    assert.equal(h.size, 2);
  });
});
