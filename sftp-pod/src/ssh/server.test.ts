// The SSH front end in-process with real ssh2 clients: authentication, admission, refusals, live-session cut-off.
// Storage is the in-memory one (these tests are about SSH, not S3; test/e2e covers the S3 path with MinIO).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as tcp } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ssh2, { type ClientChannel, type ConnectConfig } from 'ssh2';
import { parseConfig } from '../config.ts';
import { type Pod, startPod } from '../main.ts';
import { MemoryStorage } from '../sftp/testing/memory-storage.ts';
import { silentLogger } from '../telemetry/log.ts';
import { hashPassword } from '../users/password.ts';
import { type KeyDir, type KeyPair, makeHostKeyDir, makeKeyDir } from './testing/keys.ts';

const { Client, Server } = ssh2;
type Client = InstanceType<typeof Client>;

let hostKeys: KeyDir;
let userKeys: KeyDir;
let alice: KeyPair;
let alice2nd: KeyPair;
let stranger: KeyPair;
let usersFile: string;
let pod: Pod;
const storage = new MemoryStorage();
const ALL = ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'setstat'];

function writeUsers(users: unknown[]) {
  writeFileSync(usersFile, JSON.stringify({ version: 1, users }));
}

let baseUsers: unknown[];

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// The defender scores failures per source address: each test logs in from its own loopback address (127.0.0.x all
// reach a 127.0.0.1 listener on Linux) so one test's failures never ban another's.
let source = '127.0.0.1';

function connect(config: Partial<ConnectConfig>): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.on('ready', () => resolve(c));
    c.on('error', reject);
    c.on('close', () => reject(new Error('closed before ready')));
    c.connect({ host: '127.0.0.1', port: pod.sshAddress.port, readyTimeout: 20_000, localAddress: source, ...config });
  });
}

async function refused(config: Partial<ConnectConfig>): Promise<string> {
  try {
    const c = await connect(config);
    c.end();
  } catch (err) {
    return String(err);
  }
  throw new Error('login unexpectedly succeeded');
}

function subsystem(c: Client, name: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => c.subsys(name, (err, ch) => (err ? reject(err) : resolve(ch))));
}

function metric(text: string, name: string, labels: string): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{${labels}}`) || l === `${name} ` || l.startsWith(`${name} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function scrape(): Promise<string> {
  return pod.metrics.registry.metrics();
}

before(async () => {
  hostKeys = makeHostKeyDir();
  userKeys = makeKeyDir();
  alice = userKeys.generate('alice', 'ed25519');
  alice2nd = userKeys.generate('alice-rsa', 'rsa');
  stranger = userKeys.generate('stranger', 'ed25519');
  usersFile = join(userKeys.dir, 'users.json');
  const hash = await hashPassword('s3cret-pass', { ln: 10, r: 8, p: 1 });
  baseUsers = [
    { username: 'alice', publicKeys: [alice.publicLine, alice2nd.publicLine], passwordHash: hash, permissions: ALL },
    { username: 'bob', passwordHash: hash, permissions: ALL, maxSessions: 1 },
    { username: 'carol', passwordHash: hash, permissions: ALL, disabled: true },
    { username: 'dave', passwordHash: hash, permissions: ALL, expiresAt: '2020-01-01T00:00:00Z' },
    { username: 'erin', passwordHash: hash, permissions: ALL, allowedSourceCIDRs: ['10.0.0.0/8'] },
    { username: 'frank', passwordHash: hash, permissions: ALL },
  ];
  writeUsers(baseUsers);
  const config = parseConfig(
    [
      '--listen=127.0.0.1:0',
      '--metrics-listen=127.0.0.1:0',
      `--host-key-dir=${hostKeys.dir}`,
      `--users-file=${usersFile}`,
      '--s3-bucket=unused',
      '--defender-threshold=4',
      '--max-auth-tries=3',
    ],
    {},
  );
  pod = await startPod(config, { log: silentLogger, storageFor: () => storage });
});

after(async () => {
  await pod?.shutdown(0);
  hostKeys?.remove();
  userKeys?.remove();
});

