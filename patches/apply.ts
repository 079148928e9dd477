// Applies patches/<package>@<version>.patch to node_modules/<package>, explicitly and idempotently: `make deps` and
// the Dockerfile's install steps run it after `npm install` (install scripts are off everywhere, so nothing applies
// it implicitly). A patch applies only to the exact version its name pins and only where every context line matches
// (no fuzz); a package that already carries it is left alone; anything else fails loudly. No `patch` binary needed
// (the slim Node image has none). Usage: node patches/apply.ts [node_modules dir]   (docs/decisions.md)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Hunk {
  /** 1-based first line in the pristine file and in the patched one. */
  readonly oldStart: number;
  readonly newStart: number;
  /** Lines as they are before the patch (context and removed) and after it (context and added). */
  readonly before: readonly string[];
  readonly after: readonly string[];
}
interface FilePatch {
  readonly path: string;
  readonly hunks: readonly Hunk[];
}

export class PatchError extends Error {
  readonly code = 'SFTPGATE_PATCH';
}

/** Parses a unified diff (`--- a/x`, `+++ b/x`, `@@ -l,n +l,n @@`). Throws PatchError on anything else. */
export function parseUnifiedDiff(text: string): FilePatch[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const files: { path: string; hunks: Hunk[] }[] = [];
  for (let i = 0; i < lines.length; ) {
    const line = lines[i] ?? '';
    if (line.startsWith('--- ')) {
      const plus = lines[i + 1] ?? '';
      const m = /^\+\+\+ b\/(\S+)/.exec(plus);
      if (!m?.[1]) throw new PatchError(`line ${i + 2}: expected "+++ b/<path>"`);
      files.push({ path: m[1], hunks: [] });
      i += 2;
      continue;
    }
    const h = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
    const file = files.at(-1);
    if (!h || !file) throw new PatchError(`line ${i + 1}: expected a file header or a hunk`);
    let oldCount = Number(h[2] ?? 1);
    let newCount = Number(h[4] ?? 1);
    const before: string[] = [];
    const after: string[] = [];
    i++;
    while (oldCount > 0 || newCount > 0) {
      const l = lines[i++];
      if (l === undefined) throw new PatchError('hunk ends early');
      const body = l.slice(1);
      if (l.startsWith(' ') || l === '') {
        before.push(body);
        after.push(body);
        oldCount--;
        newCount--;
      } else if (l.startsWith('-')) {
        before.push(body);
        oldCount--;
      } else if (l.startsWith('+')) {
        after.push(body);
        newCount--;
      } else if (!l.startsWith('\\')) throw new PatchError(`line ${i}: unexpected "${l.slice(0, 20)}"`);
    }
    file.hunks.push({ oldStart: Number(h[1]), newStart: Number(h[3]), before, after });
  }
  return files;
}

function replaceHunks(source: string, hunks: readonly Hunk[], reverse: boolean): string | undefined {
  const lines = source.split('\n');
  let shift = 0;
  for (const hunk of hunks) {
    const [from, to] = reverse ? [hunk.after, hunk.before] : [hunk.before, hunk.after];
    const at = (reverse ? hunk.newStart : hunk.oldStart) - 1 + shift;
    if (from.some((l, k) => lines[at + k] !== l)) return undefined;
    lines.splice(at, from.length, ...to);
    shift += to.length - from.length;
  }
  return lines.join('\n');
}

/**
 * The patched text of one file: `applied` if `source` is the pristine file, `already` if it is exactly the patched
 * one (reverting would give a pristine file), otherwise undefined (some other version or a local edit).
 */
export function patchText(
  source: string,
  hunks: readonly Hunk[],
): { state: 'applied'; text: string } | { state: 'already'; text: string } | undefined {
  const forward = replaceHunks(source, hunks, false);
  if (forward !== undefined) return { state: 'applied', text: forward };
  return replaceHunks(source, hunks, true) === undefined ? undefined : { state: 'already', text: source };
}

/** The pristine text of a patched file (the patch reverted), or undefined when `source` is not the patched file. */
export function unpatchedText(source: string, hunks: readonly Hunk[]): string | undefined {
  return replaceHunks(source, hunks, true);
}

/** Applies one `<name>@<version>.patch` to `<modules>/<name>`; idempotent. Throws PatchError if it cannot. */
export function applyPackagePatch(patchFile: string, modules: string): string {
  const m = /^(.+)@(\d[^@/]*)\.patch$/.exec(patchFile.split('/').at(-1) ?? '');
  if (!m?.[1] || !m[2]) throw new PatchError(`${patchFile}: name must be <package>@<version>.patch`);
  const [, name, version] = m;
  const pkgDir = join(modules, name);
  const installed = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version?: string }).version;
  if (installed !== version)
    throw new PatchError(`${patchFile} is for ${name}@${version}, node_modules has ${installed}: update the patch`);
  const results: string[] = [];
  const planned: { file: string; text: string }[] = [];
  for (const fp of parseUnifiedDiff(readFileSync(patchFile, 'utf8'))) {
    const file = join(pkgDir, fp.path);
    const outcome = patchText(readFileSync(file, 'utf8'), fp.hunks);
    if (!outcome)
      throw new PatchError(
        `${patchFile}: ${fp.path} matches neither the pristine nor the patched file (reinstall it: rm -rf ${pkgDir} && make deps)`,
      );
    results.push(`${name}/${fp.path}: ${outcome.state === 'applied' ? 'patched' : 'already patched'}`);
    if (outcome.state === 'applied') planned.push({ file, text: outcome.text });
  }
  // Every file checked before any is written: a patch applies whole or not at all.
  for (const p of planned) writeFileSync(p.file, p.text);
  return results.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const here = dirname(fileURLToPath(import.meta.url));
  const modules = process.argv[2] ?? join(here, '..', 'node_modules');
  try {
    for (const f of readdirSync(here).filter((n) => n.endsWith('.patch'))) {
      console.log(applyPackagePatch(join(here, f), modules));
    }
  } catch (err) {
    console.error(`patches: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
