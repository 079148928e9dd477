// Named algorithm policies for the SSH transport (docs/sftp-pod.md compares them with AWS Transfer Family's).
// ssh2 always adds `kex-strict-s-v00@openssh.com` to a server offer (strict KEX, the Terrapin countermeasure), so no
// policy needs to list it; a test asserts it is negotiated.
//
// Left out of every policy, whatever a client offers:
// - `diffie-hellman-group-exchange-*`: ssh2 1.17 implements group exchange only as a client; as a server it fails the
//   handshake ("Group exchange not implemented for server"), so offering it breaks clients that prefer it.
// - compression: ssh2's inflater has no output cap (a few KiB of zlib can expand to megabytes in one packet).
// - umac-*, sntrup761x25519-sha512: not implemented by ssh2.
import type { Algorithms } from 'ssh2';

export const ALGORITHM_POLICY_NAMES = ['default', 'strict', 'compatible'] as const;
export type AlgorithmPolicyName = (typeof ALGORITHM_POLICY_NAMES)[number];

interface PolicyTable {
  readonly kex: readonly string[];
  readonly serverHostKey: readonly string[];
  readonly cipher: readonly string[];
  readonly hmac: readonly string[];
  /** May a user authenticate with an `ssh-rsa` (SHA-1) signature? */
  readonly sha1Signatures: boolean;
}

const KEX = [
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
  'diffie-hellman-group14-sha256',
];
const HOST_KEY = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
];
const AEAD = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com'];
const CTR = ['aes128-ctr', 'aes192-ctr', 'aes256-ctr'];
const ETM = ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com'];
const SHA2_EAM = ['hmac-sha2-256', 'hmac-sha2-512'];

const POLICIES: Readonly<Record<AlgorithmPolicyName, PolicyTable>> = {
  /** What OpenSSH 9.2's sshd (Debian 12) accepts by default, that ssh2 implements, minus SHA-1, CBC, compression. */
  default: {
    kex: KEX,
    serverHostKey: HOST_KEY,
    cipher: [...AEAD, ...CTR],
    hmac: [...ETM, ...SHA2_EAM],
    sha1Signatures: false,
  },
  /** AEAD ciphers, or CTR with encrypt-then-MAC only: no MAC computed over plaintext. */
  strict: { kex: KEX, serverHostKey: HOST_KEY, cipher: [...AEAD, ...CTR], hmac: ETM, sha1Signatures: false },
  /** default, then SHA-1 (KEX, host key and user signatures, MACs) and CBC for clients that have nothing better. */
  compatible: {
    kex: [...KEX, 'diffie-hellman-group14-sha1'],
    serverHostKey: [...HOST_KEY, 'ssh-rsa'],
    cipher: [...AEAD, ...CTR, 'aes128-cbc', 'aes192-cbc', 'aes256-cbc'],
    hmac: [...ETM, ...SHA2_EAM, 'hmac-sha1-etm@openssh.com', 'hmac-sha1'],
    sha1Signatures: true,
  },
};

/** Former names still read from older SftpServer objects and flags: `modern` was renamed `strict`. */
const ALIASES: Readonly<Record<string, AlgorithmPolicyName>> = { modern: 'strict' };

/** The policy name for a configured value (case-insensitive, aliases resolved); undefined when unknown. */
export function policyName(text: string): AlgorithmPolicyName | undefined {
  const t = text.toLowerCase();
  return ALGORITHM_POLICY_NAMES.find((n) => n === t) ?? ALIASES[t];
}

export interface AlgorithmPolicy {
  readonly name: AlgorithmPolicyName;
  readonly algorithms: Algorithms;
  /** May a user authenticate with an `ssh-rsa` (SHA-1) signature? */
  readonly allowSha1Signatures: boolean;
}

export function algorithmPolicy(name: AlgorithmPolicyName): AlgorithmPolicy {
  const p = POLICIES[name];
  return {
    name,
    algorithms: {
      kex: [...p.kex],
      serverHostKey: [...p.serverHostKey],
      cipher: [...p.cipher],
      hmac: [...p.hmac],
      compress: ['none'],
    } as Algorithms,
    allowSha1Signatures: p.sha1Signatures,
  };
}
