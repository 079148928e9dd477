// Inputs and outputs of the S3 operations the sftp pod uses, named as in the S3 API (and the AWS SDK), so call sites
// read the same. Only the fields the pod sends or reads are here.

import type { IncomingMessage } from 'node:http';
import type { WireBody } from './wire-get.ts';

export interface CallOptions {
  readonly abortSignal?: AbortSignal | undefined;
}

export interface ResponseMetadata {
  readonly httpStatusCode: number;
  readonly requestId?: string | undefined;
}

export interface ObjectInput {
  readonly Bucket: string;
  readonly Key: string;
}

/** Headers every object write may carry (PutObject, CreateMultipartUpload, CopyObject). */
export interface WriteFields {
  readonly ContentType?: string | undefined;
  readonly Metadata?: Readonly<Record<string, string>> | undefined;
  readonly StorageClass?: string | undefined;
  readonly ServerSideEncryption?: string | undefined;
  readonly SSEKMSKeyId?: string | undefined;
}

export type BodyInput = Uint8Array | readonly Uint8Array[];

export interface PutObjectInput extends ObjectInput, WriteFields {
  readonly Body: BodyInput;
  readonly ContentLength?: number | undefined;
  readonly IfNoneMatch?: string | undefined;
}
export interface PutObjectOutput {
  readonly ETag?: string | undefined;
  readonly ChecksumCRC32?: string | undefined;
  readonly $metadata: ResponseMetadata;
}

/** What HeadObject and GetObject report about an object. */
export interface ObjectHeaders {
  readonly ContentLength?: number | undefined;
  readonly ContentType?: string | undefined;
  readonly ETag?: string | undefined;
  readonly LastModified?: Date | undefined;
  readonly Metadata?: Record<string, string> | undefined;
  readonly StorageClass?: string | undefined;
  /** `x-amz-restore` */
  readonly Restore?: string | undefined;
  readonly TagCount?: number | undefined;
  readonly ContentRange?: string | undefined;
  readonly $metadata: ResponseMetadata;
}
export type HeadObjectOutput = ObjectHeaders;

export interface GetObjectInput extends ObjectInput {
  readonly Range?: string | undefined;
  readonly IfMatch?: string | undefined;
  readonly IfNoneMatch?: string | undefined;
}
export interface GetObjectOutput extends ObjectHeaders {
  /** The response stream itself: bytes as the socket delivers them. Read it to the end or destroy it. */
  readonly Body: IncomingMessage;
}

export interface GetObjectRangeOutput extends ObjectHeaders {
  /** The body, still arriving: pump it to the end or destroy it. */
  readonly Body: WireBody;
}

export interface DeleteObjectInput extends ObjectInput {
  readonly IfMatch?: string | undefined;
}

export interface ListObjectsV2Input {
  readonly Bucket: string;
  readonly Prefix?: string | undefined;
  readonly Delimiter?: string | undefined;
  readonly MaxKeys?: number | undefined;
  readonly ContinuationToken?: string | undefined;
  readonly StartAfter?: string | undefined;
}
export interface ListedObject {
  readonly Key?: string | undefined;
  readonly LastModified?: Date | undefined;
  readonly ETag?: string | undefined;
  readonly Size?: number | undefined;
  readonly StorageClass?: string | undefined;
}
export interface ListObjectsV2Output {
  readonly Contents?: ListedObject[] | undefined;
  readonly CommonPrefixes?: { readonly Prefix?: string | undefined }[] | undefined;
  readonly IsTruncated?: boolean | undefined;
  readonly NextContinuationToken?: string | undefined;
  readonly KeyCount?: number | undefined;
  readonly $metadata: ResponseMetadata;
}

export interface CreateMultipartUploadInput extends ObjectInput, WriteFields {
  /** URL-encoded `k=v&k=v` tag set. */
  readonly Tagging?: string | undefined;
}
export interface CreateMultipartUploadOutput {
  readonly UploadId?: string | undefined;
  readonly $metadata: ResponseMetadata;
}

