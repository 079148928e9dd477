import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { generateUsersTypes, repoRoot, typesFile } from './generate.ts';

// users.schema.json is the source of truth; this fails when someone edits it without regenerating (or edits the output).
describe('generated users-table types', () => {
  it(`${typesFile} matches users.schema.json`, async () => {
    const committed = readFileSync(`${repoRoot}${typesFile}`, 'utf8');
    assert.equal(committed, await generateUsersTypes(), 'types drifted: run `node common/src/users/generate.ts`');
  });
});
