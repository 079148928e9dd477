import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UsersDocumentError } from '../../../common/src/users/validate.ts';
import { createLogger } from '../telemetry/log.ts';
import { startFileSource } from './file-source.ts';
import { UsersStore } from './store.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test';

async function load(name: string, text: string): Promise<UsersStore> {
  const dir = mkdtempSync(join(tmpdir(), 'file-source-'));
  const ac = new AbortController();
  try {
    const path = join(dir, name);
    writeFileSync(path, text);
    const store = new UsersStore();
    await startFileSource({ path, store, log: createLogger('error') }, ac.signal);
    return store;
  } finally {
    ac.abort();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a JSON users file loads without the YAML parser, a YAML one with it: the same table', async () => {
  const json = await load(
    'users.json',
    JSON.stringify({ version: 1, users: [{ username: 'a', publicKeys: [KEY], permissions: ['list'] }] }),
  );
  const yaml = await load(
    'users.yaml',
    `version: 1\nusers:\n  - username: a\n    publicKeys:\n      - "${KEY}"\n    permissions: [list]\n`,
  );
  assert.equal(json.size, 1);
  assert.equal(yaml.size, 1);
});

test('a file that is neither JSON nor YAML is refused as a users document error', async () => {
  await assert.rejects(load('users.yaml', 'users: [unclosed'), UsersDocumentError);
});
