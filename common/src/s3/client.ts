// A lean S3 client: the operations the sftp pod uses, signed with SigV4 over a shared keep-alive pool, with the AWS
// SDK's standard retries and error shape, and no copies of bodies (docs/decisions.md "Lean S3 client"). Upload
// bodies go to the socket as given; GetObject hands back the response stream itself.
//
// Payload signing: PutObject and UploadPart over HTTPS send `UNSIGNED-PAYLOAD` (TLS protects the body, and the
// CRC32 checksum S3 verifies catches corruption); over plain HTTP, and for every other request, the body's SHA-256
// is signed. PutObject, UploadPart, DeleteObjects and PutObjectTagging carry `x-amz-checksum-crc32`, as the SDK
// sent them.

import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Credentials, type CredentialsProvider, cachingProvider } from './credentials.ts';
import { type Endpoint, type EndpointConfig, type ResolvedTarget, resolveEndpoint, target } from './endpoint.ts';
import { errorIn200, responseError } from './errors.ts';
import { bodyLength, crc32Base64, payloadHashFor } from './payload.ts';
import * as R from './responses.ts';
import { backoffMs, DEFAULT_MAX_ATTEMPTS, retryKind } from './retry.ts';
import { signRequest } from './sigv4.ts';
import { agentFor, type Body, drain, exchange, readText } from './transport.ts';
import type * as T from './types.ts';
import { canonicalQuery } from './uri.ts';
import { wireGet } from './wire-get.ts';
import { parseXml, text, type XmlNode } from './xml.ts';

export interface S3ClientConfig extends EndpointConfig {
  /** A value, or a provider asked again within 300 s of the expiration it reports. Default: environment, SDK chain. */
  readonly credentials?: Credentials | CredentialsProvider | undefined;
  /** Attempts per call, first included. Default 3 (the AWS SDK's). */
  readonly maxAttempts?: number | undefined;
  /** PEM roots to trust instead of Node's store (tests with a private CA in process). Default NODE_EXTRA_CA_CERTS. */
  readonly ca?: string | undefined;
  /**
   * Test seam: sees each signed request as it goes on the wire (operation name, headers) and may return a different
   * body to send (the attack tests corrupt a part after its checksum was computed). Never set in production.
   */
  readonly onSend?:
    | ((operation: string, headers: Readonly<Record<string, string>>, body: Body) => Body | undefined)
    | undefined;
}

interface Call {
  /** The S3 operation name (metrics, tests). */
  readonly op: string;
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  readonly bucket: string;
  readonly key?: string | undefined;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body?: Body;
  /** PutObject/UploadPart: unsigned over HTTPS. */
  readonly unsignedOverTls?: boolean;
  /** Send `x-amz-checksum-crc32` of the body. */
  readonly crc32?: boolean;
}

/** One attempt's signed request. */
interface Signed {
  readonly target: ResolvedTarget;
  readonly pathAndQuery: string;
  readonly headers: Record<string, string>;
  readonly body: Body;
  readonly signal: AbortSignal | undefined;
}

/** GetObject as sent, whichever way its answer is read (node:http's stream or the ranged-GET path). */
function getObjectCall(i: T.GetObjectInput): Call {
  const headers = { range: i.Range, 'if-match': i.IfMatch, 'if-none-match': i.IfNoneMatch };
  return { op: 'GetObject', method: 'GET', bucket: i.Bucket, key: i.Key, headers };
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError' });
}

/** Object write headers shared by PutObject, CreateMultipartUpload and CopyObject. */
function writeHeaders(w: T.WriteFields): Record<string, string | undefined> {
  const h: Record<string, string | undefined> = {
    'content-type': w.ContentType,
    'x-amz-storage-class': w.StorageClass,
    'x-amz-server-side-encryption': w.ServerSideEncryption,
    'x-amz-server-side-encryption-aws-kms-key-id': w.SSEKMSKeyId,
  };
  for (const [k, v] of Object.entries(w.Metadata ?? {})) h[`x-amz-meta-${k.toLowerCase()}`] = v;
  return h;
}

export class S3Client {
  readonly #endpoint: Endpoint;
  readonly #region: string;
  readonly #credentials: CredentialsProvider;
  readonly #maxAttempts: number;
  readonly #ca: string | undefined;
  readonly #onSend: S3ClientConfig['onSend'];

