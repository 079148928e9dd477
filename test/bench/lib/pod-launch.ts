// How the benchmarks start sftp-pod: the compiled build (`make build`), as the images run it, never the TypeScript
// sources (which would add the type stripper and cost memory and start-up CPU the product never pays). When the
// build's output changes (e.g. a bundle), this file is the one place to follow it.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { POD_NODE_FLAGS } from '../../../sftp-pod/src/node-flags.ts';

const repo = new URL('../../../', import.meta.url).pathname;

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
}

/** What `make build` writes: the esbuild bundle, which runs main() when it is the entry. */
const ENTRY = join(repo, 'dist/sftp-pod/main.js');
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

/** The pod's launch command; throws PodBuildError when the build is missing or older than the sources. */
export function podLaunch(): PodLaunch {
  let built: number;
  try {
    built = statSync(ENTRY).mtimeMs;
  } catch {
    throw new PodBuildError(`${ENTRY} is missing: run \`make build\` (\`make bench\` does)`);
  }
  const sources = Math.max(...SOURCES.map((d) => newestMtimeMs(join(repo, d))));
  if (sources > built) throw new PodBuildError(`${ENTRY} is older than the pod's sources: run \`make build\``);
  // With the Node flags the image's ENTRYPOINT passes (sftp-pod/src/node-flags.ts).
  return {
    command: process.execPath,
    args: [...POD_NODE_FLAGS, ENTRY],
    describe: `compiled bundle (dist/ from \`make build\`), node ${POD_NODE_FLAGS.join(' ')}`,
  };
}
