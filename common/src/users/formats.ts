// The string formats users.schema.json uses, shared by the validator generator and the generated validator (ajv's
// standalone code calls `formats["date-time"].validate`). ajv-formats is not a dependency; RFC 3339 date-time is the
// only format the schema uses.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export const USERS_FORMATS = {
  'date-time': { type: 'string', validate: (s: string) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)) },
} as const;
