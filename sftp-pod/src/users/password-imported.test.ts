import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { argon2id, bcrypt } from 'hash-wasm';
import { validateUsersDocument } from '../../../common/src/users/validate.ts';
import { hashPassword, verifyPassword } from './password.ts';
import { parseImportedHash, sha512Crypt, verifyImported } from './password-imported.ts';

// Vectors from other implementations: Drepper's sha512-crypt paper and OpenSSL's `passwd -6`; OpenBSD/Openwall
// bcrypt test vectors; argon2id made by hash-wasm (an independent implementation of the verifier's Node/OpenSSL one).
const SHA512_VECTORS: Array<[string, string]> = [
  [
    'Hello world!',
    '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
  ],
  [
    'Hello world!',
    '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
  ],
];
const BCRYPT_VECTORS: Array<[string, string]> = [
  ['U*U', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'],
  ['U*U*', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK'],
];

describe('imported password hashes', () => {
  test('sha512-crypt matches the reference vectors and OpenSSL', async () => {
    for (const [pw, hash] of SHA512_VECTORS) {
      const h = parseImportedHash(hash);
      assert.equal(h?.kind, 'sha512-crypt');
      assert.equal(await verifyImported(pw, h as NonNullable<typeof h>), true, hash);
      assert.equal(await verifyImported(`${pw}x`, h as NonNullable<typeof h>), false);
    }
    const pw = 'pässwörd with spaces';
    const fromOpenssl = execFileSync('openssl', ['passwd', '-6', '-salt', 'Zx9.Ab/c', pw], { encoding: 'utf8' }).trim();
    assert.equal(`$6$Zx9.Ab/c$${sha512Crypt(Buffer.from(pw), Buffer.from('Zx9.Ab/c'), 5000)}`, fromOpenssl);
    assert.equal(await verifyPassword(pw, fromOpenssl), true);
    assert.equal(await verifyPassword('wrong', fromOpenssl), false);
  });

  test('bcrypt $2a$/$2b$/$2y$ match the reference vectors', async () => {
    for (const [pw, hash] of BCRYPT_VECTORS) {
      for (const variant of ['2a', '2b', '2y']) {
        const v = hash.replace('$2a$', `$${variant}$`);
        assert.equal(await verifyPassword(pw, v), true, v);
        assert.equal(await verifyPassword('nope', v), false);
      }
    }
    // Only the first 72 bytes count ($2b$ semantics), as in the systems these hashes come from.
    const long = 'a'.repeat(72);
    const salt = Buffer.alloc(16, 3);
    const h = await bcrypt({ password: long, salt, costFactor: 4, outputType: 'encoded' });
    assert.equal(await verifyPassword(`${long}ignored`, h), true);
  });

  test('argon2id PHC strings (made by hash-wasm) verify with Node’s argon2', async () => {
    const h = await argon2id({
      password: 'correct horse',
      salt: Buffer.from('sftpgate-salt-16'),
      parallelism: 2,
      iterations: 3,
      memorySize: 4096,
      hashLength: 32,
      outputType: 'encoded',
    });
    assert.match(h, /^\$argon2id\$v=19\$m=4096,t=3,p=2\$/);
    assert.equal(await verifyPassword('correct horse', h), true);
    assert.equal(await verifyPassword('correct horsf', h), false);
  });

  test('out-of-bounds costs and other formats are refused (a failed login, never a slow one)', async () => {
    const refused = [
      '$2b$15$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', // bcrypt cost above 14
      '$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', // the buggy $2x$ variant
      '$argon2id$v=19$m=1048576,t=3,p=1$c29tZXNhbHRzYWx0$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc', // 1 GiB
      '$argon2id$v=19$m=65536,t=99,p=1$c29tZXNhbHRzYWx0$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc',
      '$argon2i$v=19$m=4096,t=3,p=1$c29tZXNhbHRzYWx0$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc',
      `$6$rounds=5000000$salt$${'a'.repeat(86)}`,
      `$6$rounds=10$salt$${'a'.repeat(86)}`,
      `$5$salt$${'a'.repeat(43)}`, // sha256-crypt
      '$1$salt$abcdefghijklmnopqrstuv', // md5-crypt
    ];
    for (const text of refused) {
      assert.equal(parseImportedHash(text), undefined, text);
      assert.equal(await verifyPassword('whatever', text), false);
    }
  });

  test('the users-table schema admits every imported format', () => {
    const hashes = [
      ...SHA512_VECTORS.map(([, h]) => h),
      ...BCRYPT_VECTORS.map(([, h]) => h),
      '$argon2id$v=19$m=4096,t=3,p=2$c2Z0cGdhdGUtc2FsdC0xNg$7ZHYJt5u6Rbh9yNSZ4kEdUvUoDUTaDqsBbOnYhS2xQ0',
    ];
    const users = hashes.map((passwordHash, i) => ({ username: `u${i}`, passwordHash, permissions: ['list'] }));
    assert.equal(validateUsersDocument({ version: 1, users }, 'test').users.length, hashes.length);
    assert.throws(() =>
      validateUsersDocument(
        { version: 1, users: [{ username: 'x', passwordHash: '$1$md5$crypt', permissions: [] }] },
        't',
      ),
    );
  });

  test('the operator’s scrypt hashes still verify beside imported ones', async () => {
    const h = await hashPassword('s3cret pass', { ln: 4, r: 8, p: 1 });
    assert.equal(await verifyPassword('s3cret pass', h), true);
    assert.equal(await verifyPassword('s3cret pasS', h), false);
  });
});
