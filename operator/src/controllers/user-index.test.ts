import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SftpUser } from '../api/types.generated.ts';
import { UserIndex } from './user-index.ts';

const u = (name: string, username: string, server = 's') =>
  ({ metadata: { namespace: 'ns', name }, spec: { serverRef: { name: server }, username } }) as unknown as SftpUser;

describe('UserIndex', () => {
  it('tracks claims through add, rename-by-update and delete', () => {
    const idx = new UserIndex();
    idx.observe('add', u('a', 'alice'));
    idx.observe('add', u('b', 'alice'));
    idx.observe('add', u('c', 'alice', 'other'));
    assert.deepEqual(
      idx
        .claimants(u('x', 'alice'))
        .map((x) => x.metadata.name)
        .sort(),
      ['a', 'b'],
    );
    idx.observe('update', u('b', 'bob'));
    assert.deepEqual(
      idx.claimants(u('x', 'alice')).map((x) => x.metadata.name),
      ['a'],
    );
    idx.observe('delete', u('a', 'alice'));
    assert.deepEqual(idx.claimants(u('x', 'alice')), []);
    assert.equal(idx.claimants(u('x', 'bob'))[0]?.metadata.name, 'b');
  });

  it('counts the users of each namespace through add, update and delete (the bound for per-namespace caps)', () => {
    const idx = new UserIndex();
    idx.observe('add', u('a', 'alice'));
    idx.observe('add', u('b', 'bob'));
    idx.observe('update', u('b', 'bobby'));
    assert.equal(idx.countIn('ns'), 2);
    assert.equal(idx.countIn('other'), 0);
    idx.observe('delete', u('a', 'alice'));
    idx.observe('delete', u('a', 'alice'));
    assert.equal(idx.countIn('ns'), 1);
  });

  it('knows the users refused for the per-namespace cap, and forgets them when they go or are admitted', () => {
    const refused = (name: string, reason: string) =>
      ({
        ...u(name, name),
        status: { conditions: [{ type: 'ServerReady', status: 'False', reason }] },
      }) as unknown as SftpUser;
    const idx = new UserIndex();
    idx.observe('add', refused('a', 'QuotaExceeded'));
    idx.observe('add', refused('b', 'QuotaExceeded'));
    idx.observe('add', refused('c', 'ServerNotFound'));
    assert.deepEqual(idx.overCapIn('ns'), ['ns/a', 'ns/b']);
    assert.deepEqual(idx.overCapIn('other'), []);
    idx.observe('update', refused('a', 'Reconciled'));
    idx.observe('delete', refused('b', 'QuotaExceeded'));
    assert.deepEqual(idx.overCapIn('ns'), []);
  });
});
