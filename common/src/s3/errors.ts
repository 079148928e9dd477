// What an S3 call that S3 refused throws: one class with the shape the pod's classifier (and the AWS SDK's callers)
// read — the S3 error Code as `name` and `Code`, the HTTP status in `$metadata.httpStatusCode`, the request id, and
// `$fault` (server for 5xx and for S3's 200-with-an-error-body answers). Network failures are rethrown as Node gave
// them (`code` ECONNRESET, ...); an abort as an `AbortError`.

import { CodedError } from '../errors/coded-error.ts';
import { child, parseXml, text } from './xml.ts';

export const S3_RESPONSE_ERROR = 'SFTPGATE_S3_RESPONSE';

export interface S3ErrorFields {
  readonly code: string;
  readonly message: string;
  readonly status: number;
  readonly requestId?: string | undefined;
  /** True when S3 answered 200 with an error body (CompleteMultipartUpload, CopyObject, UploadPartCopy). */
  readonly inBody200?: boolean;
  /** Extra elements of the error body S3 adds for some codes (StorageClass for InvalidObjectState). */
  readonly storageClass?: string | undefined;
}

/** The stable `code` is this class's; the S3 error code is `Code` (and `name`, which the classifier reads). */
export class S3ResponseError extends CodedError<typeof S3_RESPONSE_ERROR> {
  readonly Code: string;
  readonly $metadata: { readonly httpStatusCode: number; readonly requestId?: string | undefined };
  readonly $fault: 'client' | 'server';
  readonly StorageClass?: string;

  constructor(f: S3ErrorFields) {
    super(S3_RESPONSE_ERROR, f.message || `S3 answered ${f.status} ${f.code}`);
    this.name = f.code;
    this.Code = f.code;
    this.$metadata = { httpStatusCode: f.status, requestId: f.requestId };
    this.$fault = f.status >= 500 || f.inBody200 === true ? 'server' : 'client';
    if (f.storageClass !== undefined) this.StorageClass = f.storageClass;
  }
}

/** S3's names for bodiless errors (HEAD, 304), as the AWS SDK reports them. */
const STATUS_NAMES: Readonly<Record<number, string>> = {
  301: 'PermanentRedirect',
  304: 'NotModified',
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  412: 'PreconditionFailed',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

/** The error for a non-2xx answer, from its XML body when it has one. Never throws. */
export function responseError(status: number, body: string, requestId: string | undefined): S3ResponseError {
  let code = STATUS_NAMES[status] ?? 'UnknownError';
  let message = '';
  let storageClass: string | undefined;
  if (body.trim() !== '') {
    try {
      const doc = parseXml(body);
      const err = doc.name === 'Error' ? doc : child(doc, 'Error');
      code = text(err, 'Code') || code;
      message = text(err, 'Message') ?? '';
      storageClass = text(err, 'StorageClass');
      requestId ??= text(err, 'RequestId');
    } catch {
      // an error page that is not S3 XML (a proxy's HTML): the status decides
    }
  }
  return new S3ResponseError({ code, message, status, requestId, storageClass });
}

/**
 * S3 may answer CompleteMultipartUpload, CopyObject and UploadPartCopy with 200 and an `<Error>` body. Returns that
 * error, or undefined when the body is a result.
 */
export function errorIn200(body: string, requestId: string | undefined): S3ResponseError | undefined {
  if (!/<Error>[\s\S]*<\/Error>\s*$/.test(body)) return undefined;
  const e = responseError(200, body, requestId);
  return new S3ResponseError({
    code: e.Code === 'UnknownError' ? 'InternalError' : e.Code,
    message: e.message,
    status: 200,
    requestId,
    inBody200: true,
  });
}
