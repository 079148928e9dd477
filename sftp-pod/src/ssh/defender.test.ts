import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressAllowed, CidrError, compileCidrs } from './cidr.ts';
import { Defender, Score } from './defender.ts';

test('defender: bans at the threshold, bans grow, failures expire, disabled never bans', () => {
  let now = 0;
  const bans: number[] = [];
  const d = new Defender(
    { enabled: true, threshold: 4, observationMs: 60_000, banMs: 1000, maxBanMs: 3000 },
    { onBan: (_a, until) => bans.push(until - now) },
    () => now,
  );
  assert.equal(d.record('1.2.3.4', Score.wrongCredentials), false);
  assert.equal(d.record('1.2.3.4', Score.wrongCredentials), false);
  assert.equal(d.record('1.2.3.4', Score.unknownUser), true);
  assert.ok(d.isBanned('1.2.3.4'));
  assert.ok(!d.isBanned('1.2.3.5'), 'other sources are not affected');
  assert.equal(d.bannedCount(), 1);
  now += 1001;
  assert.ok(!d.isBanned('1.2.3.4'));
  d.record('1.2.3.4', Score.unknownUser);
  d.record('1.2.3.4', Score.unknownUser);
  now += 2001;
  d.record('1.2.3.4', Score.unknownUser);
  d.record('1.2.3.4', Score.unknownUser);
  now += 4000;
  d.record('1.2.3.4', Score.unknownUser);
  d.record('1.2.3.4', Score.unknownUser);
  assert.deepEqual(bans, [1000, 2000, 3000, 3000], 'each ban doubles, capped at maxBanMs');
  // Failures older than the observation window stop counting.
  d.record('9.9.9.9', Score.limitExceeded);
  now += 60_001;
  assert.equal(d.record('9.9.9.9', Score.limitExceeded), false);
  const off = new Defender({ enabled: false, threshold: 1, observationMs: 1, banMs: 1, maxBanMs: 1 });
  assert.equal(off.record('1.1.1.1', 100), false);
  assert.ok(!off.isBanned('1.1.1.1'));
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
