// What dependencies set up at load that an idle pod never uses, made lazy in the bundle (each ~0.5 MiB of the pod's
// idle RSS, docs/benchmarks.md "Pod idle memory, session 18"):
// - node:zlib: the pod negotiates no SSH compression (sftp-pod/src/ssh/algorithms.ts), never pushes to a Pushgateway
//   and computes CRC32s only for uploads, yet ssh2 (its compression classes, which also built an inflater at load),
//   prom-client's Pushgateway and our S3 payload's `crc32` took it at load. The bundle loads it on first use.
// - ssh2's Poly1305 WebAssembly module (16 MiB wasm memory, compiled at load) serves only its JavaScript ChaCha20
//   fallback; with ssh2's native binding (patches/build-ssh2-binding.ts) the binding's ChaCha20-Poly1305 is used and
//   the module is not instantiated. Without the binding nothing changes.
// - node:fs/promises: loading it loads readline, the REPL history and the file watchers (~10 built-ins, 0.7 MiB of the
//   pod's idle RSS); the pod only reads files at start (host keys, users file, CA files). The bundle's
//   node:fs/promises is a stand-in whose readFile and readdir of a path are node:fs's own callback functions (same
//   results, same errors); anything else loads node:fs/promises on first use.
// - node:util's and node:fs's lazily defined properties (util.parseArgs, util.diff, util.setTraceSigInt, fs.Dir ...):
//   Node materialises such a property, loading the code behind it, when anything reads its descriptor, and esbuild's
//   ES-module interop (`__toESM`) reads the descriptor of every property of each CommonJS module an ES module imports.
//   So `import { promisify } from 'node:util'` loaded parse_args, the diff, worker_threads and the SIGINT tracer into
//   every pod. The bundle's node:util and node:fs are objects of accessors over the real modules: the interop reads
//   only the accessors, and a property is read from the real module when the code uses it.
// - node:assert: asn1 (ssh2's key parser) asserts while it converts an OpenSSH host key at start, which loads node:assert
//   and its error formatting (7 built-ins). The bundle's node:assert checks ok/equal/strictEqual itself and calls the
//   real function only when the check fails (so the failure is node:assert's own); every other export loads it on use.
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

/**
 * ssh2's lib/index.js: the pod takes only `Server` and `utils` (parseKey, the SFTP constants); the SSH client, the
 * agent classes (ssh-agent, Pageant, Cygwin), the HTTP(S) agents over SSH and the key generator load on first use.
 */
const SSH2_INDEX: readonly Edit[] = [
  {
    find: `const {
  AgentProtocol,
  BaseAgent,
  createAgent,
  CygwinAgent,
  OpenSSHAgent,
  PageantAgent,
} = require('./agent.js');
const {
  SSHTTPAgent: HTTPAgent,
  SSHTTPSAgent: HTTPSAgent,
} = require('./http-agents.js');`,
    replace: `const agent = () => require('./agent.js');
const httpAgents = () => require('./http-agents.js');`,
  },
  {
    find: `module.exports = {
  AgentProtocol,
  BaseAgent,
  createAgent,
  Client: require('./client.js'),
  CygwinAgent,
  HTTPAgent,
  HTTPSAgent,
  OpenSSHAgent,
  PageantAgent,
  Server: require('./server.js'),
  utils: {
    parseKey,
    ...require('./keygen.js'),`,
    replace: `module.exports = {
  get AgentProtocol() { return agent().AgentProtocol; },
  get BaseAgent() { return agent().BaseAgent; },
  get createAgent() { return agent().createAgent; },
  get Client() { return require('./client.js'); },
  get CygwinAgent() { return agent().CygwinAgent; },
  get HTTPAgent() { return httpAgents().SSHTTPAgent; },
  get HTTPSAgent() { return httpAgents().SSHTTPSAgent; },
  get OpenSSHAgent() { return agent().OpenSSHAgent; },
  get PageantAgent() { return agent().PageantAgent; },
  Server: require('./server.js'),
  utils: {
    parseKey,
    get generateKeyPair() { return require('./keygen.js').generateKeyPair; },
    get generateKeyPairSync() { return require('./keygen.js').generateKeyPairSync; },`,
  },
];

/** ssh2's lib/protocol/keyParser.js: bcrypt-pbkdf (and the tweetnacl it loads) only for an encrypted OpenSSH key. */
const SSH2_KEY_PARSER: readonly Edit[] = [
  {
    find: "const bcrypt_pbkdf = require('bcrypt-pbkdf').pbkdf;",
    replace: "const bcrypt_pbkdf = (...args) => require('bcrypt-pbkdf').pbkdf(...args);",
  },
];

