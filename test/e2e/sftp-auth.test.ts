// Authentication with the real clients: OpenSSH (keys) and curl/libssh2 (password, on the default policy: libssh2
// 1.10 has no GCM, chacha20 or ETM MACs and negotiates aes-ctr with hmac-sha2-256). Wrong key, unknown, disabled, CIDR, max sessions, defender ban,
// and a live OpenSSH session cut off when its user is removed.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { KeyPair } from '../../sftp-pod/src/ssh/testing/keys.ts';
import type { UserRecord } from '../../sftp-pod/src/users/types.ts';
import { runCommand } from '../infra/index.ts';
import { sftpClientArgs } from '../infra/sftp-client.ts';
import { ALL_PERMISSIONS, type Harness, PASSWORD, PREFIX, sha256, startHarness } from './sftp-harness.ts';

let h: Harness;

const extraUsers = (keys: Readonly<Record<string, KeyPair>>, hash: string): UserRecord[] => [
  { username: 'disabled', publicKeys: [keys['alice']?.publicLine ?? ''], disabled: true, permissions: ['list'] },
  {
    username: 'expired',
    publicKeys: [keys['alice']?.publicLine ?? ''],
    expiresAt: '2001-01-01T00:00:00Z',
    permissions: ['list'],
  },
  {
    username: 'faraway',
    publicKeys: [keys['alice']?.publicLine ?? ''],
    allowedSourceCIDRs: ['10.0.0.0/8'],
    permissions: ['list'],
  },
  { username: 'single', publicKeys: [keys['alice']?.publicLine ?? ''], maxSessions: 1, permissions: ['list'] },
  {
    username: 'leaver',
    publicKeys: [keys['alice']?.publicLine ?? ''],
    passwordHash: hash,
    permissions: [...ALL_PERMISSIONS],
  },
];

before(async () => {
  h = await startHarness({ args: ['--defender-threshold=3'], users: extraUsers });
});
after(async () => {
  await h?.stop();
});

/** OpenSSH sftp as `user` with alice's key (or `key`), from a given loopback source address. */
function sftpAs(user: string, opts: { key?: string; from?: string; batch?: string } = {}) {
  return runCommand(
    'sftp',
    [
      '-b',
      '-',
      ...sftpClientArgs({
        port: h.port,
        user,
        keyFile: opts.key ?? h.keys['alice']?.file ?? '',
        extra: ['-o', `BindAddress=${opts.from ?? '127.0.0.1'}`],
        logLevel: 'INFO',
      }),
    ],
    { input: opts.batch ?? 'pwd\n', allowFailure: true, timeoutMs: 60_000 },
  );
}

/** An OpenSSH sftp session kept open (stdin stays open) until killed. */
function holdOpen(user: string): ChildProcess {
  const args = sftpClientArgs({ port: h.port, user, keyFile: h.keys['alice']?.file ?? '', logLevel: 'INFO' });
  const child = spawn('sftp', args, {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  return child;
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${h.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}}` : `${name} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('curl (libssh2) with the default policy', () => {
  test('password upload and download, checksums match', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 5);
    const up = join(h.dir, 'curl-up');
    const down = join(h.dir, 'curl-down');
    writeFileSync(up, data);
    const base = ['-k', '-sS', '--user', `alice:${PASSWORD}`];
    const put = await runCommand('curl', [...base, '-T', up, `sftp://127.0.0.1:${h.port}/curl.bin`], {
      allowFailure: true,
      timeoutMs: 60_000,
    });
    assert.equal(put.code, 0, put.stderr);
    const get = await runCommand('curl', [...base, '-o', down, `sftp://127.0.0.1:${h.port}/curl.bin`], {
      allowFailure: true,
      timeoutMs: 60_000,
    });
    assert.equal(get.code, 0, get.stderr);
    assert.equal(await h.sha256Of(`${PREFIX}/alice/curl.bin`), sha256(data));
    assert.equal(sha256(readFileSync(down)), sha256(data));
  });

  test('a wrong password is refused', async () => {
    const r = await runCommand('curl', ['-k', '-sS', '--user', 'alice:wrong', `sftp://127.0.0.1:${h.port}/`], {
      allowFailure: true,
      timeoutMs: 60_000,
      input: '',
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Login denied|Authentication failure|auth/i);
  });
});

describe('OpenSSH refusals', () => {
  test('wrong key, unknown user, disabled, expired, outside the allowed CIDRs', async () => {
    const cases: Array<[string, string, { key?: string }]> = [
      ['wrong key', 'alice', { key: h.keys['stranger']?.file ?? '' }],
      ['unknown user', 'nobody', {}],
      ['disabled', 'disabled', {}],
      ['expired', 'expired', {}],
      ['cidr', 'faraway', {}],
    ];
    for (const [i, [name, user, opts]] of cases.entries()) {
      // Each case from its own source address: the defender (threshold 3) must not interfere here.
      const r = await sftpAs(user, { ...opts, from: `127.0.1.${i + 1}` });
      assert.notEqual(r.code, 0, name);
      assert.match(r.stderr, /Permission denied|Connection closed|closed by remote host/, name);
    }
    for (const result of ['disabled', 'expired', 'cidr']) {
      assert.equal(await metric('sftpgate_auth_attempts_total', `method="publickey",result="${result}"`), 1, result);
    }
    assert.equal((await sftpAs('alice', { from: '127.0.1.99' })).code, 0, 'the right key still works');
  });

  test('max sessions: a second concurrent login of a maxSessions=1 user is refused', async () => {
    const first = holdOpen('single');
    try {
      await waitFor('the first session', async () => (await metric('sftpgate_sessions_active', '')) >= 1);
      const second = await sftpAs('single', { from: '127.0.2.1' });
      assert.notEqual(second.code, 0);
      assert.equal(await metric('sftpgate_auth_attempts_total', 'method="publickey",result="max_sessions"'), 1);
    } finally {
      first.kill();
    }
  });

  test('the defender bans a source after the threshold, even for valid credentials', async () => {
    const from = '127.0.3.1';
    const bans = await metric('sftpgate_defender_bans_total', '');
    // Distinct guesses (a repeated identical one scores once): the third reaches the threshold of 3.
    for (let i = 0; i < 3; i++) await sftpAs(`nobody${i}`, { from });
    await waitFor('a ban', async () => (await metric('sftpgate_defender_bans_total', '')) === bans + 1);
    const r = await sftpAs('alice', { from });
    assert.notEqual(r.code, 0);
    assert.ok((await metric('sftpgate_connections_total', 'result="banned"')) >= 1);
    assert.equal((await sftpAs('alice', { from: '127.0.3.2' })).code, 0, 'other sources are not affected');
  });
});

describe('live sessions', () => {
  test('removing a user closes their open OpenSSH session within 10 s', async () => {
    const child = holdOpen('leaver');
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor('the session', async () => (await metric('sftpgate_sessions_active', '')) >= 1);
    const started = Date.now();
    h.writeUsers(h.defaultUsers().filter((u) => u.username !== 'leaver'));
    await waitFor('the session to be closed', async () => (await metric('sftpgate_sessions_active', '')) === 0, 10_000);
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    // OpenSSH's sftp notices the closed connection at its next command and exits with an error.
    child.stdin?.write('ls\n');
    assert.notEqual(await exited, 0);
  });
});
