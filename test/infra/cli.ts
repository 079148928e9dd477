// The test bed for humans:
//   node test/infra/cli.ts up [minio|moto|kube|all]...   start components, print how to reach them, run until Ctrl-C
//   node test/infra/cli.ts demo                           what `make demo` runs (see demo.ts)
//   node test/infra/cli.ts reap [--all]                   kill leftover test-bed processes whose owner died
// This file is a main: it alone installs signal handlers and sets the exit code.

import { join } from 'node:path';
import {
  COMPONENTS,
  type Component,
  describeTestbed,
  removeEnvFile,
  runDemo,
  startComponents,
  type Testbed,
  writeEnvFile,
} from './demo.ts';
import { reap, reapClusters } from './reap.ts';

const STATE_DIR = join(new URL('../..', import.meta.url).pathname, '.demo');
const USAGE = `usage: node test/infra/cli.ts <command>
  up [minio|moto|kube|all]...  start components on loopback, print endpoints and credentials, stay in the foreground;
                               Ctrl-C (or SIGTERM) stops them and removes their data
  demo                         start everything for a demo (make demo)
  reap [--all]                 kill test-bed processes whose owner is gone (--all: every one of ours), remove their
                               temp dirs
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up': {
      const components = parseComponents(rest);
      return foreground((signal) => up(components, signal));
    }
    case 'demo':
      return foreground((signal) => runDemo({ signal, stateDir: STATE_DIR }));
    case 'reap': {
      // Test clusters first: their records live in the temp dirs reap() removes.
      const clusters = await reapClusters({ all: rest.includes('--all') });
      for (const dir of clusters) process.stdout.write(`cleaned up test cluster ${dir}\n`);
      const result = reap({ all: rest.includes('--all') });
      for (const p of result.killed) process.stdout.write(`killed ${p.pid} (owner ${p.owner}): ${p.cmdline}\n`);
      for (const d of result.removedDirs) process.stdout.write(`removed ${d}\n`);
      if (!result.killed.length && !result.removedDirs.length) process.stdout.write('nothing to reap\n');
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

function parseComponents(args: readonly string[]): Component[] {
  if (args.length === 0 || args.includes('all')) return [...COMPONENTS];
  const unknown = args.filter((a) => !(COMPONENTS as readonly string[]).includes(a));
  if (unknown.length)
    throw new UsageError(`unknown component(s): ${unknown.join(', ')} (know: ${COMPONENTS.join(', ')}, all)`);
  return args as Component[];
}

async function up(components: Component[], signal: AbortSignal): Promise<Testbed> {
  const tb = await startComponents(components, { signal });
  const envFile = writeEnvFile(tb, STATE_DIR);
  process.stdout.write(`\n${describeTestbed(tb, envFile)}`);
  return tb;
}

/** Starts something, keeps it running until SIGINT/SIGTERM, then stops it. A second signal exits at once. */
async function foreground(start: (signal: AbortSignal) => Promise<Testbed>): Promise<number> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      // The guards see our pipes close and stop every server anyway.
      process.stderr.write(`\n${sig} again: exiting now\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${sig}: stopping...\n`);
    controller.abort(new Error(`received ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  let tb: Testbed | undefined;
  try {
    tb = await start(controller.signal);
    process.stdout.write('Running. Press Ctrl-C to stop everything.\n');
    // The launchers unref their children (a test that forgets stop() must not hang); here we do want to wait.
    const keepAlive = setInterval(() => {}, 1 << 30);
    await new Promise<void>((resolve) => {
      if (controller.signal.aborted) resolve();
      controller.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    clearInterval(keepAlive);
    return 0;
  } catch (err) {
    if (controller.signal.aborted) return 130;
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await tb?.stop();
    removeEnvFile(join(STATE_DIR, 'testbed.env'));
    process.stderr.write('stopped.\n');
  }
}

class UsageError extends Error {
  override name = 'UsageError';
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
}
