import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig } from '../config.ts';
import { escapeName, unsafeNameRefusal } from './names.ts';

const oneLine = (s: string) =>
  [...s].every((ch) => {
    const c = ch.codePointAt(0) ?? 0;
    return c >= 0x20 && (c < 0x7f || c > 0x9f) && c !== 0x2028 && c !== 0x2029;
  });

describe('name rule', () => {
  const cases: { name: string; path: string; refused?: RegExp }[] = [
    { name: 'plain', path: '/a/b.txt' },
    { name: 'unicode and spaces', path: '/ü 日本/file (1).txt' },
    { name: 'percent and quotes', path: '/100%/it\'s "q"' },
    { name: 'newline', path: '/a\nb', refused: /\\n/ },
    { name: 'carriage return', path: '/a\rb', refused: /\\r/ },
    { name: 'tab', path: '/a\tb', refused: /\\t/ },
    { name: 'escape', path: '/a\x1b[31mb', refused: /\\x1b/ },
    { name: 'DEL', path: '/a\x7fb', refused: /\\x7f/ },
    { name: 'C1 NEL', path: '/a\u0085b', refused: /\\x85/ },
    { name: 'line separator', path: '/a\u2028b', refused: /\\u2028/ },
    { name: 'backslash', path: '/a\\b', refused: /backslash/ },
    { name: 'in a directory segment', path: '/bad\ndir/ok', refused: /control character/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const refusal = unsafeNameRefusal(c.path);
      if (c.refused) {
        assert.match(refusal ?? 'allowed', c.refused);
        assert.ok(oneLine(refusal ?? ''), 'the message itself is one safe line');
      } else assert.equal(refusal, undefined);
    });
  }

  test('escapeName makes one line and keeps safe names unchanged', () => {
    assert.equal(escapeName('plain name.txt'), 'plain name.txt');
    assert.equal(escapeName('a\nb\\c\td\x00e\u2029'), 'a\\nb\\\\c\\td\\x00e\\u2029');
  });
});

describe('--unsafe-names', () => {
  const required = ['--s3-bucket=b', '--users-file=/u.yaml'];
  test('defaults to Refuse; Allow and the environment variable switch it; anything else is a config error', () => {
    assert.equal(parseConfig(required, {}).unsafeNames, 'Refuse');
    assert.equal(parseConfig([...required, '--unsafe-names=Allow'], {}).unsafeNames, 'Allow');
    assert.equal(parseConfig(required, { SFTPGATE_UNSAFE_NAMES: 'Allow' }).unsafeNames, 'Allow');
    assert.throws(() => parseConfig([...required, '--unsafe-names=yes'], {}), ConfigError);
  });
});
