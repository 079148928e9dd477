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
});
