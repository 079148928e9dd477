// The users table the pod holds after validation: generated from common/src/users/users.schema.json.
export { PERMISSIONS, type Permission } from '../../../common/src/users/permission.ts';
export type {
  DirectoryPermission,
  LogicalDirectory,
  UserRecord,
  UsersDocument,
} from '../../../common/src/users/types.ts';
