import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  generateUsersTypes,
  generateUsersValidator,
  generateUsersValidatorTypes,
  repoRoot,
  typesFile,
  validatorFile,
  validatorTypesFile,
} from './generate.ts';

// users.schema.json is the source of truth; this fails when someone edits it without regenerating (or edits the output).
describe('generated users-table types', () => {
  it(`${typesFile} matches users.schema.json`, async () => {
    const committed = readFileSync(`${repoRoot}${typesFile}`, 'utf8');
    assert.equal(committed, await generateUsersTypes(), 'types drifted: run `node common/src/users/generate.ts`');
  });

  it(`${validatorFile} and its types match users.schema.json`, () => {
    const hint = 'validator drifted: run `node common/src/users/generate.ts`';
    assert.equal(readFileSync(`${repoRoot}${validatorFile}`, 'utf8'), generateUsersValidator(), hint);
    assert.equal(readFileSync(`${repoRoot}${validatorTypesFile}`, 'utf8'), generateUsersValidatorTypes(), hint);
  });
});
