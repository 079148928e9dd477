// Operator and pod agree on the users table by construction: for every SftpServer x SftpUser in examples/, the
// operator's own builders (key validation, password hash, session policy, entry, sharded table) produce documents the
// pod's parser accepts (the one validator, common/src/users/validate.ts), and the pod can use what it gets: every key
// the operator admitted parses with the pod's ssh2 key parser, the example password verifies against the hash, the
// home is the one the operator reported. The examples are defaulted from the CRD schemas as the API server would.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { validateUsersDocument } from '../../common/src/users/validate.ts';
import { type CrdSchema, loadCrds, repoRoot } from '../../operator/src/api/crds.ts';
import type { SftpServer, SftpStorageProfile, SftpUser } from '../../operator/src/api/types.generated.ts';
import { policyServer, policyUser } from '../../operator/src/cloud/iam/integration.ts';
import { buildSessionPolicy } from '../../operator/src/cloud/iam/session-policy.ts';
import { locate } from '../../operator/src/controllers/placement.ts';
import { usersTableEntry, validateUser } from '../../operator/src/controllers/sftp-user/desired.ts';
import { hashPassword } from '../../operator/src/secrets/password-hash.ts';
import { buildUsersTable, type UsersTableEntry } from '../../operator/src/secrets/users-table.ts';
import { authorizedKeys, checkPassword } from '../../sftp-pod/src/ssh/auth.ts';
import { UsersStore } from '../../sftp-pod/src/users/store.ts';

interface Doc {
  kind?: string;
  metadata?: { name?: string };
  spec?: unknown;
  stringData?: Record<string, string>;
}

/** Structural defaulting as the API server does it: a missing property with a schema default gets the default. */
function withDefaults(value: unknown, schema: CrdSchema | undefined): unknown {
  if (schema === undefined || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => withDefaults(v, schema.items));
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    if (out[key] === undefined && child.default !== undefined) out[key] = structuredClone(child.default);
    if (out[key] !== undefined) out[key] = withDefaults(out[key], child);
  }
  return out;
}

const schemas = new Map(loadCrds().map((c) => [c.spec.names.kind, c.spec.versions[0]?.schema.openAPIV3Schema]));
const docs: { file: string; doc: Doc }[] = [];
for (const file of readdirSync(join(repoRoot, 'examples')).filter((f) => f.endsWith('.yaml'))) {
  for (const d of parseAllDocuments(readFileSync(join(repoRoot, 'examples', file), 'utf8'))) {
    const doc = d.toJS() as Doc | null;
    if (doc !== null) docs.push({ file, doc: withDefaults(doc, schemas.get(doc.kind ?? '')) as Doc });
  }
}
const servers = docs.filter((d) => d.doc.kind === 'SftpServer').map((d) => d.doc as unknown as SftpServer);
const profiles = new Map(
  docs
    .filter((d) => d.doc.kind === 'SftpStorageProfile')
    .map((d) => [d.doc.metadata?.name ?? '', d.doc as unknown as SftpStorageProfile]),
);
const users = docs.filter((d) => d.doc.kind === 'SftpUser');
const passwords = new Map(
  docs.filter((d) => d.doc.kind === 'Secret').map((d) => [d.doc.metadata?.name ?? '', d.doc.stringData ?? {}]),
);

describe('the operator users table for every example is what the pod parses and can use', () => {
  it('the examples hold servers and users', () => {
    assert.ok(servers.length >= 2 && users.length >= 3, `${servers.length} servers, ${users.length} users`);
  });

  for (const server of servers) {
    it(`server ${server.metadata.name} with every example user`, async () => {
      const profile = profiles.get(server.spec.storage.profile);
      assert.ok(profile, `profile ${server.spec.storage.profile} is in the examples`);
      const placed = { server, placement: locate(profile, 'tenants', server.metadata.name ?? '') };
      const entries: { file: string; entry: UsersTableEntry; password?: string; keys: number }[] = [];
      for (const { file, doc } of users) {
        const user = doc as unknown as SftpUser;
        const validation = validateUser(user);
        assert.deepEqual(validation.problems, [], `${file}: the operator refuses the example`);
        const ref = user.spec.passwordSecretRef;
        const password = ref === undefined ? undefined : passwords.get(ref.name)?.[ref.key ?? 'password'];
        if (ref !== undefined) assert.ok(password, `${file}: password Secret ${ref.name} is in the example`);
        const hash =
          password === undefined
            ? undefined
            : await hashPassword(Buffer.from(password), {
                secretUid: 'uid',
                resourceVersion: '1',
                username: user.spec.username ?? '',
              });
        const policy =
          placed.placement.iam.mode === 'None'
            ? undefined
            : buildSessionPolicy(policyUser(user), policyServer(placed, undefined)).packed;
        entries.push({
          file,
          entry: usersTableEntry(user, validation.keys, hash, policy),
          ...(password !== undefined && { password }),
          keys: validation.keys.length,
        });
      }
      const store = new UsersStore();
      const shards = buildUsersTable(entries.map((e) => e.entry));
      store.replace(shards.flatMap((s) => validateUsersDocument(JSON.parse(s.content), `shard ${s.index}`).users));
      for (const { file, entry, password, keys } of entries) {
        const record = store.get(entry.username);
        assert.ok(record, `${file}: ${entry.username} is in the pod's table`);
        assert.equal(record.home, entry.home, `${file}: home`);
        assert.equal(authorizedKeys(record).length, keys, `${file}: the pod parses every admitted key`);
        if (password !== undefined) {
          assert.equal(await checkPassword(record, password), true, `${file}: password`);
          assert.equal(await checkPassword(record, `${password}x`), false, `${file}: a wrong password`);
        }
        assert.equal(record.sessionPolicy ?? undefined, entry.sessionPolicy ?? undefined, `${file}: session policy`);
      }
    });
  }
});