describe('ssh2 pinned behaviour', () => {
  test('ssh2 1.17 hands a `subsystem` listener a plain Channel for sftp (no built-in SFTP object)', async () => {
    source = '127.0.0.11';
    const pkg = JSON.parse(readFileSync(new URL('../../../node_modules/ssh2/package.json', import.meta.url), 'utf8'));
    assert.equal(pkg.version, '1.17.0', 'ssh2 changed: re-check the raw-channel decision in ssh/server.ts');
    const keys = makeHostKeyDir();
    const got = new Promise<string>((resolve) => {
      const srv = new Server({ hostKeys: [readFileSync(join(keys.dir, 'ssh_host_ed25519_key'))] }, (client) => {
        client.on('authentication', (ctx) => ctx.accept());
        client.on('ready', () =>
          client.on('session', (accept) =>
            accept().on('subsystem', (acc) => {
              const ch = acc() as unknown as {
                constructor: { name: string };
                readdir?: unknown;
                incoming?: { window?: unknown };
                push?: unknown;
                _write?: unknown;
              };
              // channel-guard.ts relies on these internals: the incoming window and the push/_write hooks.
              const internals = [typeof ch.incoming?.window, typeof ch.push, typeof ch._write].join(',');
              resolve(`${ch.constructor.name}:${typeof ch.readdir}:${internals}`);
              srv.close();
              client.end();
            }),
          ),
        );
      });
      srv.listen(0, '127.0.0.1', () => {
        const c = new Client();
        c.on('ready', () => c.subsys('sftp', () => {}));
        c.on('error', () => {});
        c.connect({ host: '127.0.0.1', port: (srv.address() as { port: number }).port, username: 'x' });
      });
    });
    assert.equal(await got, 'Channel:undefined:number,function,function');
    keys.remove();
  });
});

describe('authentication', () => {
  test('password and each of several public keys log in; sftp subsystem works', async () => {
    source = '127.0.0.12';
    const byPassword = await connect({ username: 'alice', password: 's3cret-pass' });
    const ch = await subsystem(byPassword, 'sftp');
    assert.ok(ch);
    byPassword.end();
    for (const key of [alice, alice2nd]) {
      const c = await connect({ username: 'alice', privateKey: key.privateKey });
      c.end();
    }
  });

  test('wrong password, unknown user, wrong key are refused and counted', async () => {
    source = '127.0.0.13';
    const before = await scrape();
    assert.match(await refused({ username: 'alice', password: 'nope' }), /authentication methods failed/);
    assert.match(await refused({ username: 'nobody', password: 's3cret-pass' }), /authentication methods failed/);
    assert.match(
      await refused({ username: 'alice', privateKey: stranger.privateKey }),
      /authentication methods failed/,
    );
    const after = await scrape();
    const failures = (t: string, m: string) =>
      metric(t, 'sftpgate_auth_attempts_total', `method="${m}",result="failure"`);
    assert.ok(failures(after, 'password') >= failures(before, 'password') + 2);
  });

  test('disabled, expired and out-of-range users are refused even with the right password', async () => {
    source = '127.0.0.14';
    for (const username of ['carol', 'dave', 'erin']) {
      assert.match(
        await refused({ username, password: 's3cret-pass' }),
        /authentication methods failed|closed/,
        username,
      );
    }
    const text = await scrape();
    for (const result of ['disabled', 'expired', 'cidr']) {
      assert.equal(metric(text, 'sftpgate_auth_attempts_total', `method="password",result="${result}"`), 1, result);
    }
  });

  test('max sessions per user', async () => {
    source = '127.0.0.15';
    const first = await connect({ username: 'bob', password: 's3cret-pass' });
    assert.match(await refused({ username: 'bob', password: 's3cret-pass' }), /authentication methods failed|closed/);
    first.end();
    await waitFor('bob to be gone', () => pod.ssh.activeSessions === 0);
    // A closed session frees the slot again.
    await waitFor('a new bob login', () => true);
    const again = await connect({ username: 'bob', password: 's3cret-pass' }).catch(async () => {
      await new Promise((r) => setTimeout(r, 500));
      return connect({ username: 'bob', password: 's3cret-pass' });
    });
    again.end();
  });

  test('only the sftp subsystem: exec, shell, other subsystems and forwarding are refused', async () => {
    source = '127.0.0.16';
    const c = await connect({ username: 'alice', password: 's3cret-pass' });
    const execErr = await new Promise<unknown>((resolve) => c.exec('id', (err) => resolve(err)));
    assert.ok(execErr instanceof Error);
    const shellErr = await new Promise<unknown>((resolve) => c.shell((err) => resolve(err)));
    assert.ok(shellErr instanceof Error);
    await assert.rejects(subsystem(c, 'netconf'));
    const fwdErr = await new Promise<unknown>((resolve) =>
      c.forwardOut('127.0.0.1', 1, '127.0.0.1', 22, (err) => resolve(err)),
    );
    assert.ok(fwdErr instanceof Error);
    const listenErr = await new Promise<unknown>((resolve) => c.forwardIn('127.0.0.1', 0, (err) => resolve(err)));
    assert.ok(listenErr instanceof Error);
    // The connection is still usable for sftp afterwards.
    assert.ok(await subsystem(c, 'sftp'));
    c.end();
  });

  test('the defender bans a source after the threshold and refuses its next connections', async () => {
    source = '127.0.0.17';
    // A separate source address (127.0.0.7) so other tests are not affected by the ban.
    const from = { localAddress: '127.0.0.7' };
    const bansBefore = metric(await scrape(), 'sftpgate_defender_bans_total', '');
    // Unknown users and wrong passwords score 1 each, a repeated guess once: the fourth distinct guess bans.
    for (let i = 0; i < 4; i++) await refused({ ...from, username: i % 2 ? 'ghost' : 'alice', password: `x${i}` });
    const text = await scrape();
    assert.equal(metric(text, 'sftpgate_defender_bans_total', ''), bansBefore + 1);
    const banned = await refused({ ...from, username: 'alice', password: 's3cret-pass' });
    assert.doesNotMatch(banned, /authentication methods failed/, 'a banned source gets no auth exchange');
    assert.ok(metric(await scrape(), 'sftpgate_connections_total', 'result="banned"') >= 1);
    // Other sources still log in.
    (await connect({ username: 'alice', password: 's3cret-pass' })).end();
  });

  test('removing a user closes their live session within seconds', async () => {
    source = '127.0.0.18';
    const c = await connect({ username: 'frank', password: 's3cret-pass' });
    const ch = await subsystem(c, 'sftp');
    const closed = new Promise<void>((resolve) => c.on('close', () => resolve()));
    const started = Date.now();
    writeUsers(baseUsers.filter((u) => (u as { username: string }).username !== 'frank'));
    await closed;
    assert.ok(Date.now() - started < 10_000);
    assert.ok(ch);
    writeUsers(baseUsers);
    await waitFor('frank back', () => pod.users.get('frank') !== undefined);
  });
});

