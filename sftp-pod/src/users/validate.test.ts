import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateUsersDocument } from '../../../common/src/users/validate.ts';
import { hashPassword, parseScryptHash, verifyPassword } from './password.ts';

test('scrypt hashes round-trip and verify in constant time', async () => {
  const h = await hashPassword('correct horse', { ln: 10, r: 8, p: 1 });
  assert.ok(parseScryptHash(h));
  assert.ok(validateUsersDocument({ version: 1, users: [{ username: 'b', permissions: [], passwordHash: h }] }, 't'));
  assert.equal(await verifyPassword('correct horse', h), true);
  assert.equal(await verifyPassword('wrong', h), false);
  assert.equal(await verifyPassword('anything', undefined), false);
  assert.equal(await verifyPassword('anything', '$scrypt$garbage'), false);
});
