// The pod runs ssh2 with patches/ssh2@1.17.0.patch (padding randomness from a pool, one reused plaintext buffer per
// cipher, pooled packet buffers, channel writes packed into full packets; docs/decisions.md). Installs apply it
// explicitly (`make deps`, the Dockerfile's build stage before the bundle), never via install scripts, so a build that
// skipped that step would run stock ssh2 silently slower: the server refuses to start. The check looks at the code
// that actually runs (the bundle carries ssh2; there is no node_modules in the image): ssh2's package version, a
// cipher built by ssh2 having the patch's reusable buffer, and ssh2's Channel having the patch's `_writev`.
// ssh2's native crypto binding (built by patches/build-ssh2-binding.ts, copied beside the bundle) is used when it is
// there: `make deps` always builds it, images build it when their build stage can get a compiler. Without it every
// AES-GCM packet costs a Node cipher object and a fresh output buffer (about 1.7x the CPU per uploaded GiB in ssh2,
// docs/benchmarks.md session 18), so the server logs which one runs (ssh2NativeCrypto()) — a warning when it is not.
import ssh2Channel from 'ssh2/lib/Channel.js';
import ssh2Crypto from 'ssh2/lib/protocol/crypto.js';
import ssh2Package from 'ssh2/package.json' with { type: 'json' };
import { CodedError } from '../../../common/src/errors/coded-error.ts';

export const SSH2_PINNED_VERSION = '1.17.0';

export class Ssh2PatchError extends CodedError<'SFTPGATE_SSH2_PATCH'> {}

/** An AES-128-GCM cipher as ssh2 builds one for a connection (`forceNative`: Node's crypto even with the binding). */
function aesGcmCipher(crypto: typeof ssh2Crypto, forceNative: boolean): object | undefined {
  const info = crypto.CIPHER_INFO['aes128-gcm@openssh.com'];
  if (!info) return undefined;
  return crypto.createCipher({
    outbound: {
      onWrite: () => {},
      cipherInfo: info,
      cipherKey: Buffer.alloc(info.keyLen),
      cipherIV: Buffer.alloc(info.ivLen),
      seqno: 0,
      forceNative,
    },
  });
}

/**
 * True when the running ssh2 carries the patch: its AES-GCM cipher builds packets in a reusable buffer, and its
 * channels pack buffered writes into full packets (`_writev`).
 */
export function ssh2Patched(crypto = ssh2Crypto, channel = ssh2Channel): boolean {
  const cipher = aesGcmCipher(crypto, true);
  return cipher !== undefined && '_scratch' in cipher && typeof channel.Channel.prototype._writev === 'function';
}

/** True when the running ssh2 encrypts AES-GCM with its native binding (in place, one context per direction). */
export function ssh2NativeCrypto(crypto = ssh2Crypto): boolean {
  if (crypto.bindingAvailable !== true) return false;
  const cipher = aesGcmCipher(crypto, false);
  return cipher !== undefined && '_instance' in cipher;
}

let verified = false;

/**
 * Throws Ssh2PatchError unless the running ssh2 is the pinned version with the patch applied. Checks once; returns
 * whether ssh2 runs its native crypto binding.
 */
export function assertSsh2Patched(): { readonly nativeCrypto: boolean } {
  if (!verified) {
    const version = (ssh2Package as { version?: string }).version;
    if (version !== SSH2_PINNED_VERSION || !ssh2Patched()) {
      throw new Ssh2PatchError(
        'SFTPGATE_SSH2_PATCH',
        `ssh2 ${version ?? '?'} runs without patches/ssh2@${SSH2_PINNED_VERSION}.patch: ` +
          'run `node patches/apply.ts` after npm install and before bundling (make deps and the Dockerfile do)',
      );
    }
    verified = true;
  }
  return { nativeCrypto: ssh2NativeCrypto() };
}
