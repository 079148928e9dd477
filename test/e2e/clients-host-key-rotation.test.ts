// Host key rotation across key types, as docs/sftp-pod.md's runbook does it: ssh2 presents one key per algorithm and
// has no server side for `hostkeys-00@openssh.com`, so overlap means "old type + new type" for a while. An OpenSSH
// client that knows only the old key keeps connecting through the overlap (it prefers the algorithms it has keys
// for); once the old key is retired it needs the new key line (the runbook's distribution step), never a blind
// "accept the changed key".
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../sftp-pod/src/config.ts';
import { type Pod, startPod } from '../../sftp-pod/src/main.ts';
import { type KeyDir, type KeyPair, makeKeyDir } from '../../sftp-pod/src/ssh/testing/keys.ts';
import { silentLogger } from '../../sftp-pod/src/telemetry/log.ts';
import { type Minio, makeTempDir, removeTempDir, runCommand, startMinio } from '../infra/index.ts';

let minio: Minio;
let dir: string;
let keys: KeyDir;
let user: KeyPair;
let oldKey: KeyPair;
let newKey: KeyPair;
let pod: Pod | undefined;

before(async () => {
  dir = makeTempDir('sftp-hostkeys');
  minio = await startMinio();
  await minio.createBucket('rotation');
  keys = makeKeyDir();
  user = keys.generate('alice');
  oldKey = keys.generate('old_rsa', 'rsa');
  newKey = keys.generate('new_ed25519');
  writeFileSync(
    join(dir, 'users.json'),
    JSON.stringify({
      version: 1,
      users: [{ username: 'alice', publicKeys: [user.publicLine], permissions: ['list'] }],
    }),
  );
});
after(async () => {
  await pod?.shutdown(0);
  await minio?.stop();
  keys?.remove();
  if (dir) removeTempDir(dir);
});

/** (Re)starts the pod with exactly these host keys, as a rollout after the host key Secret changed does. */
async function podWith(hostKeys: { rsa?: KeyPair; ed25519?: KeyPair }): Promise<number> {
  await pod?.shutdown(0);
  const keyDir = join(dir, 'host-keys');
  rmSync(keyDir, { recursive: true, force: true });
  mkdirSync(keyDir);
  if (hostKeys.rsa) copyFileSync(hostKeys.rsa.file, join(keyDir, 'ssh_host_rsa_key'));
  if (hostKeys.ed25519) copyFileSync(hostKeys.ed25519.file, join(keyDir, 'ssh_host_ed25519_key'));
  const env = { AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey };
  Object.assign(process.env, env);
  const config = parseConfig(
    [
      '--listen=127.0.0.1:0',
      '--metrics-listen=127.0.0.1:0',
      `--host-key-dir=${keyDir}`,
      `--users-file=${join(dir, 'users.json')}`,
      `--s3-endpoint=${minio.endpoint}`,
      '--s3-bucket=rotation',
      '--s3-force-path-style=true',
    ],
    env,
  );
  pod = await startPod(config, { log: silentLogger });
  return pod.sshAddress.port;
}

/** OpenSSH sftp with its own known_hosts; the alias keeps one entry across the pod's changing test ports. */
async function connect(port: number, knownHosts: string, strict: 'yes' | 'accept-new'): Promise<boolean> {
  const r = await runCommand(
    'sftp',
    [
      '-b',
      '-',
      '-P',
      String(port),
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      `StrictHostKeyChecking=${strict}`,
      '-o',
      'HostKeyAlias=sftp.example.test',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-i',
      user.file,
      'alice@127.0.0.1',
    ],
    { input: 'pwd\n', allowFailure: true },
  );
  return r.code === 0;
}

const knownKeyTypes = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[1]);

describe('host key rotation across key types (RSA → ed25519)', () => {
  const veteran = () => join(dir, 'known_hosts_veteran');
  const newcomer = () => join(dir, 'known_hosts_newcomer');

  test('before: a client learns the old RSA key', async () => {
    const port = await podWith({ rsa: oldKey });
    assert.equal(await connect(port, veteran(), 'accept-new'), true);
    assert.deepEqual(knownKeyTypes(veteran()), ['ssh-rsa']);
  });

  test('overlap (old + new): the client with only the old key keeps connecting, strictly; new clients get ed25519', async () => {
    const port = await podWith({ rsa: oldKey, ed25519: newKey });
    assert.equal(await connect(port, veteran(), 'yes'), true);
    assert.equal(await connect(port, newcomer(), 'accept-new'), true);
    assert.deepEqual(knownKeyTypes(newcomer()), ['ssh-ed25519']);
  });

  test('after retiring the old key: refused until the new key line is distributed, then fine', async () => {
    const port = await podWith({ ed25519: newKey });
    assert.equal(await connect(port, veteran(), 'yes'), false, 'a client must not silently accept an unknown key');
    assert.equal(await connect(port, newcomer(), 'yes'), true);
    // The runbook's distribution step: the new public key, published during the overlap, added to known_hosts.
    appendFileSync(veteran(), `sftp.example.test ${newKey.publicLine.split(' ').slice(0, 2).join(' ')}\n`);
    assert.equal(await connect(port, veteran(), 'yes'), true);
  });
});