const TARGETS: readonly { readonly filter: RegExp; readonly edits: readonly Edit[] }[] = [
  { filter: /[\\/]node_modules[\\/]ssh2[\\/]lib[\\/]protocol[\\/]zlib\.js$/, edits: SSH2_ZLIB },
  { filter: /[\\/]node_modules[\\/]ssh2[\\/]lib[\\/]protocol[\\/]crypto\.js$/, edits: SSH2_CRYPTO },
  { filter: /[\\/]node_modules[\\/]ssh2[\\/]lib[\\/]index\.js$/, edits: SSH2_INDEX },
  { filter: /[\\/]node_modules[\\/]ssh2[\\/]lib[\\/]protocol[\\/]keyParser\.js$/, edits: SSH2_KEY_PARSER },
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
 * A CommonJS module with node:<builtin>'s export names (the names this Node has), each a getter that loads the
 * built-in on its first use, except the names `prelude` puts into its `direct` object, served without loading it.
 * `prelude` may also set `module.exports` (a callable built-in) and call `load()`. esbuild reads an imported binding
 * at each use (`(0, import_zlib.crc32)(…)`), so our own code's imports stay lazy too.
 */
function lazyBuiltinModule(builtin: string, prelude: readonly string[] = ['const direct = {};']): string {
  const names = Object.keys(createRequire(import.meta.url)(`node:${builtin}`) as object);
  return [
    'let real;',
    `const load = () => (real ??= require('node:${builtin}'));`,
    ...prelude,
    `for (const name of ${JSON.stringify(names)})`,
    '  Object.defineProperty(module.exports, name, { enumerable: true, get: () => direct[name] ?? load()[name] });',
  ].join('\n');
}

/** The bundle's node:zlib (see the header): every export loads node:zlib on its first use. */
export function lazyZlibModule(): string {
  return lazyBuiltinModule('zlib');
}

/** What the stand-in serves from node:fs's callback functions when the first argument is a path (not a FileHandle). */
export const FS_PROMISES_FROM_CALLBACKS = ['readFile', 'readdir'] as const;

/**
 * The bundle's node:fs/promises (see the header): FS_PROMISES_FROM_CALLBACKS of a path run node:fs's callback
 * function, everything else loads node:fs/promises on its first use.
 */
export function lazyFsPromisesModule(): string {
  return lazyBuiltinModule('fs/promises', [
    "const fs = require('node:fs');",
    "const isPath = (p) => typeof p === 'string' || Buffer.isBuffer(p) || p instanceof URL;",
    'const viaCallback = (name) => (path, ...rest) =>',
    '  isPath(path)',
    '    ? new Promise((resolve, reject) => fs[name](path, ...rest, (err, value) => (err ? reject(err) : resolve(value))))',
    '    : load()[name](path, ...rest);',
    `const direct = Object.fromEntries(${JSON.stringify(FS_PROMISES_FROM_CALLBACKS)}.map((n) => [n, viaCallback(n)]));`,
  ]);
}

/**
 * The bundle's node:assert (see the header): the callable, `ok`, `equal` and `strictEqual` check first and hand a
 * failing case to node:assert (which decides, e.g. NaN for `equal`, and throws its own error); every other export
 * is node:assert's, loaded on first use.
 */
export function lazyAssertModule(): string {
  return lazyBuiltinModule('assert', [
    'const ok = (value, ...rest) => { if (!value) load().ok(value, ...rest); };',
    'const direct = {',
    '  ok,',
    '  equal: (a, b, ...rest) => { if (a != b) load().equal(a, b, ...rest); },',
    '  strictEqual: (a, b, ...rest) => { if (!Object.is(a, b)) load().strictEqual(a, b, ...rest); },',
    '};',
    'module.exports = ok;',
  ]);
}

/** Built-ins whose lazily defined properties esbuild's interop would materialise (see the header). */
export const ACCESSOR_BUILTINS = ['util', 'fs'] as const;

/**
 * The CommonJS module the bundle gets for an ACCESSOR_BUILTINS built-in: one accessor per own property of the real
 * module (same names, same enumerability), reading from it and writing to it.
 */
export function accessorModule(builtin: (typeof ACCESSOR_BUILTINS)[number]): string {
  const real = createRequire(import.meta.url)(`node:${builtin}`) as object;
  const props = Object.getOwnPropertyNames(real).map((name) => [
    name,
    Object.getOwnPropertyDescriptor(real, name)?.enumerable === true,
  ]);
  return [
    `const real = require('node:${builtin}');`,
    `for (const [name, enumerable] of ${JSON.stringify(props)})`,
    '  Object.defineProperty(module.exports, name, { enumerable, get: () => real[name], set: (v) => { real[name] = v; } });',
  ].join('\n');
}
