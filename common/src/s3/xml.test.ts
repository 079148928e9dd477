import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { completeBody, deleteBody, listObjectsV2, listParts, taggingBody, tagSet } from './responses.ts';
import { children, escapeXml, parseXml, text, XmlError } from './xml.ts';

const M = { httpStatusCode: 200 };

describe('XML', () => {
  it('parses a ListObjectsV2 result with entities, unicode and prefixes', () => {
    const doc = parseXml(`<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>a b/</Prefix>
<KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>
<NextContinuationToken>tok+/=</NextContinuationToken>
<Contents><Key>a b/x&amp;y&lt;z&gt;&quot;&apos;&#x1F600;&#233;.txt</Key><LastModified>2026-01-02T03:04:05.000Z</LastModified>
<ETag>&quot;abc&quot;</ETag><Size>12</Size><StorageClass>GLACIER</StorageClass></Contents>
<CommonPrefixes><Prefix>a b/ü/</Prefix></CommonPrefixes></ListBucketResult>`);
    const out = listObjectsV2(doc, M);
    assert.deepEqual(out.Contents, [
      {
        Key: 'a b/x&y<z>"\'😀é.txt',
        LastModified: new Date('2026-01-02T03:04:05.000Z'),
        ETag: '"abc"',
        Size: 12,
        StorageClass: 'GLACIER',
      },
    ]);
    assert.deepEqual(out.CommonPrefixes, [{ Prefix: 'a b/ü/' }]);
    assert.equal(out.IsTruncated, true);
    assert.equal(out.NextContinuationToken, 'tok+/=');
  });

  it('parses an empty listing and self-closing elements', () => {
    const out = listObjectsV2(
      parseXml('<ListBucketResult><Name>b</Name><Prefix/><IsTruncated>false</IsTruncated></ListBucketResult>'),
      M,
    );
    assert.deepEqual(out.Contents, []);
    assert.equal(out.IsTruncated, false);
  });

  it('parses ListParts and tag sets', () => {
    const parts = listParts(
      parseXml(
        '<ListPartsResult><Part><PartNumber>1</PartNumber><ETag>"e"</ETag><Size>5</Size></Part><IsTruncated>true</IsTruncated><NextPartNumberMarker>1</NextPartNumberMarker></ListPartsResult>',
      ),
      M,
    );
    assert.deepEqual(parts.Parts, [{ PartNumber: 1, ETag: '"e"', Size: 5 }]);
    assert.equal(parts.NextPartNumberMarker, '1');
    assert.deepEqual(tagSet(parseXml('<Tagging><TagSet><Tag><Key>k</Key><Value></Value></Tag></TagSet></Tagging>')), [
      { Key: 'k', Value: '' },
    ]);
  });

  it('keeps CDATA and whitespace inside text', () => {
    const doc = parseXml('<a><b>  x </b><c><![CDATA[<raw>&amp;]]></c></a>');
    assert.equal(text(doc, 'b'), '  x ');
    assert.equal(text(doc, 'c'), '<raw>&amp;');
    assert.equal(children(doc, 'b').length, 1);
  });

  it('refuses unbalanced or empty documents', () => {
    assert.throws(() => parseXml('<a><b></a>'), XmlError);
    assert.throws(() => parseXml('<a>'), XmlError);
    assert.throws(() => parseXml(''), XmlError);
  });

  it('escapes what a user chose (keys, tag values) in request bodies, and the parser reads it back', () => {
    const hostile = `a&b<c>d"e'f\r\ng\t</Key><Key>evil`;
    assert.equal(escapeXml('&<>"\''), '&amp;&lt;&gt;&quot;&apos;');
    const del = parseXml(deleteBody([{ Key: hostile }], true));
    assert.equal(children(del, 'Object').length, 1, 'no injected element');
    assert.equal(text(children(del, 'Object')[0], 'Key'), hostile);
    const tags = tagSet(parseXml(taggingBody([{ Key: hostile, Value: hostile }])));
    assert.deepEqual(tags, [{ Key: hostile, Value: hostile }]);
  });

  it('writes CompleteMultipartUpload parts with ETags and checksums', () => {
    const xml = completeBody([
      { PartNumber: 1, ETag: '"a"', ChecksumCRC32: 'AAAA==' },
      { PartNumber: 2, ETag: '"b"' },
    ]);
    const parts = children(parseXml(xml), 'Part');
    assert.deepEqual(
      parts.map((p) => [text(p, 'PartNumber'), text(p, 'ETag'), text(p, 'ChecksumCRC32')]),
      [
        ['1', '"a"', 'AAAA=='],
        ['2', '"b"', undefined],
      ],
    );
  });
});
