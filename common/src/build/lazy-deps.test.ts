import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';
import { repoRoot } from '../codegen/typescript.ts';
import { bundleOptions, copySsh2Binding } from './bundle.ts';
import { applyEdits, LazyDepsError } from './lazy-deps.ts';

/**
 * Bundles `lines` (an entry module, plus `files` beside it) exactly as `make build` bundles the pod, runs the output
 * and returns what it printed as JSON. Inside the repository, so the entry resolves the repository's node_modules
 * (test/.tmp is git-ignored).
 */
async function runBundled(
  lines: readonly string[],
  files: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  mkdirSync(join(repoRoot, 'test/.tmp'), { recursive: true });
  const dir = mkdtempSync(join(repoRoot, 'test/.tmp/lazy-deps-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const entry = join(dir, 'entry.ts');
    writeFileSync(entry, lines.map((l) => l.replaceAll('$DIR', dir)).join('\n'));
    const opts = bundleOptions(dir, { outdir: 'out', entryPoints: { main: entry } });
    await build({ ...opts, sourcemap: false, legalComments: 'none' });
    copySsh2Binding(join(dir, 'out'));
    return JSON.parse(execFileSync(process.execPath, [join(dir, 'out', 'main.js')], { encoding: 'utf8' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a dependency whose text changed fails the build instead of shipping unpatched', () => {
  assert.equal(applyEdits('f.js', 'a x b', [{ find: 'x', replace: 'y' }]), 'a y b');
  assert.throws(() => applyEdits('f.js', 'a b', [{ find: 'x', replace: 'y' }]), LazyDepsError);
  assert.throws(() => applyEdits('f.js', 'x x', [{ find: 'x', replace: 'y' }]), LazyDepsError);
});

test('the bundle loads node:zlib only when ssh2 compression, a Pushgateway gzip or a crc32 needs it, Poly1305 wasm only without the binding', async () => {
  const out = await runBundled(
    [
      "import './hook.js';",
      "import { crc32 } from 'node:zlib';",
      "import { Pushgateway } from 'prom-client';",
      `import zl from ${JSON.stringify('ssh2/lib/protocol/zlib.js')};`,
      "import sshCrypto from 'ssh2/lib/protocol/crypto.js';",
      "const loaded = () => process.moduleLoadList.includes('NativeModule zlib');",
      'await sshCrypto.init;',
      'const out = { atLoad: loaded(), pushgateway: typeof Pushgateway };',
      'out.poly1305Wasm = globalThis.wasmCount > 0;',
      'out.binding = sshCrypto.bindingAvailable;',
      'new zl.PacketReader();',
      'out.afterPlainReader = loaded();',
      "out.crc = crc32(Buffer.from('sftpgate'));",
      'out.afterCrc = loaded();',
      'const r = new zl.ZlibPacketReader();',
      'out.zlibReader = typeof r.read;',
      'console.log(JSON.stringify(out));',
    ],
    // Imported first: counts WebAssembly instantiations (ssh2's Poly1305 module is the only wasm here).
    {
      'hook.js':
        'const i = WebAssembly.instantiate; globalThis.wasmCount = 0; WebAssembly.instantiate = (...a) => (globalThis.wasmCount++, i(...a));',
    },
  );
  const { crc32 } = await import('node:zlib');
  assert.deepEqual(out, {
    atLoad: false,
    pushgateway: 'function',
    poly1305Wasm: !out['binding'],
    binding: out['binding'],
    afterPlainReader: false,
    crc: crc32(Buffer.from('sftpgate')),
    afterCrc: true,
    zlibReader: 'function',
  });
});

test('the bundle reads files without loading node:fs/promises, and serves the rest of it on first use', async () => {
  const out = await runBundled(
    [
      "import { open, readdir, readFile } from 'node:fs/promises';",
      "const loaded = () => process.moduleLoadList.includes('NativeModule fs/promises');",
      "const a = '$DIR/a.txt';",
      'const out = { atLoad: loaded() };',
      "out.text = await readFile(a, 'utf8');",
      "out.bytes = (await readFile(new URL('file://' + a))).length;",
      "out.names = (await readdir('$DIR')).filter((n) => n.endsWith('.txt'));",
      "out.missing = await readFile(a + '.none').then(() => 'read', (e) => e.code);",
      'out.afterReads = loaded();',
      'const h = await open(a);',
      "out.viaHandle = await readFile(h, 'utf8');",
      'await h.close();',
      'out.afterOpen = loaded();',
      'console.log(JSON.stringify(out));',
    ],
    { 'a.txt': 'sftpgate' },
  );
  assert.deepEqual(out, {
    atLoad: false,
    text: 'sftpgate',
    bytes: 8,
    names: ['a.txt'],
    missing: 'ENOENT',
    afterReads: false,
    viaHandle: 'sftpgate',
    afterOpen: true,
  });
});

test("the bundle's ssh2 loads its client, agents and key generator only when used", async () => {
  const out = await runBundled([
    "import ssh2 from 'ssh2';",
    // ssh2's client takes node:dns at load, its agents node:child_process: neither is loaded by anything else here.
    "const loaded = (m) => process.moduleLoadList.includes('NativeModule ' + m);",
    'const out = { server: typeof ssh2.Server, parseKey: typeof ssh2.utils.parseKey };',
    "out.atLoad = { dns: loaded('dns'), childProcess: loaded('child_process') };",
    'out.sftpOpenMode = typeof ssh2.utils.sftp.OPEN_MODE.READ;',
    "const key = ssh2.utils.generateKeyPairSync('ed25519');",
    'out.parsed = ssh2.utils.parseKey(key.private).type;',
    "const encrypted = ssh2.utils.generateKeyPairSync('ed25519', { passphrase: 'p', cipher: 'aes256-ctr', rounds: 2 });",
    "out.encrypted = ssh2.utils.parseKey(encrypted.private, 'p').type;",
    "out.beforeClient = { dns: loaded('dns'), childProcess: loaded('child_process') };",
    'out.client = typeof ssh2.Client;',
    'out.agent = typeof ssh2.OpenSSHAgent;',
    'out.httpAgent = typeof ssh2.HTTPAgent;',
    "out.afterClient = { dns: loaded('dns'), childProcess: loaded('child_process') };",
    'console.log(JSON.stringify(out));',
  ]);
  assert.deepEqual(out, {
    server: 'function',
    parseKey: 'function',
    atLoad: { dns: false, childProcess: false },
    sftpOpenMode: 'number',
    parsed: 'ssh-ed25519',
    encrypted: 'ssh-ed25519',
    beforeClient: { dns: false, childProcess: false },
    client: 'function',
    agent: 'function',
    httpAgent: 'function',
    afterClient: { dns: true, childProcess: true },
  });
});

test("the bundle's node:util and node:fs leave their lazily defined properties unloaded until used", async () => {
  const out = await runBundled(
    [
      "import { promisify } from 'node:util';",
      "import fs, { readFileSync } from 'node:fs';",
      "import inherits from './dep.cjs';",
      "const loaded = (m) => process.moduleLoadList.includes('NativeModule ' + m);",
      'const out = {};',
      "out.atLoad = ['internal/util/parse_args/parse_args', 'internal/util/trace_sigint', 'worker_threads', 'internal/fs/dir'].filter(loaded);",
      'out.promisify = typeof promisify(setTimeout);',
      "out.read = readFileSync('$DIR/dep.cjs', 'utf8').length > 0;",
      'out.inherits = typeof inherits;',
      "out.keys = Object.keys(fs).join() === Object.keys(process.getBuiltinModule('node:fs')).join();",
      "out.dir = typeof fs.Dir === 'function' && loaded('internal/fs/dir');",
      'console.log(JSON.stringify(out));',
    ],
    // A CommonJS dependency takes the same module with `require`.
    { 'dep.cjs': "module.exports = require('util').inherits;" },
  );
  assert.deepEqual(out, { atLoad: [], promisify: 'function', read: true, inherits: 'function', keys: true, dir: true });
});

test("the bundle's node:assert loads node:assert only when an assertion fails or another export is used", async () => {
  const out = await runBundled(
    [
      "import assert from 'node:assert';",
      "import check from './dep.cjs';",
      "const loaded = () => process.moduleLoadList.includes('NativeModule assert');",
      "assert(1); assert.ok('x'); assert.equal(1, '1'); assert.strictEqual(-0, -0);",
      'check.ok(true); check.equal(2, 2);',
      'const out = { passing: loaded() };',
      'try { assert.equal(1, 2); } catch (e) { out.failure = e.code; }',
      'out.afterFailure = loaded();',
      // node:assert decides the cases the quick check cannot (NaN equals NaN for `equal`).
      'assert.equal(NaN, NaN);',
      'try { check.strictEqual(0, -0); } catch (e) { out.strict = e.code; }',
      'out.deep = (() => { assert.deepStrictEqual({ a: [1] }, { a: [1] }); return true; })();',
      'console.log(JSON.stringify(out));',
    ],
    { 'dep.cjs': "module.exports = require('assert');" },
  );
  assert.deepEqual(out, {
    passing: false,
    failure: 'ERR_ASSERTION',
    afterFailure: true,
    strict: 'ERR_ASSERTION',
    deep: true,
  });
});
