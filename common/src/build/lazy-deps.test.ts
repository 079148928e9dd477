import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';
import { repoRoot } from '../codegen/typescript.ts';
import { bundleOptions, copySsh2Binding } from './bundle.ts';
import { applyEdits, LazyDepsError } from './lazy-deps.ts';

test('a dependency whose text changed fails the build instead of shipping unpatched', () => {
  assert.equal(applyEdits('f.js', 'a x b', [{ find: 'x', replace: 'y' }]), 'a y b');
  assert.throws(() => applyEdits('f.js', 'a b', [{ find: 'x', replace: 'y' }]), LazyDepsError);
  assert.throws(() => applyEdits('f.js', 'x x', [{ find: 'x', replace: 'y' }]), LazyDepsError);
});

test('the bundle loads node:zlib only when ssh2 compression, a Pushgateway gzip or a crc32 needs it, Poly1305 wasm only without the binding', async () => {
  // Inside the repository, so the entry resolves the repository's node_modules (test/.tmp is git-ignored).
  mkdirSync(join(repoRoot, 'test/.tmp'), { recursive: true });
  const dir = mkdtempSync(join(repoRoot, 'test/.tmp/lazy-deps-'));
  try {
    const entry = join(dir, 'entry.ts');
    // Imported first: counts WebAssembly instantiations (ssh2's Poly1305 module is the only wasm here).
    writeFileSync(
      join(dir, 'hook.js'),
      'const i = WebAssembly.instantiate; globalThis.wasmCount = 0; WebAssembly.instantiate = (...a) => (globalThis.wasmCount++, i(...a));',
    );
    writeFileSync(
      entry,
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
      ].join('\n'),
    );
    const opts = bundleOptions(dir, { outdir: 'out', entryPoints: { main: entry } });
    await build({ ...opts, sourcemap: false, legalComments: 'none' });
    copySsh2Binding(join(dir, 'out'));
    const out = JSON.parse(execFileSync(process.execPath, [join(dir, 'out', 'main.js')], { encoding: 'utf8' }));
    const { crc32 } = await import('node:zlib');
    assert.deepEqual(out, {
      atLoad: false,
      pushgateway: 'function',
      poly1305Wasm: !out.binding,
      binding: out.binding,
      afterPlainReader: false,
      crc: crc32(Buffer.from('sftpgate')),
      afterCrc: true,
      zlibReader: 'function',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
