// The one validator of users documents (users.schema.json), used by every reader of the table: the pod's file and
// Secret sources, and the tests that prove the operator's output passes it.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { CodedError } from '../errors/coded-error.ts';
import type { UsersDocument } from './types.ts';
// Imported (not read from disk) so that `tsc -p tsconfig.build.json` copies the schema into dist/ with the code.
import schema from './users.schema.json' with { type: 'json' };

// ajv-formats is not a dependency; RFC 3339 date-time is the only format the schema uses.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const ajv = new Ajv2020({ allErrors: true, strict: true });
ajv.addFormat('date-time', {
  type: 'string',
  validate: (s: string) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)),
});
const check = ajv.compile(schema as object);

export class UsersDocumentError extends CodedError<'SFTPGATE_USERS_INVALID'> {
  constructor(message: string, options?: ErrorOptions) {
    super('SFTPGATE_USERS_INVALID', message, options);
  }
}

/** Validates a parsed document; throws UsersDocumentError naming the offending fields (never their values). */
export function validateUsersDocument(doc: unknown, source: string): UsersDocument {
  if (!check(doc)) {
    const details = (check.errors ?? [])
      .slice(0, 10)
      .map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`)
      .join('; ');
    throw new UsersDocumentError(`${source}: users document does not match users.schema.json: ${details}`);
  }
  const parsed = doc as UsersDocument;
  const seen = new Set<string>();
  for (const u of parsed.users) {
    if (seen.has(u.username)) throw new UsersDocumentError(`${source}: duplicate username ${u.username}`);
    seen.add(u.username);
  }
  return parsed;
}
