// The users table as programs hold it, from the generated types (users.schema.json is the source). The pod keeps
// validated records read-only (records are replaced, never mutated); the operator builds mutable entries.
import type { UsersTable, UsersTableUser } from './types.generated.ts';

export type {
  Bandwidth,
  DirectoryPermission,
  LogicalDirectory,
  Permission,
  Quota,
  UsersTable,
  UsersTableUser,
} from './types.generated.ts';

/** `T` with every property and array element read-only, all the way down. */
export type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** One user exactly as the document carries it, after validation. */
export type UserRecord = DeepReadonly<UsersTableUser>;
/** One validated users document (a shard, or the standalone file). */
export type UsersDocument = DeepReadonly<UsersTable>;

/**
 * A user's access rules, the slice of a record both enforcement layers read: the pod's path jail and the operator's
 * per-login S3 session policy. One type, so the two can never disagree on the shape.
 */
export type AccessRules = Pick<UserRecord, 'permissions' | 'directoryPermissions' | 'logicalDirectories'>;
