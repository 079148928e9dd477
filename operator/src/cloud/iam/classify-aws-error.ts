// The one place where an AWS SDK (IAM) error becomes an IamError. Callers branch on the returned `code` only.

import { IAMServiceException } from '@aws-sdk/client-iam';
import { IamError, IamErrorCode } from './errors.ts';

/** IAM's "not found" answer, which the manager handles as a state rather than an error. */
export function isNoSuchEntity(err: unknown): boolean {
  return err instanceof IAMServiceException && err.name === 'NoSuchEntityException';
}

export function isAlreadyExists(err: unknown): boolean {
  return err instanceof IAMServiceException && err.name === 'EntityAlreadyExistsException';
}

/** Classifies any error thrown by an IAM call; `what` names the call and object for the message (no secrets). */
export function classifyIamError(what: string, err: unknown): IamError {
  if (err instanceof IamError) return err;
  if (err instanceof Error && err.name === 'AbortError') {
    return new IamError(IamErrorCode.Aborted, `${what}: aborted`, { cause: err });
  }
  if (err instanceof IAMServiceException) {
    const status = err.$metadata.httpStatusCode ?? 0;
    const code = ((): IamErrorCode => {
      switch (err.name) {
        case 'AccessDenied':
        case 'AccessDeniedException':
          return IamErrorCode.AccessDenied;
        case 'LimitExceededException':
          return IamErrorCode.LimitExceeded;
        case 'MalformedPolicyDocumentException':
          // Our documents are generated; "Invalid principal" right after creating the pod role is IAM's eventual
          // consistency (the new role is not visible yet to the trust policy validator): retry, don't stall.
          return /invalid principal/i.test(err.message) ? IamErrorCode.Unavailable : IamErrorCode.InvalidInput;
        case 'InvalidInputException':
        case 'PolicyNotAttachableException':
          return IamErrorCode.InvalidInput;
        case 'Throttling':
        case 'ThrottlingException':
        case 'ServiceFailureException':
        case 'ConcurrentModificationException':
          return IamErrorCode.Unavailable;
        default:
          if (status === 403) return IamErrorCode.AccessDenied;
          if (status === 429 || status >= 500 || err.$fault === 'server') return IamErrorCode.Unavailable;
          return IamErrorCode.Failure;
      }
    })();
    return new IamError(code, `${what}: ${err.name}`, { cause: err });
  }
  // Network failures (ECONNREFUSED, timeouts) surface as plain errors from the HTTP handler.
  const name = err instanceof Error ? err.name : 'unknown error';
  return new IamError(IamErrorCode.Unavailable, `${what}: ${name}`, { cause: err });
}
