import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalQuery, uriEncode, uriEncodePath } from './uri.ts';

describe('URI encoding of hostile keys', () => {
  const cases: [string, string, string][] = [
    ['space', 'a b', 'a%20b'],
    ['plus', 'a+b', 'a%2Bb'],
    ['percent', '100%', '100%25'],
    ['question mark and hash', 'a?b#c', 'a%3Fb%23c'],
    ['double slash kept', 'a//b', 'a//b'],
    ['dot segments kept', '../x/./y', '../x/./y'],
    ['unicode as UTF-8', 'ü/日本', '%C3%BC/%E6%97%A5%E6%9C%AC'],
    ['RFC 3986 reserved', "!'()*", '%21%27%28%29%2A'],
    ['unreserved untouched', 'A-z_0.9~', 'A-z_0.9~'],
    ['equals and ampersand', 'a=b&c', 'a%3Db%26c'],
  ];
  for (const [name, key, want] of cases) it(name, () => assert.equal(uriEncodePath(key), want));

  it('encodes a slash in a query value', () => assert.equal(uriEncode('a/b'), 'a%2Fb'));

  it('sorts the canonical query by name and keeps empty values', () => {
    assert.equal(
      canonicalQuery({ uploads: '', prefix: 'a b/', 'list-type': '2', gone: undefined }),
      'list-type=2&prefix=a%20b%2F&uploads=',
    );
  });
});
