import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { IamReason } from '../cloud/iam/integration.ts';
import { asReason, isReason, Reason } from './conditions.ts';

const src = fileURLToPath(new URL('../', import.meta.url));
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('condition reasons', () => {
  it('are CamelCase and unique', () => {
    const values = Object.values(Reason);
    assert.equal(new Set(values).size, values.length);
    for (const v of values) assert.match(v, /^[A-Z][A-Za-z0-9]*$/);
  });

  it('every reason the IAM integration returns is registered', () => {
    for (const v of Object.values(IamReason)) assert.ok(isReason(v), `${v} missing from Reason`);
  });

  it('asReason keeps registered reasons and maps others to the fallback', () => {
    assert.equal(asReason('BucketNotFound'), Reason.BucketNotFound);
    assert.equal(asReason('Whatever'), Reason.ReconcileError);
  });

  it('no reconcile code writes a reason as a string literal', () => {
    const offenders: string[] = [];
    // runtime/errors.ts: its 'Error' is a metric label of the retry decision, not a condition reason.
    for (const file of sources(src).filter((f) => !f.endsWith('runtime/errors.ts'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:reason: |(?:Stalling|Waiting)Error\()'([A-Za-z]+)'/g)) {
        offenders.push(`${file.slice(src.length)}: ${m[1]}`);
      }
    }
    assert.deepEqual(offenders, []);
  });
});
