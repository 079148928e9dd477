// IAM errors with stable codes. The AWS SDK's errors are classified into these at the edge (classify-aws-error.ts);
// the reconcilers decide requeue and status from `code` and `retryable`, never from a message.
import { CodedError } from '../../../../common/src/errors/coded-error.ts';

export const IamErrorCode = {
  /** The user's session policy cannot fit AWS's/MinIO's 2,048-character cap: a spec problem, reported on the user. */
  PolicyTooLarge: 'SFTPGATE_IAM_POLICY_TOO_LARGE',
  /** The spec cannot be expressed as a policy (a wildcard character in a prefix, a bad ARN...): fix the spec. */
  InvalidInput: 'SFTPGATE_IAM_INVALID_INPUT',
  /** A role with our name exists but is not ours (missing/other ownership tags): never adopted, never changed. */
  Conflict: 'SFTPGATE_IAM_CONFLICT',
  /** IAM refused the operator's call: the operator's own policy is missing an action or a condition failed. */
  AccessDenied: 'SFTPGATE_IAM_ACCESS_DENIED',
  /** An account quota (roles, policy size...) was hit. */
  LimitExceeded: 'SFTPGATE_IAM_LIMIT_EXCEEDED',
  /** Throttling, 5xx or a network failure: retry with backoff. */
  Unavailable: 'SFTPGATE_IAM_UNAVAILABLE',
  /** The operation was aborted through its AbortSignal. */
  Aborted: 'SFTPGATE_IAM_ABORTED',
  /** Anything else IAM answered. */
  Failure: 'SFTPGATE_IAM_FAILURE',
} as const;
export type IamErrorCode = (typeof IamErrorCode)[keyof typeof IamErrorCode];

/** Codes a retry (with backoff) can fix without a spec change. */
const RETRYABLE: ReadonlySet<IamErrorCode> = new Set([
  IamErrorCode.Unavailable,
  IamErrorCode.AccessDenied, // the operator's policy may be fixed out of band; retry slowly
  IamErrorCode.Failure,
]);

export class IamError extends CodedError<IamErrorCode> {
  /** True when a later retry may succeed without a spec change (Waiting); false means Stalled until the spec changes. */
  readonly retryable: boolean;
  constructor(code: IamErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.retryable = RETRYABLE.has(code);
  }
}

/** Thrown by buildSessionPolicy when even the coarse policy exceeds the cap. Message is safe for a user's status. */
export class PolicyTooLargeError extends IamError {
  /** Packed size in bytes of the smallest policy we could build. */
  readonly size: number;
  readonly limit: number;
  constructor(username: string, size: number, limit: number) {
    super(
      IamErrorCode.PolicyTooLarge,
      `session policy for user ${JSON.stringify(username)} is ${size} bytes packed, over the ${limit}-byte limit of STS: ` +
        'use fewer logical directories or directory permission overrides, or shorter prefixes',
    );
    this.name = 'PolicyTooLargeError';
    this.size = size;
    this.limit = limit;
  }
}

export function isIamError(err: unknown, code?: IamErrorCode): err is IamError {
  return err instanceof IamError && (code === undefined || err.code === code);
}
