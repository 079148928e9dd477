import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ssh2 from 'ssh2';
import schema from '../users/users.schema.json' with { type: 'json' };
import { KEY_TYPES, PublicKeyError, parsePublicKey } from './public-key.ts';
import { sshString } from './wire.ts';

const pattern = new RegExp(schema.$defs.user.properties.publicKeys.items.pattern);
const ed = ssh2.utils.generateKeyPairSync('ed25519').public;

describe('parsePublicKey', () => {
  it('KEY_TYPES are exactly the types the users schema lets through', () => {
    const blob = Buffer.alloc(8).toString('base64');
    for (const type of KEY_TYPES) assert.match(`${type} ${blob}`, pattern, type);
    for (const type of ['ssh-dss', 'ssh-ed448', 'ssh-rsa-cert-v01@openssh.com']) {
      assert.doesNotMatch(`${type} ${blob}`, pattern, type);
    }
  });

  it('accepts what ssh2 (the pod) accepts and returns the blob the pod compares', () => {
    const parsed = parsePublicKey(`${ed} me@host`);
    const pod = ssh2.utils.parseKey(ed);
    assert.ok(!(pod instanceof Error) && !Array.isArray(pod));
    assert.ok(parsed.blob.equals(pod.getPublicSSH()));
    assert.equal(parsed.comment, 'me@host');
    assert.match(parsed.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  // A security key the pod's ssh2 cannot verify: admitting it would hand the user a key that never logs in.
  const skEd25519 =
    'sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIEX/mZ8fPdqM9zKIVbG6V71iObKkWLCkmzVX3wt1L0a7AAAABHNzaDo=';
  const refused: [string, string, RegExp][] = [
    ['an sk key ssh2 cannot use', skEd25519, /not supported by the sftp pod's SSH library/],
    [
      'a blob with trailing bytes ssh2 would ignore',
      `ssh-ed25519 ${Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(32)), Buffer.from([1])]).toString('base64')}`,
      /trailing or non-canonical/,
    ],
    [
      'an ecdsa key whose curve does not match its type',
      `ecdsa-sha2-nistp256 ${Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp384'), sshString(Buffer.alloc(65, 4))]).toString('base64')}`,
      /malformed ecdsa-sha2-nistp256/,
    ],
  ];
  for (const [name, line, message] of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => parsePublicKey(line),
        (err: unknown) => err instanceof PublicKeyError && message.test(err.message),
      );
    });
  }
});
