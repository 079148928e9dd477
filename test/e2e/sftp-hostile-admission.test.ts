// Hostile clients before authentication, against the pod + MinIO: the defender scores an unknown user and a wrong
// password alike (the ban point reveals nothing) and never bans a client retrying a user that is still on its way;
// PROXY protocol v2 from a trusted balancer gives the defender the real client; MaxStartups drops floods early; a
// client that offers only compression is not served, even under the `compatible` policy.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { type Socket, connect as tcp } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildProxyHeader } from '../../sftp-pod/src/ssh/proxy-protocol.ts';
import { ALL_PERMISSIONS, type Harness, PASSWORD, PREFIX, sha256, startHarness } from './sftp-harness.ts';
import { connect, loginFails, metricValue, sleep, withKey } from './sftp-hostile-client.ts';

let h: Harness;
const BALANCER = '127.0.0.2';

before(async () => {
  h = await startHarness({
    args: [
      '--defender-threshold=4',
      `--proxy-protocol-cidrs=${BALANCER}/32`,
      '--max-startups=4:50:8',
      '--max-unauthenticated-per-source=50',
      '--algorithms=compatible',
    ],
  });
});
after(async () => {
  await h?.stop();
});

/** Whether the server greets a fresh TCP connection from `localAddress` (false: refused at admission). */
function greeted(localAddress: string, prefix?: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcp({ host: '127.0.0.1', port: h.port, localAddress });
    let got = '';
    s.on('connect', () => {
      if (prefix) s.write(prefix);
    });
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.startsWith('SSH-2.0-')) {
        s.destroy();
        resolve(true);
      }
    });
    s.on('error', () => {});
    s.on('close', () => resolve(got.startsWith('SSH-2.0-')));
    setTimeout(() => s.destroy(), 5000);
  });
}

/** A TCP connection from the balancer that has sent its PROXY header naming `client`. */
function viaBalancer(client: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcp({ host: '127.0.0.1', port: h.port, localAddress: BALANCER });
    s.on('connect', () => {
      s.write(buildProxyHeader({ address: client, port: 40000 }));
      resolve(s);
    });
    s.on('error', reject);
  });
}

async function otherTenantUpload(name: string): Promise<void> {
  const data = randomBytes(1024 * 1024);
  writeFileSync(join(h.dir, name), data);
  const r = await h.sftp('alice2', `put ${join(h.dir, name)} /${name}\n`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await h.sha256Of(`${PREFIX}/alice2/${name}`), sha256(data));
}

describe('defender', () => {
  test('an unknown user and a wrong password reach the ban at the same attempt', async () => {
    for (const [source, username] of [
      ['127.0.0.31', 'alice'],
      ['127.0.0.32', 'nobody-here'],
    ] as const) {
      for (let i = 0; i < 3; i++) {
        assert.match(
          await loginFails(h.port, { localAddress: source, username, password: `guess-${i}` }),
          /authentication methods failed/,
          `${username} attempt ${i + 1} still gets an auth exchange`,
        );
      }
      await loginFails(h.port, { localAddress: source, username, password: 'guess-3' });
      assert.equal(await greeted(source), false, `${username}: banned after the 4th distinct guess`);
    }
    await otherTenantUpload('after-bans.bin');
  });

  test('a client retrying a just-created user for 2 s is never banned and gets in', async () => {
    const source = '127.0.0.33';
    const login = { localAddress: source, ...withKey(h.keys, 'newbie', 'stranger') };
    const started = Date.now();
    let added = false;
    let ok = false;
    while (Date.now() - started < 8000 && !ok) {
      if (!added && Date.now() - started > 2000) {
        h.writeUsers([
          ...h.defaultUsers(),
          { username: 'newbie', publicKeys: [h.keys['stranger']?.publicLine ?? ''], permissions: [...ALL_PERMISSIONS] },
        ]);
        added = true;
      }
      try {
        (await connect(h.port, login)).end();
        ok = true;
      } catch (err) {
        assert.match(String(err), /authentication methods failed/, 'every retry got an auth exchange (no ban)');
        await sleep(100);
      }
    }
    assert.ok(ok, 'the new user logged in');
    assert.equal(await metricValue(h.metricsUrl, 'sftpgate_defender_bans_total'), 2, 'only the two guessers');
  });
});

