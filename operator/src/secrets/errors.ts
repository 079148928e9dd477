// Errors of the secrets module (host keys, public keys, password hashes). Stable codes; causes chained.
import { CodedError } from '../../../common/src/errors/coded-error.ts';

export class SecretsError extends CodedError {}

/** An authorized key line that is not a usable OpenSSH public key. Surfaces as reason InvalidAuthorizedKey. */
export class InvalidAuthorizedKeyError extends SecretsError {
  readonly index: number;
  constructor(index: number, message: string, options?: ErrorOptions) {
    super('SFTPGATE_OP_INVALID_AUTHORIZED_KEY', `authorizedKeys[${index}]: ${message}`, options);
    this.index = index;
  }
}

/** A host key Secret whose content cannot be read back as the private keys we expect. */
export class InvalidHostKeyError extends SecretsError {
  constructor(message: string, options?: ErrorOptions) {
    super('SFTPGATE_OP_INVALID_HOST_KEY', message, options);
  }
}

/** The users table cannot be split into shards under the size limit (a single user larger than a shard). */
export class UsersTableTooLargeError extends SecretsError {
  constructor(message: string, options?: ErrorOptions) {
    super('SFTPGATE_OP_USERS_TABLE_TOO_LARGE', message, options);
  }
}

/** The password Secret is missing the key or holds an unusable value. */
export class InvalidPasswordError extends SecretsError {
  constructor(message: string, options?: ErrorOptions) {
    super('SFTPGATE_OP_INVALID_PASSWORD', message, options);
  }
}
