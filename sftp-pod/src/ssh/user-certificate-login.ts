// The login side of OpenSSH user certificates: turns a presented certificate into the key that must sign the login,
// or nothing (the attempt then fails like an unknown key). The user must exist in the users table: a certificate
// proves who holds the key, the table still says what that user may do.
import type { ParsedKey } from 'ssh2';
import type { Logger } from '../telemetry/log.ts';
import type { UserRecord } from '../users/types.ts';
import {
  checkUserCertificate,
  isCertificateAlgorithm,
  type TrustedUserCas,
  verifySshSignature,
} from './user-certificates.ts';

/**
 * For a certificate algorithm: the certified key (its `verify` takes ssh2's signature blob, which for certificates
 * keeps its SSH framing) when the certificate is acceptable for `user` from `address`; undefined otherwise, with the
 * reason logged. Undefined for plain key algorithms.
 */
export function certificateKey(
  user: UserRecord | undefined,
  algo: string,
  blob: Buffer,
  address: string,
  cas: TrustedUserCas | undefined,
  log: Logger,
): Pick<ParsedKey, 'verify'> | undefined {
  if (!user || !isCertificateAlgorithm(algo)) return undefined;
  if (!cas) {
    log.info('certificate refused', { user: user.username, reason: 'no trusted user CA configured' });
    return undefined;
  }
  const cert = checkUserCertificate(algo, blob, user.username, address, cas);
  if (typeof cert === 'string') {
    log.info('certificate refused', { user: user.username, reason: cert });
    return undefined;
  }
  return { verify: (data: Buffer, signature: Buffer) => verifySshSignature(cert.key, data, signature) } as Pick<
    ParsedKey,
    'verify'
  >;
}