export interface UploadPartInput extends ObjectInput {
  readonly UploadId: string;
  readonly PartNumber: number;
  readonly Body: BodyInput;
  readonly ContentLength?: number | undefined;
}
export interface UploadPartOutput {
  readonly ETag?: string | undefined;
  readonly ChecksumCRC32?: string | undefined;
  readonly ChecksumCRC32C?: string | undefined;
  readonly ChecksumCRC64NVME?: string | undefined;
  readonly ChecksumSHA1?: string | undefined;
  readonly ChecksumSHA256?: string | undefined;
  readonly $metadata: ResponseMetadata;
}

export interface CompletedPart {
  PartNumber?: number | undefined;
  ETag?: string | undefined;
  ChecksumCRC32?: string | undefined;
  ChecksumCRC32C?: string | undefined;
  ChecksumCRC64NVME?: string | undefined;
  ChecksumSHA1?: string | undefined;
  ChecksumSHA256?: string | undefined;
}
export interface CompleteMultipartUploadInput extends ObjectInput {
  readonly UploadId: string;
  readonly MultipartUpload: { readonly Parts: readonly CompletedPart[] };
  readonly IfNoneMatch?: string | undefined;
}
export interface CompleteMultipartUploadOutput {
  readonly ETag?: string | undefined;
  readonly $metadata: ResponseMetadata;
}

export interface AbortMultipartUploadInput extends ObjectInput {
  readonly UploadId: string;
}

export interface ListPartsInput extends ObjectInput {
  readonly UploadId: string;
  readonly PartNumberMarker?: string | undefined;
}
export interface ListPartsOutput {
  readonly Parts?: { readonly PartNumber?: number; readonly ETag?: string; readonly Size?: number }[] | undefined;
  readonly IsTruncated?: boolean | undefined;
  readonly NextPartNumberMarker?: string | undefined;
  readonly $metadata: ResponseMetadata;
}

/** Copy-source fields: `CopySource` is `bucket/encoded-key`. */
interface CopySourceFields {
  readonly CopySource: string;
  readonly CopySourceIfMatch?: string | undefined;
}
export interface CopyObjectInput extends ObjectInput, WriteFields, CopySourceFields {
  readonly MetadataDirective?: 'COPY' | 'REPLACE' | undefined;
}
export interface CopyObjectOutput {
  readonly CopyObjectResult?: { readonly ETag?: string | undefined } | undefined;
  readonly $metadata: ResponseMetadata;
}
export interface UploadPartCopyInput extends ObjectInput, CopySourceFields {
  readonly UploadId: string;
  readonly PartNumber: number;
  readonly CopySourceRange?: string | undefined;
}
export interface UploadPartCopyOutput {
  readonly CopyPartResult?: { readonly ETag?: string | undefined } | undefined;
  readonly $metadata: ResponseMetadata;
}

export interface DeleteObjectsInput {
  readonly Bucket: string;
  readonly Delete: { readonly Objects: readonly { readonly Key: string }[]; readonly Quiet?: boolean };
}
export interface DeleteObjectsOutput {
  readonly Deleted?: { readonly Key?: string | undefined }[] | undefined;
  readonly Errors?:
    | { readonly Key?: string | undefined; readonly Code?: string | undefined; readonly Message?: string | undefined }[]
    | undefined;
  readonly $metadata: ResponseMetadata;
}

export interface Tag {
  Key: string | undefined;
  Value: string | undefined;
}
export interface GetObjectTaggingOutput {
  readonly TagSet?: Tag[] | undefined;
  readonly $metadata: ResponseMetadata;
}
export interface PutObjectTaggingInput extends ObjectInput {
  readonly Tagging: { readonly TagSet: readonly Tag[] };
}

export interface EmptyOutput {
  readonly $metadata: ResponseMetadata;
}
