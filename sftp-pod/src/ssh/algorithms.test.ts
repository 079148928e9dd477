import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { ALGORITHM_POLICY_NAMES, type AlgorithmPolicyName, algorithmPolicy, policyName } from './algorithms.ts';

// ssh2's own lists of what it implements (lib/protocol/constants.js): every name a policy offers must be there.
const { SUPPORTED_KEX, SUPPORTED_SERVER_HOST_KEY, SUPPORTED_CIPHER, SUPPORTED_MAC } = createRequire(import.meta.url)(
  'ssh2/lib/protocol/constants.js',
) as Record<string, string[]>;

// OpenSSH 9.2p1's compiled-in sshd defaults (myproposal.h; `strings sshd` of Debian 12's openssh-server).
const OPENSSH_92 = {
  kex: 'sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256',
  serverHostKey: 'ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256',
  cipher:
    'chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com',
  hmac: 'umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1',
} as const;

const SUPPORTED = {
  kex: SUPPORTED_KEX,
  serverHostKey: SUPPORTED_SERVER_HOST_KEY,
  cipher: SUPPORTED_CIPHER,
  hmac: SUPPORTED_MAC,
} as const;
type Part = keyof typeof SUPPORTED;
const PARTS = Object.keys(SUPPORTED) as Part[];
const list = (name: AlgorithmPolicyName, part: Part) => (algorithmPolicy(name).algorithms[part] ?? []) as string[];
const sha1 = (a: string) => /sha1|^ssh-rsa$/.test(a);

describe('algorithm policies', () => {
  test('every offered name is implemented by ssh2; no compression; no group exchange (ssh2 has no server side)', () => {
    for (const name of ALGORITHM_POLICY_NAMES) {
      for (const part of PARTS) {
        for (const a of list(name, part)) assert.ok(SUPPORTED[part]?.includes(a), `${name} ${part} ${a}`);
        assert.ok(!list(name, part).some((a) => a.includes('group-exchange')), `${name} ${part}`);
      }
      assert.deepEqual(algorithmPolicy(name).algorithms.compress, ['none']);
    }
  });

  test('default = OpenSSH 9.2 sshd defaults ∩ ssh2, minus SHA-1 and CBC (group exchange aside)', () => {
    for (const part of PARTS) {
      const want = OPENSSH_92[part]
        .split(',')
        .filter((a) => SUPPORTED[part]?.includes(a) && !sha1(a) && !a.includes('group-exchange'));
      assert.deepEqual(new Set(list('default', part)), new Set(want), part);
    }
    assert.equal(algorithmPolicy('default').allowSha1Signatures, false);
    // What libssh2 1.10 (curl 7.88) needs: a non-ETM SHA-2 MAC with CTR.
    assert.ok(list('default', 'hmac').includes('hmac-sha2-256'));
  });

  test('strict: AEAD or encrypt-then-MAC only, no SHA-1, no CBC', () => {
    assert.ok(list('strict', 'hmac').every((m) => m.endsWith('-etm@openssh.com')));
    for (const part of PARTS) assert.ok(!list('strict', part).some(sha1), part);
    assert.ok(!list('strict', 'cipher').some((c) => c.endsWith('-cbc')));
    assert.equal(algorithmPolicy('strict').allowSha1Signatures, false);
  });

  test('compatible adds SHA-1 and CBC to default and keeps default first', () => {
    for (const part of PARTS) {
      const d = list('default', part);
      assert.deepEqual(list('compatible', part).slice(0, d.length), d, part);
    }
    assert.ok(list('compatible', 'cipher').includes('aes128-cbc'));
    assert.ok(list('compatible', 'hmac').includes('hmac-sha1'));
    assert.equal(algorithmPolicy('compatible').allowSha1Signatures, true);
  });

  test('names: case-insensitive; `modern` (the former name of strict) still reads as strict', () => {
    assert.equal(policyName('Default'), 'default');
    assert.equal(policyName('modern'), 'strict');
    assert.equal(policyName('weak'), undefined);
  });
});
