// What dependencies set up at load that an idle pod never uses, made lazy in the bundle (each ~0.5 MiB of the pod's
// idle RSS, docs/benchmarks.md "Pod idle memory, session 18"):
// - node:zlib: the pod negotiates no SSH compression (sftp-pod/src/ssh/algorithms.ts), never pushes to a Pushgateway
//   and computes CRC32s only for uploads, yet ssh2 (its compression classes, which also built an inflater at load),
//   prom-client's Pushgateway and our S3 payload's `crc32` took it at load. The bundle loads it on first use.
// - ssh2's Poly1305 WebAssembly module (16 MiB wasm memory, compiled at load) serves only its JavaScript ChaCha20
//   fallback; with ssh2's native binding (patches/build-ssh2-binding.ts) the binding's ChaCha20-Poly1305 is used and
//   the module is not instantiated. Without the binding nothing changes.
// The edits are exact-text: a dependency update that changes the text fails the build (and is re-checked here).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Plugin } from 'esbuild';

export class LazyDepsError extends Error {
  override readonly name = 'LazyDepsError';
  readonly code = 'LazyDepsSourceChanged';
}

/** One exact-text replacement in a dependency's source; a dependency update that changes the text fails the build. */
interface Edit {
  readonly find: string;
  readonly replace: string;
}

export function applyEdits(file: string, source: string, edits: readonly Edit[]): string {
  let out = source;
  for (const e of edits) {
    if (out.split(e.find).length !== 2)
      throw new LazyDepsError(`${file}: expected exactly one ${JSON.stringify(e.find.slice(0, 60))}`);
    out = out.replace(e.find, () => e.replace);
  }
  return out;
}

/** ssh2's lib/protocol/zlib.js: the zlib constants and handle class resolved when a compressed stream is made. */
const SSH2_ZLIB: readonly Edit[] = [
  {
    find: `const {
  createInflate,
  constants: {
    DEFLATE,
    INFLATE,
    Z_DEFAULT_CHUNK,
    Z_DEFAULT_COMPRESSION,
    Z_DEFAULT_MEMLEVEL,
    Z_DEFAULT_STRATEGY,
    Z_DEFAULT_WINDOWBITS,
    Z_PARTIAL_FLUSH,
  }
} = require('zlib');
const ZlibHandle = createInflate()._handle.constructor;`,
    replace: `let DEFLATE, INFLATE, Z_DEFAULT_CHUNK, Z_DEFAULT_COMPRESSION, Z_DEFAULT_MEMLEVEL, Z_DEFAULT_STRATEGY,
  Z_DEFAULT_WINDOWBITS, Z_PARTIAL_FLUSH, ZlibHandle;
function loadZlib() {
  if (ZlibHandle !== undefined) return;
  const z = require('zlib');
  ({ DEFLATE, INFLATE, Z_DEFAULT_CHUNK, Z_DEFAULT_COMPRESSION, Z_DEFAULT_MEMLEVEL, Z_DEFAULT_STRATEGY,
    Z_DEFAULT_WINDOWBITS, Z_PARTIAL_FLUSH } = z.constants);
  ZlibHandle = z.createInflate()._handle.constructor;
}`,
  },
  { find: 'this._zlib = new Zlib(DEFLATE);', replace: 'loadZlib(); this._zlib = new Zlib(DEFLATE);' },
  { find: 'this._zlib = new Zlib(INFLATE);', replace: 'loadZlib(); this._zlib = new Zlib(INFLATE);' },
];

/** prom-client's lib/pushgateway.js (exported by its index, unused by the pod): gzip taken when a push gzips. */
const PROM_PUSHGATEWAY: readonly Edit[] = [
  {
    find: "const { gzipSync } = require('zlib');",
    replace: "const gzipSync = (...args) => require('zlib').gzipSync(...args);",
  },
];

/** ssh2's lib/protocol/crypto.js: no Poly1305 wasm when the binding has its own ChaCha20-Poly1305. */
const SSH2_CRYPTO: readonly Edit[] = [
  {
    find: `  init: (() => {`,
    replace: `  init: ChaChaPolyCipher && ChaChaPolyDecipher ? Promise.resolve() : (() => {`,
  },
];

const TARGETS: readonly { readonly filter: RegExp; readonly edits: readonly Edit[] }[] = [
  { filter: /[\\/]node_modules[\\/]ssh2[\\/]lib[\\/]protocol[\\/]zlib\.js$/, edits: SSH2_ZLIB },
  { filter: /[\\/]node_modules[\\/]ssh2[\\/]lib[\\/]protocol[\\/]crypto\.js$/, edits: SSH2_CRYPTO },
  { filter: /[\\/]node_modules[\\/]prom-client[\\/]lib[\\/]pushgateway\.js$/, edits: PROM_PUSHGATEWAY },
];

export const lazyDependencies: Plugin = {
  name: 'lazy-dependencies',
  setup(b) {
    for (const t of TARGETS)
      b.onLoad({ filter: t.filter }, (args) => ({
        contents: applyEdits(args.path, readFileSync(args.path, 'utf8'), t.edits),
        loader: 'js',
      }));
  },
};

/**
 * The CommonJS module the bundle's `import … from 'node:zlib'` gets: one getter per export of node:zlib (the names
 * this Node has), each loading node:zlib on its first use. esbuild reads an imported binding at each use
 * (`(0, import_zlib.crc32)(…)`), so our own code's imports stay lazy too.
 */
export function lazyZlibModule(): string {
  const names = Object.keys(createRequire(import.meta.url)('node:zlib') as object);
  return [
    'let zlib;',
    `for (const name of ${JSON.stringify(names)})`,
    "  Object.defineProperty(module.exports, name, { enumerable: true, get: () => (zlib ??= require('node:zlib'))[name] });",
  ].join('\n');
}
