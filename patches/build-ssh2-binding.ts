// Builds ssh2's own native crypto binding (lib/protocol/crypto/src/binding.cc: AES-GCM, ChaCha20-Poly1305 and
// CTR/CBC+HMAC in place, one OpenSSL context per direction) for the runtime that runs this script, explicitly and
// idempotently: `make deps` and the Dockerfile's build stage run it after patches/apply.ts (which makes binding.cc
// compile on Node 26). ssh2's install script stays off (package.json allowScripts); no node-gyp either: one g++ call
// against the runtime's own headers (<node>/include/node, which carry OpenSSL's) and the locked `nan`, the flags
// node-gyp would use. Output: node_modules/ssh2/lib/protocol/crypto/build/Release/sshcrypto.node, where ssh2 looks.
// Usage: node patches/build-ssh2-binding.ts [node_modules dir]   (docs/decisions.md "ssh2's native crypto binding")
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
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

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const modules = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules');
  try {
    console.log(buildSsh2Binding(modules));
  } catch (err) {
    console.error(`ssh2 binding: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