describe('PROXY protocol v2', () => {
  test('the defender and the logs see the client named by the trusted balancer', async () => {
    // A client behind the balancer guesses until banned; another client behind the same balancer still logs in.
    for (let i = 0; i < 4; i++) {
      const sock = await viaBalancer('203.0.113.9');
      await loginFails(h.port, { sock, username: 'alice', password: `wrong-${i}` });
    }
    const banned = await viaBalancer('203.0.113.9');
    await assert.rejects(connect(h.port, { sock: banned, username: 'alice', password: PASSWORD }));
    const other = await viaBalancer('203.0.113.10');
    (await connect(h.port, { sock: other, username: 'alice', password: PASSWORD })).end();
  });

  test('IPv6 clients are one source per /64: guesses from different addresses of one /64 add up', async () => {
    // Through the balancer the pod sees any IPv6 source the header names (loopback offers only ::1).
    const bans = await metricValue(h.metricsUrl, 'sftpgate_defender_bans_total');
    for (let i = 0; i < 4; i++) {
      const sock = await viaBalancer(`2001:db8:1:2::${i + 1}`);
      await loginFails(h.port, { sock, username: 'alice', password: `v6-wrong-${i}` });
    }
    const sameSlash64 = await viaBalancer('2001:db8:1:2:ffff::9');
    await assert.rejects(connect(h.port, { sock: sameSlash64, username: 'alice', password: PASSWORD }));
    assert.equal(await metricValue(h.metricsUrl, 'sftpgate_defender_bans_total'), bans + 1, 'one ban for the /64');
    const nextSlash64 = await viaBalancer('2001:db8:1:3::1');
    (await connect(h.port, { sock: nextSlash64, username: 'alice', password: PASSWORD })).end();
  });

  test('a trusted peer without a header, or with a malformed one, is refused; others need none', async () => {
    const before = await metricValue(h.metricsUrl, 'sftpgate_connections_total', 'result="refused_proxy"');
    // A balancer's TCP health check (connect, close, no bytes) is not a malformed header.
    await new Promise<void>((resolve) => {
      const probe = tcp({ host: '127.0.0.1', port: h.port, localAddress: BALANCER }, () => probe.end());
      probe.on('close', () => resolve());
      probe.on('error', () => resolve());
    });
    await sleep(200);
    assert.equal(await greeted(BALANCER, Buffer.from('SSH-2.0-OpenSSH_9.6\r\n')), false);
    const bad = buildProxyHeader({ address: '203.0.113.11', port: 1 });
    bad[12] = 0x11;
    assert.equal(await greeted(BALANCER, bad), false);
    assert.equal(await metricValue(h.metricsUrl, 'sftpgate_connections_total', 'result="refused_proxy"'), before + 2);
    assert.equal(await greeted('127.0.0.40', buildProxyHeader({ address: '203.0.113.12', port: 1 })), true);
  });
});

describe('MaxStartups and compression', () => {
  test('a flood of silent connections is dropped early; the pod serves again once it is gone', async () => {
    const held: Socket[] = [];
    for (let i = 0; i < 30; i++) {
      const s = tcp({ host: '127.0.0.1', port: h.port, localAddress: `127.0.1.${i + 1}` });
      s.on('error', () => {});
      held.push(s);
    }
    await sleep(500);
    assert.ok((await metricValue(h.metricsUrl, 'sftpgate_connections_total', 'result="refused_startups"')) >= 1);
    for (const s of held) s.destroy();
    await sleep(300);
    await otherTenantUpload('after-flood.bin');
  });

  test('a client offering only zlib compression is not served', async () => {
    const err = await loginFails(h.port, {
      username: 'alice',
      password: PASSWORD,
      algorithms: { compress: ['zlib@openssh.com', 'zlib'] },
    });
    assert.doesNotMatch(err, /succeeded/);
    (await connect(h.port, { username: 'alice', password: PASSWORD })).end();
  });
});
