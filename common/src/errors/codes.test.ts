import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KubeErrorCode } from '../kube/errors.ts';

const root = new URL('../../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

describe('error codes of common/', () => {
  it('every code common/ throws is in the table of docs/architecture.md', () => {
    const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
    const codes = new Set<string>(Object.values(KubeErrorCode).map((c) => c.replace('SFTPGATE_OPERATOR', '')));
    for (const file of sources(join(root, 'common/src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/'(SFTPGATE_(?!OPERATOR_)[A-Z_]+)'/g)) codes.add(m[1] ?? '');
    }
    codes.add('SFTPGATE_USERS_SECRET');
    assert.ok(codes.size >= 8, [...codes].join(', '));
    for (const code of codes) assert.ok(doc.includes(code), `${code} missing from docs/architecture.md`);
  });
});
