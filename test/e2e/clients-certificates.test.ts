// OpenSSH user certificates against the pod: certificates made by the real ssh-keygen, presented by the real OpenSSH
// sftp. Accepted only when signed by a trusted CA (ed25519 or RSA), valid now, for this username, not revoked, with
// no critical option we do not enforce; source-address is enforced.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type KeyDir, type KeyPair, makeKeyDir } from '../../sftp-pod/src/ssh/testing/keys.ts';
import { createLogger } from '../../sftp-pod/src/telemetry/log.ts';
import { makeTempDir, removeTempDir, runCommand, sftpClientArgs, waitUntil } from '../infra/index.ts';
import { type Harness, startHarness } from './sftp-harness.ts';

let h: Harness;
let keys: KeyDir;
let dir: string;
let user: KeyPair;
let ca: KeyPair;
let rsaCa: KeyPair;
let otherCa: KeyPair;
let revokedFile: string;
/** Reasons the pod logged for refused certificates, in order. */
const reasons: string[] = [];

before(async () => {
  dir = makeTempDir('sftp-certs');
  keys = makeKeyDir();
  ca = keys.generate('user-ca');
  rsaCa = keys.generate('user-ca-rsa', 'rsa');
  otherCa = keys.generate('other-ca');
  user = keys.generate('certified'); // in nobody's publicKeys: only a certificate can let it in
  const caFile = join(dir, 'trusted-user-cas');
  writeFileSync(caFile, `# platform user CAs\n${ca.publicLine}\n${rsaCa.publicLine}\n`);
  revokedFile = join(dir, 'revoked');
  writeFileSync(revokedFile, 'serial:666\nid:stolen-laptop\n');
  h = await startHarness({
    // Many refusals from one address in a row: keep the defender out of the way of the cases after them.
    args: [
      `--trusted-user-ca-keys=${caFile}`,
      `--revoked-user-certificates=${revokedFile}`,
      '--defender-threshold=1000',
    ],
    log: createLogger('info', {}, (line) => {
      const m = /"msg":"certificate refused".*"reason":"([^"]+)"/.exec(line);
      if (m?.[1]) reasons.push(m[1]);
    }),
  });
});
after(async () => {
  await h?.stop();
  keys?.remove();
  if (dir) removeTempDir(dir);
});

/** Signs the user's key as `name` with ssh-keygen and returns the certificate file. */
function certificate(name: string, signer: KeyPair, args: string[]): string {
  const pub = join(dir, `${name}.pub`);
  copyFileSync(`${user.file}.pub`, pub);
  execFileSync('ssh-keygen', ['-q', '-s', signer.file, ...args, pub], { stdio: 'ignore' });
  return join(dir, `${name}-cert.pub`);
}

async function login(cert: string, as = 'alice'): Promise<boolean> {
  const r = await runCommand(
    'sftp',
    [
      '-b',
      '-',
      ...sftpClientArgs({ port: h.port, user: as, keyFile: user.file, extra: ['-o', `CertificateFile=${cert}`] }),
    ],
    { input: 'pwd\n', allowFailure: true },
  );
  return r.code === 0 && /Remote working directory/.test(r.stdout);
}

const VALID = ['-I', 'alice-laptop', '-n', 'alice', '-V', '-5m:+1h', '-z', '7'];

describe('OpenSSH user certificates', () => {
  test('a certificate from a trusted ed25519 or RSA CA for this user logs in; the bare key does not', async () => {
    assert.equal(await login(certificate('valid', ca, VALID)), true);
    assert.equal(await login(certificate('valid-rsa-ca', rsaCa, VALID)), true);
    const bare = await runCommand(
      'sftp',
      ['-b', '-', ...sftpClientArgs({ port: h.port, user: 'alice', keyFile: user.file })],
      {
        input: 'pwd\n',
        allowFailure: true,
      },
    );
    assert.notEqual(bare.code, 0);
  });

  const refused: Array<[string, 'ca' | 'other', string[], string, string?]> = [
    ['expired', 'ca', ['-I', 'old', '-n', 'alice', '-V', '20000101:20000102'], 'expired'],
    ['not yet valid', 'ca', ['-I', 'future', '-n', 'alice', '-V', '+1d:+2d'], 'not-yet-valid'],
    ['wrong principal', 'ca', ['-I', 'bobs', '-n', 'bob', '-V', '-5m:+1h'], 'principal'],
    ['untrusted CA', 'other', VALID, 'untrusted-ca'],
    ['force-command', 'ca', [...VALID, '-O', 'force-command=/bin/true'], 'force-command'],
    ['source-address elsewhere', 'ca', [...VALID, '-O', 'source-address=10.0.0.0/8'], 'source-address'],
    ['revoked serial', 'ca', ['-I', 'fine', '-n', 'alice', '-V', '-5m:+1h', '-z', '666'], 'revoked'],
    ['revoked key id', 'ca', ['-I', 'stolen-laptop', '-n', 'alice', '-V', '-5m:+1h'], 'revoked'],
    ['valid for alice, used as alice2', 'ca', VALID, 'principal', 'alice2'],
  ];
  for (const [name, signer, args, reason, as] of refused) {
    test(`refused: ${name} (${reason})`, async () => {
      const cert = certificate(name.replace(/\W+/g, '-'), signer === 'other' ? otherCa : ca, args);
      reasons.length = 0;
      assert.equal(await login(cert, as), false);
      assert.ok(reasons.includes(reason), `pod logged ${reasons.join(', ') || 'nothing'}, want ${reason}`);
    });
  }

  test('a revocation added to the file applies to the next login without a restart', async () => {
    const cert = certificate('revoked-later', ca, ['-I', 'lost-phone', '-n', 'alice', '-V', '-5m:+1h', '-z', '77']);
    assert.equal(await login(cert), true);
    appendFileSync(revokedFile, 'serial:77\n');
    await waitUntil('revocation applied', async () => !(await login(cert)), { timeoutMs: 15_000 });
  });

  test('source-address that matches the client is enforced, not refused', async () => {
    assert.equal(
      await login(certificate('source-ok', ca, [...VALID, '-O', 'source-address=127.0.0.0/8,::1/128'])),
      true,
    );
  });
});
