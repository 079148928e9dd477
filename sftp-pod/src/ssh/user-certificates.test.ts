import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { makeKeyDir } from './testing/keys.ts';
import { checkUserCertificate, parseTrustedUserCas } from './user-certificates.ts';

const keys = makeKeyDir();
after(() => keys.remove());
const ca = keys.generate('ca');
const user = keys.generate('user');
const cas = parseTrustedUserCas(`${ca.publicLine}\n`, 'serial:9\n');

/** A certificate made by ssh-keygen: [algorithm, blob]. */
function cert(name: string, args: string[]): [string, Buffer] {
  const pub = join(keys.dir, `${name}.pub`);
  execFileSync('cp', [`${user.file}.pub`, pub]);
  execFileSync('ssh-keygen', ['-q', '-s', ca.file, ...args, pub], { stdio: 'ignore' });
  const [algo = '', b64 = ''] = readFileSync(join(keys.dir, `${name}-cert.pub`), 'utf8').split(' ');
  return [algo, Buffer.from(b64, 'base64')];
}

describe('checkUserCertificate', () => {
  const base = ['-I', 'id', '-n', 'alice', '-V', '-5m:+1h'];
  test('accepts a valid user certificate and returns the certified key', () => {
    const [algo, blob] = cert('ok', [...base, '-z', '5']);
    const c = checkUserCertificate(algo, blob, 'alice', '127.0.0.1', cas);
    assert.ok(typeof c !== 'string', String(c));
    assert.equal(c.keyId, 'id');
    assert.equal(c.serial, 5n);
  });
  test('refusals the OpenSSH client never lets us see end to end, and tampering', () => {
    const [hAlgo, host] = cert('host', ['-h', ...base]);
    assert.equal(checkUserCertificate(hAlgo, host, 'alice', '127.0.0.1', cas), 'not-a-user-certificate');
    const [algo, blob] = cert('tamper', base);
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 10] = (tampered[tampered.length - 10] ?? 0) ^ 1;
    assert.equal(checkUserCertificate(algo, tampered, 'alice', '127.0.0.1', cas), 'bad-ca-signature');
    assert.equal(checkUserCertificate(algo, blob.subarray(0, 50), 'alice', '127.0.0.1', cas), 'malformed');
    assert.equal(checkUserCertificate('ssh-ed25519', blob, 'alice', '127.0.0.1', cas), 'malformed');
    const [vAlgo, verify] = cert('verify', [...base, '-O', 'verify-required']);
    assert.equal(checkUserCertificate(vAlgo, verify, 'alice', '127.0.0.1', cas), 'unsupported-option');
    const [rAlgo, revoked] = cert('revoked', [...base, '-z', '9']);
    assert.equal(checkUserCertificate(rAlgo, revoked, 'alice', '127.0.0.1', cas), 'revoked');
  });
  test('trust and revocation files: comments allowed, a bad line throws', () => {
    assert.throws(() => parseTrustedUserCas('not a key\n'), /does not parse/);
    assert.throws(() => parseTrustedUserCas(`${ca.publicLine}\n`, 'number 5\n'), /serial:<n> or id:<key id>/);
    assert.equal(parseTrustedUserCas(`# comment\n\n${ca.publicLine}\n`).keys.length, 1);
  });
});
