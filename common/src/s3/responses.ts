// Outputs from S3's answers: the object headers of HeadObject/GetObject and the XML results of the other calls.

import type { IncomingHttpHeaders } from 'node:http';
import type {
  CompletedPart,
  ListObjectsV2Output,
  ListPartsOutput,
  ObjectHeaders,
  ResponseMetadata,
  Tag,
} from './types.ts';
import { child, children, escapeXml, text, type XmlNode } from './xml.ts';

const META_PREFIX = 'x-amz-meta-';

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function int(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

function date(v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function metadataOf(status: number, h: IncomingHttpHeaders): ResponseMetadata {
  return { httpStatusCode: status, requestId: header(h, 'x-amz-request-id') };
}

/** HeadObject/GetObject: length, type, ETag, times, user metadata (lower-case names), class, restore, tag count. */
export function objectHeaders(status: number, h: IncomingHttpHeaders): ObjectHeaders {
  let metadata: Record<string, string> | undefined;
  for (const [name, value] of Object.entries(h)) {
    if (!name.startsWith(META_PREFIX) || value === undefined) continue;
    metadata ??= {};
    metadata[name.slice(META_PREFIX.length)] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    ContentLength: int(header(h, 'content-length')),
    ContentType: header(h, 'content-type'),
    ETag: header(h, 'etag'),
    LastModified: date(header(h, 'last-modified')),
    Metadata: metadata ?? {},
    StorageClass: header(h, 'x-amz-storage-class'),
    Restore: header(h, 'x-amz-restore'),
    TagCount: int(header(h, 'x-amz-tagging-count')),
    ContentRange: header(h, 'content-range'),
    $metadata: metadataOf(status, h),
  };
}

export function checksumHeaders(h: IncomingHttpHeaders): Omit<CompletedPart, 'PartNumber' | 'ETag'> {
  const out: Omit<CompletedPart, 'PartNumber' | 'ETag'> = {};
  const put = (k: keyof typeof out, name: string) => {
    const v = header(h, name);
    if (v !== undefined) out[k] = v;
  };
  put('ChecksumCRC32', 'x-amz-checksum-crc32');
  put('ChecksumCRC32C', 'x-amz-checksum-crc32c');
  put('ChecksumCRC64NVME', 'x-amz-checksum-crc64nvme');
  put('ChecksumSHA1', 'x-amz-checksum-sha1');
  put('ChecksumSHA256', 'x-amz-checksum-sha256');
  return out;
}

export function listObjectsV2(doc: XmlNode, $metadata: ResponseMetadata): ListObjectsV2Output {
  return {
    Contents: children(doc, 'Contents').map((c) => ({
      Key: text(c, 'Key'),
      LastModified: date(text(c, 'LastModified')),
      ETag: text(c, 'ETag'),
      Size: int(text(c, 'Size')),
      StorageClass: text(c, 'StorageClass'),
    })),
    CommonPrefixes: children(doc, 'CommonPrefixes').map((p) => ({ Prefix: text(p, 'Prefix') })),
    IsTruncated: text(doc, 'IsTruncated') === 'true',
    NextContinuationToken: text(doc, 'NextContinuationToken'),
    KeyCount: int(text(doc, 'KeyCount')),
    $metadata,
  };
}

export function listParts(doc: XmlNode, $metadata: ResponseMetadata): ListPartsOutput {
  return {
    Parts: children(doc, 'Part').map((p) => {
      const n = int(text(p, 'PartNumber'));
      const etag = text(p, 'ETag');
      const size = int(text(p, 'Size'));
      return {
        ...(n === undefined ? {} : { PartNumber: n }),
        ...(etag === undefined ? {} : { ETag: etag }),
        ...(size === undefined ? {} : { Size: size }),
      };
    }),
    IsTruncated: text(doc, 'IsTruncated') === 'true',
    NextPartNumberMarker: text(doc, 'NextPartNumberMarker'),
    $metadata,
  };
}

export function tagSet(doc: XmlNode): Tag[] {
  return children(child(doc, 'TagSet'), 'Tag').map((t) => ({ Key: text(t, 'Key'), Value: text(t, 'Value') }));
}

const XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const CHECKSUMS = ['ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1', 'ChecksumSHA256'] as const;

/** CompleteMultipartUpload's body: parts in the order given, with the checksums UploadPart returned. */
export function completeBody(parts: readonly CompletedPart[]): string {
  let xml = `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload ${XMLNS}>`;
  for (const p of parts) {
    xml += '<Part>';
    if (p.ETag !== undefined) xml += `<ETag>${escapeXml(p.ETag)}</ETag>`;
    for (const c of CHECKSUMS) {
      const v = p[c];
      if (v !== undefined) xml += `<${c}>${escapeXml(v)}</${c}>`;
    }
    if (p.PartNumber !== undefined) xml += `<PartNumber>${p.PartNumber}</PartNumber>`;
    xml += '</Part>';
  }
  return `${xml}</CompleteMultipartUpload>`;
}

export function deleteBody(keys: readonly { readonly Key: string }[], quiet: boolean): string {
  let xml = `<?xml version="1.0" encoding="UTF-8"?><Delete ${XMLNS}>`;
  for (const k of keys) xml += `<Object><Key>${escapeXml(k.Key)}</Key></Object>`;
  return `${xml}<Quiet>${quiet}</Quiet></Delete>`;
}

export function taggingBody(tags: readonly Tag[]): string {
  let xml = `<?xml version="1.0" encoding="UTF-8"?><Tagging ${XMLNS}><TagSet>`;
  for (const t of tags)
    xml += `<Tag><Key>${escapeXml(t.Key ?? '')}</Key><Value>${escapeXml(t.Value ?? '')}</Value></Tag>`;
  return `${xml}</TagSet></Tagging>`;
}
