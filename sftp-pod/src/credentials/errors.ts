// Per-login credential errors with stable codes. Every one of them refuses the login: the broker never falls back to
// broader credentials (the pod's own or the base Secret's) when a scoped session cannot be minted.
import { CodedError } from '../../../common/src/errors/coded-error.ts';

export const CredentialErrorCode = {
  /** Broker configuration is invalid (missing STS endpoint or data role, duration out of range). */
  InvalidConfig: 'SFTPGATE_CREDENTIALS_INVALID_CONFIG',
  /** STS/AWS mode and the user carries no session policy: refusing beats minting unscoped credentials. */
  NoSessionPolicy: 'SFTPGATE_CREDENTIALS_NO_SESSION_POLICY',
  /** STS refused the request (access denied, malformed or oversized policy, bad parameters). */
  Denied: 'SFTPGATE_CREDENTIALS_STS_DENIED',
  /** STS could not be reached or failed (network, throttling, 5xx). */
  Unavailable: 'SFTPGATE_CREDENTIALS_STS_UNAVAILABLE',
  /** The login was aborted while waiting for STS. */
  Aborted: 'SFTPGATE_CREDENTIALS_ABORTED',
} as const;
export type CredentialErrorCode = (typeof CredentialErrorCode)[keyof typeof CredentialErrorCode];

/** Value of the `result` label of `sftpgate_sts_requests_total` for each outcome (bounded set). */
export type StsResult = 'ok' | 'denied' | 'unavailable' | 'aborted';

/** Message names the user and STS's error name, never a credential or the policy text. */
export class CredentialError extends CodedError<CredentialErrorCode> {}

export function isCredentialError(err: unknown, code?: CredentialErrorCode): err is CredentialError {
  return err instanceof CredentialError && (code === undefined || err.code === code);
}
