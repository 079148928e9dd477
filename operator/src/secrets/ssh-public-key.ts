// Parses and validates the authorized key lines of an SftpUser with the shared parser (common/src/ssh/public-key.ts,
// ssh2's own key parser: the operator accepts exactly the keys the pod can use). The API server can only check the
// shape; a wrong key becomes a status condition (reason InvalidAuthorizedKey) and never a crash.
import { type ParsedPublicKey, PublicKeyError, parsePublicKey } from '../../../common/src/ssh/public-key.ts';
import { InvalidAuthorizedKeyError } from './errors.ts';

export type { ParsedPublicKey } from '../../../common/src/ssh/public-key.ts';

/** Parses one authorized_keys line. Throws InvalidAuthorizedKeyError naming the index and the problem. */
export function parseAuthorizedKey(line: string, index = 0): ParsedPublicKey {
  try {
    return parsePublicKey(line);
  } catch (err) {
    if (err instanceof PublicKeyError) throw new InvalidAuthorizedKeyError(index, err.message, { cause: err });
    throw err;
  }
}

export interface AuthorizedKeysResult {
  readonly keys: readonly ParsedPublicKey[];
  readonly errors: readonly InvalidAuthorizedKeyError[];
}

/** Parses every line; collects all errors (so status can name each bad key) instead of stopping at the first. */
export function parseAuthorizedKeys(lines: readonly string[]): AuthorizedKeysResult {
  const keys: ParsedPublicKey[] = [];
  const errors: InvalidAuthorizedKeyError[] = [];
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    try {
      const k = parseAuthorizedKey(line, i);
      if (seen.has(k.fingerprint)) errors.push(new InvalidAuthorizedKeyError(i, `duplicate key ${k.fingerprint}`));
      else keys.push(k);
      seen.add(k.fingerprint);
    } catch (err) {
      if (err instanceof InvalidAuthorizedKeyError) errors.push(err);
      else throw err;
    }
  });
  return { keys, errors };
}
