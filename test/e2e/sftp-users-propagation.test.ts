// Users reach the pod within 2 s after any idle time. The API server runs with a 5 s --min-request-timeout, so every
// watch the pod's users source opens is ended by the server after 5-10 s; after an idle period longer than that, a
// new, a changed and a deleted user must each be in the pod's store within 2 s of the write. The pod's RBAC is the
// Role the operator grants (get/list/watch on the shard Secrets by name), nothing more.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Resources } from '../../common/src/kube/kube-client.ts';
import { UsersStore } from '../../sftp-pod/src/users/store.ts';
import { type ControlPlane, startControlPlane } from '../infra/index.ts';
import {
  startUsersSources,
  type UsersNamespace,
  usersNamespace,
  whenApplied,
  writeUsers,
} from './users-propagation.ts';

const WATCH_TIMEOUT_S = 5;
// Longer than the longest watch the server grants (2 x --min-request-timeout), so each idle period spans a renewal.
const IDLE_MS = (2 * WATCH_TIMEOUT_S + 2) * 1000;
const TARGET_MS = 2000;
const SHARD = 'srv-users-0';

let cp: ControlPlane;
let ns: UsersNamespace;
const lifetime = new AbortController();
const store = new UsersStore();
let watches = 0;

before(async () => {
  cp = await startControlPlane({ extraApiServerArgs: [`--min-request-timeout=${WATCH_TIMEOUT_S}`] });
  ns = await usersNamespace(cp, 'tenant', [SHARD]);
  await writeUsers(ns, SHARD, [{ username: 'alice' }]);
  await startUsersSources(ns, SHARD, [store], lifetime.signal, () => watches++);
});

after(async () => {
  lifetime.abort();
  await cp?.stop();
});

const idle = async (): Promise<void> => {
  const before = watches;
  await new Promise((r) => setTimeout(r, IDLE_MS));
  assert.ok(watches > before, `the server ended the watch during ${IDLE_MS} ms idle (watches ${before} -> ${watches})`);
};

describe('users reach the pod within 2 s after idle periods longer than the watch timeout', () => {
  const cases: [string, { username: string; disabled?: boolean }[], (s: UsersStore) => boolean][] = [
    ['a new user', [{ username: 'alice' }, { username: 'bob' }], (s) => s.get('bob') !== undefined],
    [
      'a changed user',
      [{ username: 'alice' }, { username: 'bob', disabled: true }],
      (s) => s.get('bob')?.disabled === true,
    ],
    ['a deleted user', [{ username: 'alice' }], (s) => s.get('bob') === undefined],
  ];
  for (const [name, users, holds] of cases) {
    test(name, async (t) => {
      await idle();
      const applied = whenApplied([store], holds);
      await writeUsers(ns, SHARD, users);
      const [ms = Number.POSITIVE_INFINITY] = await applied();
      t.diagnostic(`applied ${Math.round(ms)} ms after the write (${watches} watches opened so far)`);
      assert.ok(ms < TARGET_MS, `${name} applied after ${Math.round(ms)} ms (target < ${TARGET_MS} ms)`);
    });
  }

  test('a deleted shard Secret empties the table; re-creating it restores the users', async () => {
    await idle();
    const emptied = whenApplied([store], (s) => s.size === 0);
    await ns.admin.delete(Resources.Secret, ns.namespace, SHARD);
    assert.ok(((await emptied())[0] ?? Number.POSITIVE_INFINITY) < TARGET_MS);
    const restored = whenApplied([store], (s) => s.get('alice') !== undefined);
    await writeUsers(ns, SHARD, [{ username: 'alice' }]);
    assert.ok(((await restored())[0] ?? Number.POSITIVE_INFINITY) < TARGET_MS);
  });
});
