import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Permission } from '../../../common/src/users/permission.ts';
import { createPathJail, type JailUser } from '../storage/jail.ts';
import { subtreeRefusal } from './subtree.ts';

const ALL: Permission[] = ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'setstat'];
const RO: Permission[] = ['list', 'download'];
const user: JailUser = {
  home: 'alice',
  permissions: ALL,
  directoryPermissions: [
    { path: '/ro', permissions: RO },
    { path: '/work/locked', permissions: RO },
    { path: '/drop', permissions: ['list', 'upload', 'rename'] },
    { path: '/drop/deeper', permissions: ['list', 'upload', 'rename'] },
    { path: '/archive', permissions: ['list', 'download', 'rename'] },
    { path: '/archive/in', permissions: ['list', 'download', 'rename'] },
    { path: '/target/sealed', permissions: RO },
  ],
  logicalDirectories: [{ path: '/mnt/shared', prefix: 'shared' }],
};
const jail = createPathJail('srv', user);

describe('subtree rule: directory rename', () => {
  const cases: { name: string; from: string; to: string; refused?: RegExp }[] = [
    { name: 'plain directory, no rule inside', from: '/inbox', to: '/done' },
    { name: 'the reported attack: read-only /ro renamed away', from: '/ro', to: '/x', refused: /rename on \/ro/ },
    { name: 'a read-only rule deep inside', from: '/work', to: '/w2', refused: /rename on \/work\/locked/ },
    {
      name: 'a restricted directory moved where the user holds more rights',
      from: '/drop',
      to: '/drop2',
      refused: /grant/,
    },
    {
      name: 'same rights on both sides (rules at matching places) is allowed',
      from: '/archive/in',
      to: '/archive/in2',
    },
    {
      name: 'a destination rule inside the target that the source lacks rights for',
      from: '/inbox',
      to: '/target',
      refused: /rename on \/target\/sealed/,
    },
    { name: 'a mount inside the source', from: '/mnt', to: '/m2', refused: /mount point \/mnt\/shared/ },
    { name: 'a mount inside the target', from: '/inbox', to: '/mnt', refused: /mount point \/mnt\/shared/ },
    { name: 'into a read-only place', from: '/inbox', to: '/ro/inbox', refused: /rename on \/ro\/inbox/ },
    {
      name: 'whole-segment rules: /rox is not /ro',
      from: '/rox',
      to: '/roy',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const refusal = subtreeRefusal(jail, 'rename', jail.resolve(c.from), jail.resolve(c.to), true);
      if (c.refused) assert.match(refusal ?? 'allowed', c.refused);
      else assert.equal(refusal, undefined);
    });
  }
});

describe('subtree rule: file rename (no rights comparison)', () => {
  const cases: { name: string; from: string; to: string; refused?: RegExp }[] = [
    { name: 'out of a place with rename to one with more rights', from: '/drop/f', to: '/f' },
    { name: 'out of a read-only place', from: '/ro/f', to: '/f', refused: /rename on \/ro\/f/ },
    { name: 'into a read-only place', from: '/f', to: '/ro/f', refused: /rename on \/ro\/f/ },
    { name: 'a file named like a read-only rule', from: '/ro', to: '/x', refused: /rename on \/ro/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const refusal = subtreeRefusal(jail, 'rename', jail.resolve(c.from), jail.resolve(c.to));
      if (c.refused) assert.match(refusal ?? 'allowed', c.refused);
      else assert.equal(refusal, undefined);
    });
  }
});

describe('subtree rule: rmdir (no destination)', () => {
  const cases: { name: string; dir: string; refused?: RegExp }[] = [
    { name: 'plain directory', dir: '/inbox' },
    { name: 'read-only directory itself', dir: '/ro', refused: /delete on \/ro/ },
    { name: 'read-only rule inside', dir: '/work', refused: /delete on \/work\/locked/ },
    { name: 'mount inside', dir: '/mnt', refused: /mount point/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const refusal = subtreeRefusal(jail, 'delete', jail.resolve(c.dir));
      if (c.refused) assert.match(refusal ?? 'allowed', c.refused);
      else assert.equal(refusal, undefined);
    });
  }
});

describe('jail boundariesBelow', () => {
  test('rules and mounts strictly below, whole segments only', () => {
    assert.deepEqual(jail.boundariesBelow('/work'), { rules: ['/work/locked'], mounts: [] });
    assert.deepEqual(jail.boundariesBelow('/ro'), { rules: [], mounts: [] });
    assert.deepEqual(jail.boundariesBelow('/mnt'), { rules: [], mounts: ['/mnt/shared'] });
    assert.deepEqual(jail.boundariesBelow('/r'), { rules: [], mounts: [] });
    assert.equal(jail.boundariesBelow('/').rules.length, 7);
  });
});
