// How the benchmarks start sftp-pod: the compiled build (`make build`), as the images run it, never the TypeScript
// sources (which would add the type stripper and cost memory and start-up CPU the product never pays), with the Node
// flags of the sftp image's ENTRYPOINT. When the build's output changes, this file is the one place to follow it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const repo = new URL('../../../', import.meta.url).pathname;
const fixture = new URL('../fixtures/compiled-pod.js', import.meta.url).pathname;

export class PodBuildError extends Error {
  override readonly name = 'PodBuildError';
  readonly code = 'PodBuildMissing';
}

export interface PodLaunch {
  readonly command: string;
  /** Arguments before the pod's own flags. */
  readonly args: readonly string[];
  /** What runs, for the report. */
  readonly describe: string;
  /** Environment the image sets for the process (its stage's ENV: the malloc settings), added to the pod's. */
  readonly env?: Readonly<Record<string, string>>;
}

/** What `make build` writes: the esbuild bundle, or (before the bundle) tsc's output; the first that exists. */
const ENTRIES = ['dist/sftp-pod/main.js', 'dist/sftp-pod/src/main.js'].map((p) => join(repo, p));
/** Sources the build compiles into the pod: a build older than any of them does not measure the work tree. */
const SOURCES = ['sftp-pod/src', 'common/src'];

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/**
 * The Node flags of a Dockerfile stage's ENTRYPOINT (exec form: `["node", flags..., script]`): what the image runs
 * the process with. Empty when the stage or its ENTRYPOINT is missing.
 */
export function entrypointNodeFlags(dockerfile: string, stage: string): string[] {
  let inStage = false;
  for (const line of dockerfile.split('\n')) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line.trim());
    if (from) inStage = from[1]?.toLowerCase() === stage.toLowerCase();
    const entry = inStage ? /^ENTRYPOINT\s+(\[.*\])\s*$/i.exec(line.trim()) : null;
    if (entry?.[1]) {
      const argv = JSON.parse(entry[1]) as unknown;
      if (!Array.isArray(argv)) return [];
      return argv.slice(1).filter((a): a is string => typeof a === 'string' && a.startsWith('-'));
    }
  }
  return [];
}

/**
 * The variables a Dockerfile stage sets with its own ENV lines (`ENV A=1 B=2`; not those of the stages it builds on,
 * which hold image-layout settings such as HOME): what the image adds to the process's environment.
 */
export function stageEnv(dockerfile: string, stage: string): Record<string, string> {
  const env: Record<string, string> = {};
  let inStage = false;
  for (const line of dockerfile.split('\n')) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line.trim());
    if (from) inStage = from[1]?.toLowerCase() === stage.toLowerCase();
    const m = inStage ? /^ENV\s+(.*)$/i.exec(line.trim()) : null;
    for (const kv of m?.[1]?.matchAll(/(\w+)=(\S+)/g) ?? []) if (kv[1] && kv[2]) env[kv[1]] = kv[2];
  }
  return env;
}

/** The pod's launch command; throws PodBuildError when the build is missing or older than the sources. */
export function podLaunch(): PodLaunch {
  const entry = ENTRIES.find((e) => existsSync(e));
  if (entry === undefined)
    throw new PodBuildError(`no ${ENTRIES.join(' or ')}: run \`make build\` (\`make bench\` does)`);
  const sources = Math.max(...SOURCES.map((d) => newestMtimeMs(join(repo, d))));
  if (sources > statSync(entry).mtimeMs)
    throw new PodBuildError(`${entry} is older than the pod's sources: run \`make build\``);
  const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
  const flags = entrypointNodeFlags(dockerfile, 'sftp');
  const env = stageEnv(dockerfile, 'sftp');
  const envText = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return {
    command: process.execPath,
    args: [...flags, fixture, entry],
    env,
    describe:
      `compiled build (${entry.slice(repo.length)} from \`make build\`)` +
      `${flags.length > 0 ? `, image's Node flags \`${flags.join(' ')}\`` : ''}` +
      `${envText.length > 0 ? `, image's ENV \`${envText.join(' ')}\`` : ''}`,
  };
}
