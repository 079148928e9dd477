// The two towers never import each other, and common/ imports neither: what both need lives in common/. Tests that
// prove a contract across the towers live under test/ (test/integration/users-table-contract.test.ts).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

// Static imports, re-exports and dynamic imports; a path read as data (readFileSync) is not an import.
const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)'([^']+)'/g;

const rules: [string, string[]][] = [
  ['operator/src', ['sftp-pod/']],
  ['sftp-pod/src', ['operator/']],
  ['common/src', ['operator/', 'sftp-pod/']],
];

describe('import boundaries', () => {
  for (const [dir, forbidden] of rules) {
    it(`${dir} imports nothing from ${forbidden.join(' or ')}`, () => {
      const offences: string[] = [];
      for (const file of files(dir)) {
        for (const m of readFileSync(join(root, file), 'utf8').matchAll(IMPORT)) {
          const target = m[1] ?? '';
          if (target.startsWith('.') && forbidden.some((f) => target.includes(`/${f}`) || target.startsWith(f))) {
            offences.push(`${file} -> ${target}`);
          }
        }
      }
      assert.deepEqual(offences, []);
    });
  }
});
