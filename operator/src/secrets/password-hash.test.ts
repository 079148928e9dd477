import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidPasswordError } from './errors.ts';
import { hashPassword, PasswordHasher } from './password-hash.ts';

const src = { secretUid: 'uid-1', resourceVersion: '42', username: 'alice' };
const FAST = { ln: 10, r: 8, p: 1 };

describe('hashPassword', () => {
  // That the pod verifies it is proven across the towers in test/integration/users-table-contract.test.ts.
  it('produces the documented format at default cost', async () => {
    const h = await hashPassword(Buffer.from('correct horse battery'), src);
    assert.match(h, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
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

describe('PasswordHasher with format Hash (imported for migration)', () => {
  const src = { secretUid: 'u', resourceVersion: '1', username: 'alice', format: 'Hash' as const };
  const h = new PasswordHasher();
  it('copies a bcrypt, argon2id or sha512-crypt hash as it is (whitespace trimmed)', async () => {
    for (const hash of [
      '$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW',
      '$argon2id$v=19$m=4096,t=3,p=2$c2Z0cGdhdGUtc2FsdC0xNg$7ZHYJt5u6Rbh9yNSZ4kEdUvUoDUTaDqsBbOnYhS2xQ0',
      '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
    ]) {
      assert.equal(await h.hash(Buffer.from(`${hash}\n`), src), hash);
    }
  });
  it('refuses a plaintext, another scheme or an out-of-bounds cost, without quoting the value', async () => {
    for (const bad of [
      'hunter2hunter2',
      '$1$salt$abcdefghijklmnopqrstuv',
      '$2b$20$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW',
    ]) {
      await assert.rejects(h.hash(Buffer.from(bad), src), (err: unknown) => {
        assert.ok(err instanceof InvalidPasswordError);
        assert.match(err.message, /format Hash: not a supported hash; use bcrypt/);
        assert.ok(!err.message.includes(bad));
        return true;
      });
    }
  });
});
