// What every generator of TypeScript types from a JSON Schema in this repository shares (the CRD types in
// operator/src/api/generate.ts, the users-table types in common/src/users/generate.ts): one set of
// json-schema-to-typescript options and biome as the formatter, so generated files look like the rest of the code.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (where node_modules/.bin/biome lives). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** json-schema-to-typescript options: closed objects, no tuple expansion of maxItems, `unknown` over `any`. */
export const compileOptions = {
  bannerComment: '',
  additionalProperties: false,
  ignoreMinAndMaxItems: true,
  strictIndexSignatures: true,
  unknownAny: true,
  format: false,
  declareExternallyReferenced: true,
} as const;

/** Formats TypeScript source with the repository's biome settings; `path` picks the settings. Throws on failure. */
export function formatTypeScript(source: string, path: string): string {
  const biome = `${repoRoot}node_modules/.bin/biome`;
  const result = spawnSync(biome, ['format', `--stdin-file-path=${path}`], { input: source, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`biome format failed: ${result.stderr}`);
  return result.stdout;
}
