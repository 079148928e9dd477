// The users table as the pod holds it after validation (users.schema.json, docs/users-table.md).

export const PERMISSIONS = ['list', 'download', 'upload', 'overwrite', 'delete', 'rename', 'mkdir', 'setstat'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export interface DirectoryPermissions {
  readonly path: string;
  readonly permissions: readonly Permission[];
}

export interface LogicalDirectory {
  readonly path: string;
  readonly prefix: string;
  readonly permissions?: readonly Permission[];
}

/** One user exactly as the document carries it (after schema validation). */
export interface UserRecord {
  readonly username: string;
  readonly home?: string;
  readonly disabled?: boolean;
  readonly expiresAt?: string | null;
  readonly publicKeys?: readonly string[];
  readonly passwordHash?: string | null;
  readonly permissions: readonly Permission[];
  readonly directoryPermissions?: readonly DirectoryPermissions[];
  readonly logicalDirectories?: readonly LogicalDirectory[];
  readonly quota?: { readonly maxBytes?: number; readonly maxFiles?: number } | null;
  readonly bandwidth?: { readonly uploadBytesPerSecond?: number; readonly downloadBytesPerSecond?: number } | null;
  readonly allowedSourceCIDRs?: readonly string[];
  readonly maxSessions?: number | null;
  readonly sessionPolicy?: string | null;
}

export interface UsersDocument {
  readonly version: 1;
  readonly shard?: number;
  readonly shards?: number;
  readonly users: readonly UserRecord[];
}
