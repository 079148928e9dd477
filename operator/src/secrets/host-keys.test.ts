import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { InvalidHostKeyError } from './errors.ts';
import { generateHostKey, type HostKeyType, inspectOpenSshPrivateKey } from './host-keys.ts';

const dir = mkdtempSync(join(tmpdir(), 'sftpgate-hostkeys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('generateHostKey', () => {
  const cases: { type: HostKeyType; sshType: string; bits: string }[] = [
    { type: 'ed25519', sshType: 'ssh-ed25519', bits: '256' },
    { type: 'rsa', sshType: 'ssh-rsa', bits: '3072' },
  ];
  for (const c of cases) {
    it(`${c.type}: ssh-keygen reads the private key, and agrees on public key and fingerprint`, () => {
      const key = generateHostKey(c.type, 'test@sftpgate');
      assert.match(key.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
      const file = join(dir, `key_${c.type}`);
      writeFileSync(file, key.privateKey, { mode: 0o600 });
      const pub = execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim();
      assert.equal(pub.split(' ').slice(0, 2).join(' '), key.publicKey);
      const fp = execFileSync('ssh-keygen', ['-l', '-f', file], { encoding: 'utf8' }).trim().split(' ');
      assert.equal(fp[0], c.bits);
      assert.equal(fp[1], key.fingerprint);
      assert.ok(key.publicKey.startsWith(`${c.sshType} `));
      // The pod loads host keys with ssh2.
      const parsed = ssh2.utils.parseKey(key.privateKey);
      assert.ok(!(parsed instanceof Error), String(parsed));
      const inspected = inspectOpenSshPrivateKey(key.privateKey);
      assert.equal(inspected.fingerprint, key.fingerprint);
      assert.equal(inspected.type, c.sshType);
    });
  }

  it('a draw ssh2 cannot read back (its 31-byte ed25519 encoding) is discarded for a fresh one', () => {
    const good = generateHostKey('ed25519');
    const malformed = good.privateKey.replace(/\n[A-Za-z0-9+/=]+\n-----END/, '\nAAAA\n-----END');
    let draws = 0;
    const key = generateHostKey('ed25519', 'c', () => ({ private: ++draws === 1 ? malformed : good.privateKey }));
    assert.equal(draws, 2);
    assert.equal(key.fingerprint, good.fingerprint);
    assert.throws(() => generateHostKey('ed25519', 'c', () => ({ private: malformed })), InvalidHostKeyError);
  });

  it('two generations differ (never reused by accident)', () => {
    assert.notEqual(generateHostKey('ed25519').fingerprint, generateHostKey('ed25519').fingerprint);
  });
});

describe('inspectOpenSshPrivateKey refuses garbage', () => {
  const cases: { name: string; pem: string }[] = [
    { name: 'empty', pem: '' },
    { name: 'PKCS8 PEM', pem: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' },
    { name: 'bad magic', pem: '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n' },
    {
      name: 'encrypted key (the pod has no passphrase)',
      pem: ssh2.utils.generateKeyPairSync('ed25519', { passphrase: 'secret', cipher: 'aes256-ctr', rounds: 2 }).private,
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.throws(() => inspectOpenSshPrivateKey(c.pem), InvalidHostKeyError));
  }
});
