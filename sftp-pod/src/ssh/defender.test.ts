import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressAllowed, CidrError, compileCidrs, sourceKey } from './cidr.ts';
import { Defender, Score } from './defender.ts';

test('defender: bans at the threshold, bans grow, failures expire, disabled never bans', () => {
  let now = 0;
  const bans: number[] = [];
  const d = new Defender(
    { enabled: true, threshold: 3, observationMs: 60_000, banMs: 1000, maxBanMs: 3000 },
    { onBan: (_a, until) => bans.push(until - now) },
    () => now,
  );
  assert.equal(d.record('1.2.3.4', Score.failedLogin), false);
  assert.equal(d.record('1.2.3.4', Score.failedLogin), false);
  assert.equal(d.record('1.2.3.4', Score.failedLogin), true);
  assert.ok(d.isBanned('1.2.3.4'));
  assert.ok(!d.isBanned('1.2.3.5'), 'other sources are not affected');
  assert.equal(d.bannedCount(), 1);
  now += 1001;
  assert.ok(!d.isBanned('1.2.3.4'));
  for (const step of [2001, 4000, 0]) {
    for (let i = 0; i < 3; i++) d.record('1.2.3.4', Score.failedLogin);
    now += step;
  }
  assert.deepEqual(bans, [1000, 2000, 3000, 3000], 'each ban doubles, capped at maxBanMs');
  // Failures older than the observation window stop counting.
  d.record('9.9.9.9', Score.failedLogin);
  d.record('9.9.9.9', Score.failedLogin);
  now += 60_001;
  assert.equal(d.record('9.9.9.9', Score.failedLogin), false);
  const off = new Defender({ enabled: false, threshold: 1, observationMs: 1, banMs: 1, maxBanMs: 1 });
  assert.equal(off.record('1.1.1.1', 100), false);
  assert.ok(!off.isBanned('1.1.1.1'));
});

test('defender: a repeated guess scores once; distinct guesses each count (unknown user = wrong password)', () => {
  const d = new Defender({ enabled: true, threshold: 10, observationMs: 60_000, banMs: 1000, maxBanMs: 1000 });
  // A client retrying a user the pod does not know yet, 100 times with the same key: never banned.
  for (let i = 0; i < 100; i++) assert.equal(d.record('10.0.0.1', Score.failedLogin, 'same-key'), false);
  assert.ok(!d.isBanned('10.0.0.1'));
  // A guesser varying the password is banned at the threshold, whether or not the username exists.
  let banned = false;
  for (let i = 0; i < 9 && !banned; i++) banned = d.record('10.0.0.1', Score.failedLogin, `guess-${i}`);
  assert.ok(banned, 'the 10th distinct guess bans (the first was the retried key)');
});

test('defender and per-source limits group IPv6 by /64', () => {
  assert.equal(sourceKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:0db8:0001:0002:0:0:0:9%eth0'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(sourceKey('10.1.2.3'), '10.1.2.3');
  assert.equal(sourceKey('::1'), '0:0:0:0::/64');
  const d = new Defender({ enabled: true, threshold: 2, observationMs: 60_000, banMs: 1000, maxBanMs: 1000 });
  d.record('2001:db8:1:2::1', Score.failedLogin, 'a');
  assert.equal(d.record('2001:db8:1:2::99', Score.failedLogin, 'b'), true, 'another address in the /64 adds up');
  assert.ok(d.isBanned('2001:db8:1:2:abcd::7'));
  assert.ok(!d.isBanned('2001:db8:1:3::1'), 'the next /64 is another source');
});

test('CIDR lists: IPv4, IPv6, IPv4-mapped IPv6, invalid entries refused', () => {
  const list = compileCidrs(['10.0.0.0/8', '2001:db8::/32', '127.0.0.1/32']);
  assert.ok(addressAllowed(list, '10.1.2.3'));
  assert.ok(addressAllowed(list, '::ffff:10.1.2.3'));
  assert.ok(addressAllowed(list, '2001:db8::1'));
  assert.ok(addressAllowed(list, '127.0.0.1'));
  assert.ok(!addressAllowed(list, '127.0.0.2'));
  assert.ok(!addressAllowed(list, '11.0.0.1'));
  for (const bad of ['10.0.0.0', '10.0.0.0/33', 'nope/8', '::/129'])
    assert.throws(() => compileCidrs([bad]), CidrError);
});
