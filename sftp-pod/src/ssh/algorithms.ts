// Named algorithm policies for the SSH transport. ssh2 always adds `kex-strict-s-v00@openssh.com` to a server offer
// (strict KEX, the Terrapin countermeasure), so neither policy needs to list it; a test asserts it is negotiated.
import type { Algorithms } from 'ssh2';

export type AlgorithmPolicyName = 'modern' | 'compatible';

/** modern: no SHA-1 anywhere (KEX, host key signatures, MACs), no CBC; AEAD ciphers first, CTR only with ETM MACs. */
const modern = {
  kex: [
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'ecdh-sha2-nistp256',
    'ecdh-sha2-nistp384',
    'ecdh-sha2-nistp521',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
    'diffie-hellman-group14-sha256',
  ],
  serverHostKey: ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256'],
  cipher: [
    'aes128-gcm@openssh.com',
    'aes256-gcm@openssh.com',
    'chacha20-poly1305@openssh.com',
    'aes128-ctr',
    'aes192-ctr',
    'aes256-ctr',
  ],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com'],
  compress: ['none'],
} as const;

/** compatible: modern first, then what older clients (WinSCP 5, old Java/Go libraries) still need. */
const compatible = {
  kex: [...modern.kex, 'diffie-hellman-group-exchange-sha256', 'diffie-hellman-group14-sha1'],
  serverHostKey: [...modern.serverHostKey, 'ssh-rsa'],
  cipher: [...modern.cipher, 'aes128-cbc', 'aes256-cbc'],
  hmac: [...modern.hmac, 'hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha1'],
  compress: ['none', 'zlib@openssh.com'],
} as const;

export interface AlgorithmPolicy {
  readonly name: AlgorithmPolicyName;
  readonly algorithms: Algorithms;
  /** May a user authenticate with an `ssh-rsa` (SHA-1) signature? */
  readonly allowSha1Signatures: boolean;
}

export function algorithmPolicy(name: AlgorithmPolicyName): AlgorithmPolicy {
  const p = name === 'modern' ? modern : compatible;
  return {
    name,
    algorithms: {
      kex: [...p.kex],
      serverHostKey: [...p.serverHostKey],
      cipher: [...p.cipher],
      hmac: [...p.hmac],
      compress: [...p.compress],
    } as Algorithms,
    allowSha1Signatures: name === 'compatible',
  };
}
