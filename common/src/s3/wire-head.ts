// The head of an HTTP/1.1 response as the ranged-GET path (wire-get.ts) reads it: status line, header fields, the
// body's framing. Strict on purpose: what S3 sends for a GET is a status line, plain `name: value` fields and a
// Content-Length; anything else (a head over 16 KiB, folded or malformed fields, conflicting lengths, control
// characters) is refused as a WireResponseError rather than guessed at.

import { CodedError } from '../errors/coded-error.ts';

/** Node's default --max-http-header-size: a longer head is refused. */
export const MAX_HEAD_BYTES = 16 * 1024;

export const WIRE_RESPONSE_ERROR = 'SFTPGATE_S3_BAD_RESPONSE';

/** A response the GET path does not accept (malformed, or framed in a way it does not read). Never retried. */
export class WireResponseError extends CodedError<typeof WIRE_RESPONSE_ERROR> {
  constructor(message: string) {
    super(WIRE_RESPONSE_ERROR, `S3 response refused: ${message}`);
  }
}

export interface ResponseHead {
  readonly status: number;
  /** Lower-case names; repeated fields joined with `, ` (as node:http does). */
  readonly headers: Record<string, string>;
  /** The Content-Length, or undefined when the response has none. */
  readonly contentLength: number | undefined;
  /** A Transfer-Encoding field was present (its body is not framed by Content-Length). */
  readonly transferEncoded: boolean;
  /** The connection may carry another request after this response. */
  readonly keepAlive: boolean;
  /** Bytes of the head including its blank line: the body starts here. */
  readonly headBytes: number;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [^\x00-\x08\x0a-\x1f\x7f]*)?$/;
/** RFC 9110 token, a colon, optional whitespace, a value of visible characters, spaces and tabs (obs-text allowed). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const FIELD_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*$/;
const DIGITS = /^\d{1,15}$/;
const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * Parses the head at the start of `data`; undefined when its end has not arrived yet. Throws WireResponseError for a
 * malformed or oversized head. Pure.
 */
export function parseResponseHead(data: Buffer): ResponseHead | undefined {
  const end = data.indexOf(CRLFCRLF);
  if (end < 0) {
    if (data.length > MAX_HEAD_BYTES) throw new WireResponseError(`head longer than ${MAX_HEAD_BYTES} bytes`);
    return undefined;
  }
  const headBytes = end + CRLFCRLF.length;
  if (headBytes > MAX_HEAD_BYTES) throw new WireResponseError(`head longer than ${MAX_HEAD_BYTES} bytes`);
  const lines = data.toString('latin1', 0, end).split('\r\n');
  const status = STATUS_LINE.exec(lines[0] ?? '');
  if (status === null) throw new WireResponseError('not an HTTP/1.x status line');
  // No prototype: a field named `__proto__` or `constructor` is a header like any other, not an inherited property.
  const headers: Record<string, string> = Object.create(null);
  let contentLength: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const field = FIELD_LINE.exec(lines[i] as string);
    if (field === null) throw new WireResponseError(`malformed header field on line ${i + 1}`);
    const name = (field[1] as string).toLowerCase();
    const value = field[2] as string;
    if (name === 'content-length') {
      if (!DIGITS.test(value) || (contentLength !== undefined && contentLength !== value)) {
        throw new WireResponseError('invalid or conflicting Content-Length');
      }
      contentLength = value;
      headers[name] = value;
      continue;
    }
    const had = headers[name];
    headers[name] = had === undefined ? value : `${had}, ${value}`;
  }
  const http10 = status[1] === '0';
  const connection = (headers['connection'] ?? '')
    .toLowerCase()
    .split(',')
    .map((t) => t.trim());
  return {
    status: Number(status[2]),
    headers,
    contentLength: contentLength === undefined ? undefined : Number(contentLength),
    transferEncoded: headers['transfer-encoding'] !== undefined,
    keepAlive: http10 ? connection.includes('keep-alive') : !connection.includes('close'),
    headBytes,
  };
}
