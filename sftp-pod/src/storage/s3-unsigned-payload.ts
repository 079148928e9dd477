// No SHA-256 of upload bodies where TLS already protects them. SigV4 signs a hash of the body unless the request says
// `x-amz-content-sha256: UNSIGNED-PAYLOAD` (@smithy/signature-v4 uses a preset header instead of hashing), and that
// hash cost about 1 CPU-s per GiB uploaded (docs/benchmarks.md). Over HTTPS the body's integrity is TLS's job, and the
// SDK still sends its CRC32 checksum (`x-amz-checksum-crc32`) which S3 verifies, so a corrupted part is refused
// either way; over plain HTTP the signed hash is the only protection against a body changed in transit, so it stays.
// Only PutObject and UploadPart (the bodies that matter); every other request is signed as before.

import type { S3Client } from '@aws-sdk/client-s3';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const SHA256_HEADER = 'x-amz-content-sha256';
const BODY_COMMANDS: ReadonlySet<string> = new Set(['PutObjectCommand', 'UploadPartCommand']);
const applied = new WeakSet<S3Client>();

interface OutgoingRequest {
  protocol?: string;
  headers?: Record<string, string>;
}

/** Whether a body request to this protocol is sent unsigned (exported for the unit test). */
export function unsignedPayload(commandName: string | undefined, protocol: string | undefined): boolean {
  return protocol === 'https:' && BODY_COMMANDS.has(commandName ?? '');
}

/**
 * Adds the middleware to `client` once (per-login clients are cached by the credential broker, and the shared client
 * is built once, so this runs once per client). The request's protocol is known only after endpoint resolution, so
 * the choice is made per request, at the build step, before the signer runs.
 */
export function unsignedPayloadOverTls(client: S3Client): void {
  if (applied.has(client)) return;
  applied.add(client);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as OutgoingRequest | undefined;
      if (request?.headers && unsignedPayload(context.commandName, request.protocol)) {
        request.headers[SHA256_HEADER] = UNSIGNED_PAYLOAD;
      }
      return next(args);
    },
    { step: 'build', name: 'sftpgateUnsignedPayloadOverTls', priority: 'low' },
  );
}
