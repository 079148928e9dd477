// Bundles each process into one ES module with esbuild (`make build`, the Dockerfile's build stage): the sftp pod
// (plus its password worker, a second entry because a Worker loads a file) and the operator. One file instead of
// thousands of module records is most of the pod's idle memory saving (docs/benchmarks.md, "Pod memory").
// Run: node common/src/build/bundle.ts [outdir]   (default dist/; type checking is `tsc`, not this step)
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { type BuildOptions, build, type Plugin } from 'esbuild';
import { repoRoot } from '../codegen/typescript.ts';
import {
  accessorModule,
  lazyAssertModule,
  lazyDependencies,
  lazyFsPromisesModule,
  lazyZlibModule,
} from './lazy-deps.ts';

/** One bundle per output directory: the entry points that ship together. */
export const BUNDLES: readonly { readonly outdir: string; readonly entryPoints: Record<string, string> }[] = [
  {
    outdir: 'sftp-pod',
    entryPoints: {
      main: 'sftp-pod/src/main.ts',
      // password.ts starts `new Worker(new URL('./password-worker.js', import.meta.url))`: beside main.js.
      'password-worker': 'sftp-pod/src/users/password-worker.ts',
    },
  },
  { outdir: 'operator', entryPoints: { main: 'operator/src/main.ts' } },
];

/**
 * CommonJS dependencies (ssh2, the AWS SDK, prom-client ...) call `require` for Node built-ins and ssh2 reads
 * `__dirname`; an ES module has neither, so the bundle defines them at its top.
 */
const COMMONJS_SHIM = [
  "import { createRequire as __sftpgateRequire } from 'node:module';",
  'const require = __sftpgateRequire(import.meta.url);',
  'const __filename = import.meta.filename;',
  'const __dirname = import.meta.dirname;',
].join('\n');

/**
 * `import { request } from 'node:http'` in an ES module makes Node build the module's namespace from every export,
 * which runs the module's lazy getters (node:http's WebSocket and EventSource load undici, web streams, http2, worker
 * threads and a hundred more built-ins; node:fs, node:util and node:process load a few dozen each) that the process
 * never uses: +10 MiB RSS for node:http alone (docs/benchmarks.md, "Pod memory, session 18"). The bundle takes Node's
 * built-ins with `require` instead (the CommonJS object: getters stay lazy until used); the code sees the same
 * functions.
 */
export const BUILTIN = new RegExp(`^(?:node:.+|${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})$`);
const NAMESPACE = 'builtin-commonjs';
/** Built-ins the bundle replaces with a lazier module of the same exports (lazy-deps.ts). */
const STAND_INS: Readonly<Record<string, () => string>> = {
  zlib: lazyZlibModule,
  'fs/promises': lazyFsPromisesModule,
  util: () => accessorModule('util'),
  fs: () => accessorModule('fs'),
  assert: lazyAssertModule,
};
export const builtinsAsCommonJs: Plugin = {
  name: NAMESPACE,
  setup(b) {
    b.onResolve({ filter: BUILTIN }, (args) =>
      args.namespace === NAMESPACE
        ? { path: args.path, external: true }
        : { path: args.path.replace(/^node:/, ''), namespace: NAMESPACE },
    );
    b.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
      // node:zlib is loaded on first use, node:fs/promises only beyond reading files, node:util's and node:fs's lazy
      // properties only when used (lazy-deps.ts): an idle pod needs none of them.
      contents: STAND_INS[args.path]?.() ?? `module.exports = require('node:${args.path}');`,
      loader: 'js',
    }));
  },
};

export function bundleOptions(outRoot: string, bundle: (typeof BUNDLES)[number]): BuildOptions {
  return {
    absWorkingDir: repoRoot,
    entryPoints: bundle.entryPoints,
    outdir: join(outRoot, bundle.outdir),
    bundle: true,
    // What main.ts imports dynamically (the STS credential broker, the Kubernetes users source ...) becomes its own
    // chunk, loaded only by a pod whose mode uses it; code both entries share is one chunk too.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node26',
    banner: { js: COMMONJS_SHIM },
    // Stack traces map back to the TypeScript sources with `node --enable-source-maps` (docs/images.md).
    sourcemap: 'linked',
    sourcesContent: false,
    // V8 keeps every script's source string in the heap: local identifiers are minified too (the pod's heap at idle
    // 1 MiB smaller, docs/benchmarks.md "Pod memory, session 18"); keepNames keeps function and class names, so logs
    // and stack traces stay readable (and map back to the sources).
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: true,
    keepNames: true,
    // The dependencies' license notices, in one file beside each bundle.
    legalComments: 'linked',
    // Native addons stay `require`s (esbuild cannot inline them): ssh2's crypto binding, built by
    // patches/build-ssh2-binding.ts, is copied beside the bundle below; cpu-features is never installed, so its
    // require fails inside ssh2's try/catch exactly as without a bundle.
    external: ['*.node', 'cpu-features'],
    plugins: [builtinsAsCommonJs, lazyDependencies],
    logLevel: 'warning',
    metafile: false,
  };
}

/** ssh2's native crypto binding: the request its crypto.js makes, and the file `make deps` builds. */
export const SSH2_BINDING = {
  request: './crypto/build/Release/sshcrypto.node',
  file: 'node_modules/ssh2/lib/protocol/crypto/build/Release/sshcrypto.node',
} as const;

/**
 * Copies ssh2's binding to where the bundle's `require` looks. esbuild's `__require` (the one ssh2's crypto code
 * calls) is defined in whichever output file it chose — main.js or a shared chunk — and resolves relative to that
 * file, so the binding goes beside every output directory's files whenever any output requests it. Returns the
 * paths written; none when no output requests it.
 */
export function copySsh2Binding(outdir: string, binding = join(repoRoot, SSH2_BINDING.file)): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : [],
    );
  const outputs = walk(outdir);
  if (!outputs.some((js) => readFileSync(js, 'utf8').includes(SSH2_BINDING.request))) return [];
  // Not built (no compiler where this bundle is made): ssh2 falls back to Node's crypto and the pod warns at startup.
  if (!existsSync(binding)) return [];
  const written: string[] = [];
  for (const dir of new Set(outputs.map((js) => dirname(js)))) {
    const target = join(dir, SSH2_BINDING.request);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(binding, target);
    written.push(target);
  }
  return written;
}

export async function bundleAll(outRoot: string): Promise<void> {
  for (const b of BUNDLES) {
    rmSync(join(outRoot, b.outdir), { recursive: true, force: true });
    await build(bundleOptions(outRoot, b));
    copySsh2Binding(join(outRoot, b.outdir));
  }
}

if (import.meta.main) {
  const outRoot = join(repoRoot, process.argv[2] ?? 'dist');
  await bundleAll(outRoot);
  process.stdout.write(`bundled ${BUNDLES.map((b) => join(outRoot, b.outdir)).join(', ')}\n`);
}
