import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sshMpint, sshString } from '../../../common/src/ssh/wire.ts';
import { InvalidAuthorizedKeyError } from './errors.ts';
import { generateHostKey } from './host-keys.ts';
import { parseAuthorizedKey, parseAuthorizedKeys } from './ssh-public-key.ts';

const dir = mkdtempSync(join(tmpdir(), 'sftpgate-pubkey-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sshKeygen(type: string, bits?: number): { line: string; fingerprint: string } {
  const file = join(dir, `k_${type}_${bits ?? 0}`);
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    type,
    ...(bits ? ['-b', String(bits)] : []),
    '-N',
    '',
    '-C',
    'me@host',
    '-f',
    file,
  ]);
  const line = readFileSync(`${file}.pub`, 'utf8').trim();
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1] ?? '';
  return { line, fingerprint };
}

describe('parseAuthorizedKey accepts real keys with ssh-keygen fingerprints', () => {
  for (const [type, bits] of [['ed25519'], ['rsa', 3072], ['ecdsa', 256], ['ecdsa', 521]] as const) {
    it(`${type}${bits ? `-${bits}` : ''}`, () => {
      const k = sshKeygen(type, bits);
      const p = parseAuthorizedKey(`  ${k.line.replace(' ', '   ')}  `);
      assert.equal(p.fingerprint, k.fingerprint);
      assert.equal(p.line, k.line);
      assert.equal(p.comment, 'me@host');
    });
  }
});

const ed = generateHostKey('ed25519').publicKey;
const smallRsa = (() => {
  const jwk = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
  const blob = Buffer.concat([
    sshString('ssh-rsa'),
    sshMpint(Buffer.from(jwk.e ?? '', 'base64url')),
    sshMpint(Buffer.from(jwk.n ?? '', 'base64url')),
  ]);
  return `ssh-rsa ${blob.toString('base64')}`;
})();

describe('parseAuthorizedKey refuses bad keys with a reason', () => {
  const cases: { name: string; line: string; message: RegExp }[] = [
    { name: 'empty', line: '', message: /empty key/ },
    { name: 'unknown type', line: 'ssh-dss AAAAB3NzaC1kc3M=', message: /unsupported key type/ },
    { name: 'options prefix', line: `from="10.0.0.1" ${ed}`, message: /options are not supported/ },
    { name: 'not base64', line: 'ssh-ed25519 !!!!', message: /not base64/ },
    { name: 'truncated blob', line: 'ssh-ed25519 AAAA', message: /truncated/ },
    { name: 'type mismatch', line: `ssh-rsa ${ed.split(' ')[1]}`, message: /does not match/ },
    {
      name: 'ed25519 wrong length',
      line: `ssh-ed25519 ${Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(31))]).toString('base64')}`,
      message: /malformed ssh-ed25519 key data/,
    },
    { name: 'RSA 1024 bits', line: smallRsa, message: /too small/ },
    { name: 'two keys in one entry', line: `${ed}\n${ed}`, message: /line break/ },
    { name: 'private key pasted', line: '-----BEGIN OPENSSH PRIVATE KEY-----', message: /unsupported key type/ },
    {
      // A FIDO key is well formed but could never log in (the pod cannot verify sk signatures): refused, not Ready.
      name: 'FIDO sk-ssh-ed25519 key',
      line: `sk-ssh-ed25519@openssh.com ${Buffer.concat([sshString('sk-ssh-ed25519@openssh.com'), sshString(Buffer.alloc(32, 7)), sshString('ssh:')]).toString('base64')} me@yubikey`,
      message: /key type "sk-ssh-ed25519@openssh.com" is not supported/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.throws(
        () => parseAuthorizedKey(c.line, 3),
        (err: unknown) => {
          assert.ok(err instanceof InvalidAuthorizedKeyError);
          assert.equal(err.code, 'SFTPGATE_OP_INVALID_AUTHORIZED_KEY');
          assert.equal(err.index, 3);
          assert.match(err.message, c.message);
          return true;
        },
      );
    });
  }
});

describe('parseAuthorizedKeys', () => {
  it('collects every error and refuses duplicates, keeps good keys', () => {
    const r = parseAuthorizedKeys([ed, 'garbage', `${ed} other-comment`]);
    assert.equal(r.keys.length, 1);
    assert.deepEqual(
      r.errors.map((e) => e.index),
      [1, 2],
    );
    assert.match(r.errors[1]?.message ?? '', /duplicate/);
  });
});
