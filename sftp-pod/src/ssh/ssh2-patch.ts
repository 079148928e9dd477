// The pod runs ssh2 with patches/ssh2@1.17.0.patch (padding randomness from a pool, one reused plaintext buffer per
// cipher; docs/decisions.md). Installs apply it explicitly (`make deps`, the Dockerfile), never via install
// scripts, so an install that skipped that step would run stock ssh2 silently slower: the server refuses to start.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CodedError } from '../../../common/src/errors/coded-error.ts';

/** The comment the patch puts into ssh2's lib/protocol/crypto.js. */
export const SSH2_PATCH_MARKER = 'sftpgate-ssh2-patch';
export const SSH2_PINNED_VERSION = '1.17.0';

export class Ssh2PatchError extends CodedError<'SFTPGATE_SSH2_PATCH'> {}

let verified = false;

/** Throws Ssh2PatchError unless the installed ssh2 is the pinned version with the patch applied. Checks once. */
export function assertSsh2Patched(): void {
  if (verified) return;
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(readFileSync(require.resolve('ssh2/package.json'), 'utf8')) as { version?: string };
  const crypto = readFileSync(require.resolve('ssh2/lib/protocol/crypto.js'), 'utf8');
  if (pkg.version !== SSH2_PINNED_VERSION || !crypto.includes(SSH2_PATCH_MARKER)) {
    throw new Ssh2PatchError(
      'SFTPGATE_SSH2_PATCH',
      `ssh2 ${pkg.version ?? '?'} is installed without patches/ssh2@${SSH2_PINNED_VERSION}.patch: ` +
        'run `node patches/apply.ts` after npm install (make deps and the Dockerfile do)',
    );
  }
  verified = true;
}