  /** Parses the configuration (throws TypeError for a bad endpoint). No I/O. */
  constructor(config: S3ClientConfig) {
    this.#endpoint = resolveEndpoint(config);
    this.#region = config.region;
    this.#credentials = cachingProvider(config.credentials);
    this.#maxAttempts = Math.max(1, config.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.#ca = config.ca;
    this.#onSend = config.onSend;
  }

  /** The credentials the next request signs with (for diagnostics and tests). */
  credentials(): Promise<Credentials> {
    return this.#credentials();
  }

  async putObject(i: T.PutObjectInput, o?: T.CallOptions): Promise<T.PutObjectOutput> {
    const call: Call = {
      op: 'PutObject',
      method: 'PUT',
      bucket: i.Bucket,
      key: i.Key,
      headers: { ...writeHeaders(i), 'if-none-match': i.IfNoneMatch },
      body: i.Body,
      unsignedOverTls: true,
      crc32: true,
    };
    return this.#request(call, o, (res) => {
      drain(res);
      return { ETag: res.headers.etag, ...R.checksumHeaders(res.headers), $metadata: R.metadataOf(200, res.headers) };
    });
  }

  async headObject(i: T.ObjectInput, o?: T.CallOptions): Promise<T.HeadObjectOutput> {
    return this.#request({ op: 'HeadObject', method: 'HEAD', bucket: i.Bucket, key: i.Key }, o, (res) => {
      drain(res);
      return R.objectHeaders(res.statusCode ?? 200, res.headers);
    });
  }

  /** Resolves once the headers arrived; `Body` is the response stream (never retried once handed out). */
  async getObject(i: T.GetObjectInput, o?: T.CallOptions): Promise<T.GetObjectOutput> {
    return this.#request(getObjectCall(i), o, (res) => ({
      ...R.objectHeaders(res.statusCode ?? 200, res.headers),
      Body: res,
    }));
  }

  /**
   * A GET read without node:http (wire-get.ts): resolves once a 2xx head arrived; `Body` delivers the bytes into the
   * caller's buffer as the socket reads them (never retried once handed out). For the download path's ranged GETs;
   * a 2xx answer without Content-Length, or with Transfer-Encoding, is refused (WireResponseError).
   */
  async getObjectRange(i: T.GetObjectInput, o?: T.CallOptions): Promise<T.GetObjectRangeOutput> {
    return this.#attempts(getObjectCall(i), o, async (signed) => {
      const res = await wireGet({ ...signed, ca: this.#ca });
      return { ...R.objectHeaders(res.status, res.headers), Body: res.body };
    });
  }

  async deleteObject(i: T.DeleteObjectInput, o?: T.CallOptions): Promise<T.EmptyOutput> {
    const call: Call = {
      op: 'DeleteObject',
      method: 'DELETE',
      bucket: i.Bucket,
      key: i.Key,
      headers: { 'if-match': i.IfMatch },
    };
    return this.#request(call, o, (res) => this.#empty(res));
  }

  async listObjectsV2(i: T.ListObjectsV2Input, o?: T.CallOptions): Promise<T.ListObjectsV2Output> {
    const query = {
      'list-type': '2',
      prefix: i.Prefix,
      delimiter: i.Delimiter,
      'max-keys': i.MaxKeys === undefined ? undefined : String(i.MaxKeys),
      'continuation-token': i.ContinuationToken,
      'start-after': i.StartAfter,
    };
    return this.#xml({ op: 'ListObjectsV2', method: 'GET', bucket: i.Bucket, query }, o, R.listObjectsV2);
  }

  async createMultipartUpload(
    i: T.CreateMultipartUploadInput,
    o?: T.CallOptions,
  ): Promise<T.CreateMultipartUploadOutput> {
    const headers = { ...writeHeaders(i), 'x-amz-tagging': i.Tagging };
    const call: Call = {
      op: 'CreateMultipartUpload',
      method: 'POST',
      bucket: i.Bucket,
      key: i.Key,
      query: { uploads: '' },
      headers,
    };
    return this.#xml(call, o, (doc, $metadata) => ({ UploadId: text(doc, 'UploadId'), $metadata }));
  }

  async uploadPart(i: T.UploadPartInput, o?: T.CallOptions): Promise<T.UploadPartOutput> {
    const call: Call = {
      op: 'UploadPart',
      method: 'PUT',
      bucket: i.Bucket,
      key: i.Key,
      query: { partNumber: String(i.PartNumber), uploadId: i.UploadId },
      body: i.Body,
      unsignedOverTls: true,
      crc32: true,
    };
    return this.#request(call, o, (res) => {
      drain(res);
      return { ETag: res.headers.etag, ...R.checksumHeaders(res.headers), $metadata: R.metadataOf(200, res.headers) };
    });
  }

  async completeMultipartUpload(
    i: T.CompleteMultipartUploadInput,
    o?: T.CallOptions,
  ): Promise<T.CompleteMultipartUploadOutput> {
    const call: Call = {
      op: 'CompleteMultipartUpload',
      method: 'POST',
      bucket: i.Bucket,
      key: i.Key,
      query: { uploadId: i.UploadId },
      headers: { 'content-type': 'application/xml', 'if-none-match': i.IfNoneMatch },
      body: Buffer.from(R.completeBody(i.MultipartUpload.Parts)),
    };
    return this.#xml(call, o, (doc, $metadata) => ({ ETag: text(doc, 'ETag'), $metadata }), true);
  }

  async abortMultipartUpload(i: T.AbortMultipartUploadInput, o?: T.CallOptions): Promise<T.EmptyOutput> {
    const call: Call = {
      op: 'AbortMultipartUpload',
      method: 'DELETE',
      bucket: i.Bucket,
      key: i.Key,
      query: { uploadId: i.UploadId },
    };
    return this.#request(call, o, (res) => this.#empty(res));
  }

  async listParts(i: T.ListPartsInput, o?: T.CallOptions): Promise<T.ListPartsOutput> {
    const query = { uploadId: i.UploadId, 'part-number-marker': i.PartNumberMarker };
    return this.#xml({ op: 'ListParts', method: 'GET', bucket: i.Bucket, key: i.Key, query }, o, R.listParts);
  }

  async copyObject(i: T.CopyObjectInput, o?: T.CallOptions): Promise<T.CopyObjectOutput> {
    const headers = {
      ...writeHeaders(i),
      'x-amz-copy-source': i.CopySource,
      'x-amz-copy-source-if-match': i.CopySourceIfMatch,
      'x-amz-metadata-directive': i.MetadataDirective,
    };
    const call: Call = { op: 'CopyObject', method: 'PUT', bucket: i.Bucket, key: i.Key, headers };
    return this.#xml(call, o, (doc, $metadata) => ({ CopyObjectResult: { ETag: text(doc, 'ETag') }, $metadata }), true);
  }

  async uploadPartCopy(i: T.UploadPartCopyInput, o?: T.CallOptions): Promise<T.UploadPartCopyOutput> {
    const call: Call = {
      op: 'UploadPartCopy',
      method: 'PUT',
      bucket: i.Bucket,
      key: i.Key,
      query: { partNumber: String(i.PartNumber), uploadId: i.UploadId },
      headers: {
        'x-amz-copy-source': i.CopySource,
        'x-amz-copy-source-if-match': i.CopySourceIfMatch,
        'x-amz-copy-source-range': i.CopySourceRange,
      },
    };
    return this.#xml(call, o, (doc, $metadata) => ({ CopyPartResult: { ETag: text(doc, 'ETag') }, $metadata }), true);
  }

  async deleteObjects(i: T.DeleteObjectsInput, o?: T.CallOptions): Promise<T.DeleteObjectsOutput> {
    const call: Call = {
      op: 'DeleteObjects',
      method: 'POST',
      bucket: i.Bucket,
      query: { delete: '' },
      headers: { 'content-type': 'application/xml' },
      body: Buffer.from(R.deleteBody(i.Delete.Objects, i.Delete.Quiet ?? false)),
      crc32: true,
    };
    return this.#xml(call, o, (doc, $metadata) => ({
      Deleted: doc.children.filter((c) => c.name === 'Deleted').map((d) => ({ Key: text(d, 'Key') })),
      Errors: doc.children
        .filter((c) => c.name === 'Error')
        .map((e) => ({ Key: text(e, 'Key'), Code: text(e, 'Code'), Message: text(e, 'Message') })),
      $metadata,
    }));
  }

  async getObjectTagging(i: T.ObjectInput, o?: T.CallOptions): Promise<T.GetObjectTaggingOutput> {
    const call: Call = { op: 'GetObjectTagging', method: 'GET', bucket: i.Bucket, key: i.Key, query: { tagging: '' } };
    return this.#xml(call, o, (doc, $metadata) => ({ TagSet: R.tagSet(doc), $metadata }));
  }

  async putObjectTagging(i: T.PutObjectTaggingInput, o?: T.CallOptions): Promise<T.EmptyOutput> {
    const call: Call = {
      op: 'PutObjectTagging',
      method: 'PUT',
      bucket: i.Bucket,
      key: i.Key,
      query: { tagging: '' },
      headers: { 'content-type': 'application/xml' },
      body: Buffer.from(R.taggingBody(i.Tagging.TagSet)),
      crc32: true,
    };
    return this.#request(call, o, (res) => this.#empty(res));
  }

  #empty(res: IncomingMessage): T.EmptyOutput {
    drain(res);
    return { $metadata: R.metadataOf(res.statusCode ?? 200, res.headers) };
  }

  /** A call whose 2xx answer is an XML document; `in200` checks for S3's 200-with-an-error-body. */
  #xml<R>(
    call: Call,
    o: T.CallOptions | undefined,
    parse: (doc: XmlNode, m: T.ResponseMetadata) => R,
    in200 = false,
  ): Promise<R> {
    return this.#request(call, o, async (res) => {
      const body = await readText(res);
      const requestId = res.headers['x-amz-request-id'] as string | undefined;
      if (in200) {
        const err = errorIn200(body, requestId);
        if (err) throw err;
      }
      return parse(parseXml(body), R.metadataOf(res.statusCode ?? 200, res.headers));
    });
  }

  /**
   * Signs and sends `call`, retrying what retry.ts allows, and hands a 2xx response to `consume` (whose failures are
   * retried too: it runs inside the attempt). A non-2xx answer becomes an S3ResponseError.
   */
  #request<R>(call: Call, o: T.CallOptions | undefined, consume: (res: IncomingMessage) => R | Promise<R>) {
    const agent = agentFor(this.#endpoint.poolKey, this.#endpoint.protocol, this.#ca);
    return this.#attempts(call, o, async (signed) => {
      const res = await exchange({ ...signed, method: call.method, agent });
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        let text = '';
        if (call.method === 'HEAD') drain(res);
        else text = await readText(res);
        throw responseError(status, text, res.headers['x-amz-request-id'] as string | undefined);
      }
      return await consume(res);
    });
  }

  /**
   * The retry loop: signs `call` afresh for each attempt and runs `attempt` with it; what `attempt` throws is
   * retried as retry.ts says, up to maxAttempts.
   */
  async #attempts<R>(call: Call, o: T.CallOptions | undefined, attempt: (signed: Signed) => Promise<R>): Promise<R> {
    const signal = o?.abortSignal;
    const t = target(this.#endpoint, call.bucket, call.key);
    const query = call.query ? canonicalQuery(call.query) : '';
    const pathAndQuery = query === '' ? t.path : `${t.path}?${query}`;
    const body = call.body;
    const length = bodyLength(body);
    const baseHeaders: Record<string, string> = { host: t.host };
    for (const [k, v] of Object.entries(call.headers ?? {})) if (v !== undefined) baseHeaders[k] = v;
    if (body !== undefined || call.method === 'PUT' || call.method === 'POST') {
      baseHeaders['content-length'] = String(length);
    }
    if (call.crc32) baseHeaders['x-amz-checksum-crc32'] = crc32Base64(body);
    const payloadHash = payloadHashFor(call.unsignedOverTls === true, t.protocol, body);
    for (let n = 1; ; n++) {
      if (signal?.aborted) throw abortError(signal);
      try {
        const credentials = await this.#credentials();
        const headers = { ...baseHeaders };
        signRequest(
          { method: call.method, path: t.path, query, headers, payloadHash },
          credentials,
          this.#region,
          Date.now(),
        );
        const sent = this.#onSend?.(call.op, headers, body) ?? body;
        return await attempt({ target: t, pathAndQuery, headers, body: sent, signal });
      } catch (err) {
        if (signal?.aborted) throw abortError(signal);
        const kind = retryKind(err);
        if (kind === 'none' || n >= this.#maxAttempts) throw err;
        await sleep(backoffMs(kind, n), undefined, signal ? { signal } : undefined).catch(() => undefined);
      }
    }
  }
}