describe('idle timeout', () => {
  test('a connection without SFTP traffic is closed after --idle-timeout', async () => {
    const keys = makeHostKeyDir();
    const idlePod = await startPod(
      parseConfig(
        [
          '--listen=127.0.0.1:0',
          '--metrics-listen=127.0.0.1:0',
          `--host-key-dir=${keys.dir}`,
          `--users-file=${usersFile}`,
          '--s3-bucket=unused',
          '--idle-timeout=1s',
        ],
        {},
      ),
      { log: silentLogger, storageFor: () => storage },
    );
    try {
      const c = await new Promise<Client>((resolve, reject) => {
        const client = new Client();
        client.on('ready', () => resolve(client));
        client.on('error', reject);
        client.connect({
          host: '127.0.0.1',
          port: idlePod.sshAddress.port,
          username: 'alice',
          password: 's3cret-pass',
        });
      });
      await subsystem(c, 'sftp');
      const started = Date.now();
      await new Promise<void>((resolve) => c.on('close', () => resolve()));
      const took = Date.now() - started;
      assert.ok(took >= 900, `closed after ${took} ms, before the timeout`);
    } finally {
      await idlePod.shutdown(0);
      keys.remove();
    }
  });
});

describe('admission', () => {
  test('server-wide CIDRs, unauthenticated caps per source and the login grace time apply at TCP accept', async () => {
    const keys = makeHostKeyDir();
    const gated = await startPod(
      parseConfig(
        [
          '--listen=127.0.0.1:0',
          '--metrics-listen=127.0.0.1:0',
          `--host-key-dir=${keys.dir}`,
          `--users-file=${usersFile}`,
          '--s3-bucket=unused',
          '--allowed-cidrs=127.0.0.0/24',
          '--max-unauthenticated-per-source=1',
          '--login-grace-time=1s',
        ],
        {},
      ),
      { log: silentLogger, storageFor: () => storage },
    );
    /** Resolves with what the server sent before closing (or '' after 5 s of silence). */
    const probe = (localAddress: string) =>
      new Promise<{ banner: string; closedMs: number }>((resolve) => {
        const started = Date.now();
        let banner = '';
        const s = tcp({ host: '127.0.0.1', port: gated.sshAddress.port, localAddress });
        s.on('data', (d) => {
          banner += d.toString('latin1');
        });
        s.on('error', () => {});
        s.on('close', () => resolve({ banner, closedMs: Date.now() - started }));
        setTimeout(() => s.destroy(), 5000);
      });
    try {
      const outside = await probe('127.0.1.5');
      assert.equal(outside.banner, '', 'no SSH banner for a source outside --allowed-cidrs');
      // Two silent connections from one source: the second is refused, the first closed by the grace time.
      const first = probe('127.0.0.50');
      await new Promise((r) => setTimeout(r, 200));
      const second = await probe('127.0.0.50');
      assert.equal(second.banner, '');
      const firstResult = await first;
      assert.match(firstResult.banner, /^SSH-2\.0-sftpgate/);
      assert.ok(firstResult.closedMs < 4500, `grace time: closed after ${firstResult.closedMs} ms`);
      const text = await gated.metrics.registry.metrics();
      assert.match(text, /sftpgate_connections_total\{result="refused_cidr"\} 1/);
      assert.match(text, /sftpgate_connections_total\{result="refused_limit"\} 1/);
    } finally {
      await gated.shutdown(0);
      keys.remove();
    }
  });
});
