// The users table the pod holds after validation: types generated from common/src/users/users.schema.json.
export type { UserRecord, UsersDocument } from '../../../common/src/users/types.ts';
