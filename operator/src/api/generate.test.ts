import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './crds.ts';
import { generateReference, generateTypes, referenceFile, typesFile } from './generate.ts';

// The CRD YAML is the source of truth; these fail when someone edits it without regenerating (or edits the output).
describe('generated API artefacts', () => {
  it(`${typesFile} matches the CRDs`, async () => {
    const committed = readFileSync(join(repoRoot, typesFile), 'utf8');
    assert.equal(committed, await generateTypes(), 'types drifted: run `node operator/src/api/generate.ts`');
  });

  it(`${referenceFile} matches the CRDs`, () => {
    const committed = readFileSync(join(repoRoot, referenceFile), 'utf8');
    assert.equal(committed, generateReference(), 'reference drifted: run `node operator/src/api/generate.ts`');
  });

  it('types carry the defaulted fields as required and the immutable ones documented', async () => {
    const types = await generateTypes();
    assert.match(
      types,
      /export interface SftpServerSpec \{\n {2}storage: SftpServerStorage;\n {2}transfer: SftpServerTransfer;/,
    );
    assert.match(types, /export interface SftpStorageProfileSpec \{[^}]*bucket: string;[^}]*namespaceSelector: /);
    assert.match(types, /deletionPolicy: 'Retain' \| 'Delete';/);
    assert.match(types, /partSize: number \| string;/);
  });
});
