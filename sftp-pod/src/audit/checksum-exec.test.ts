import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryStorage } from '../sftp/testing/memory-storage.ts';
import { createPathJail } from '../storage/jail.ts';
import { answerChecksum, namesChecksumCommand, parseChecksumCommand, splitWords } from './checksum-exec.ts';

describe('checksum exec: parsing (nothing is ever executed)', () => {
  const cases: ReadonlyArray<[string, string, string | undefined]> = [
    // [command line, expected path or refusal fragment, algorithm]
    ['sha256sum /in/a.txt', '/in/a.txt', 'sha256'],
    ['md5sum a.txt', 'a.txt', 'md5'],
    ['md5sum "/dir with space/a.txt"', '/dir with space/a.txt', 'md5'],
    ["md5sum '/it''s/a'", '/its/a', 'md5'],
    ['md5sum /dir\\ with\\ space/a\\(1\\).txt', '/dir with space/a(1).txt', 'md5'],
    ['sha1sum /a', 'sha1sum is not supported', undefined],
    ['cat /etc/passwd', 'only md5sum and sha256sum', undefined],
    ['md5sum /a; rm -rf /', 'unsupported quoting or shell syntax', undefined],
    ['md5sum $(id)', 'unsupported quoting or shell syntax', undefined],
    ['md5sum "`id`"', 'unsupported quoting or shell syntax', undefined],
    ['md5sum /a | sh', 'unsupported quoting or shell syntax', undefined],
    ['md5sum /a /b', 'exactly one file path', undefined],
    ['md5sum -b /a', 'exactly one file path', undefined],
    ['md5sum', 'exactly one file path', undefined],
    ['md5sum "/a', 'unsupported quoting', undefined],
    ['echo $' + '{ShellId}%ComSpec%', 'only md5sum and sha256sum', undefined],
    [`md5sum /${'a'.repeat(5000)}`, 'command line too long', undefined],
  ];
  for (const [line, want, algorithm] of cases) {
    test(JSON.stringify(line.slice(0, 60)), () => {
      const p = parseChecksumCommand(line);
      if (algorithm) {
        assert.ok(p.ok, JSON.stringify(p));
        assert.equal(p.algorithm, algorithm);
        assert.equal(p.path, want);
      } else {
        assert.ok(!p.ok);
        assert.match(p.refusal, new RegExp(want.replace(/[()]/g, '\\$&')));
      }
    });
  }

  test('only checksum command names reach the parser; every other exec is rejected before a channel opens', () => {
    for (const l of ['md5sum x', 'sha256sum', ' sha1sum /a']) assert.ok(namesChecksumCommand(l), l);
    for (const l of ['id', 'sh -c md5sum', 'md5sumx /a', 'constructor', '__proto__ x', '']) {
      assert.ok(!namesChecksumCommand(l), l);
    }
  });

  test('splitWords keeps backslash-escaped quotes inside double quotes', () => {
    assert.deepEqual(splitWords('md5sum "a\\"b"'), ['md5sum', 'a"b']);
  });
});

describe('checksum exec: answers from the stored hash only', () => {
  const jail = createPathJail('srv', {
    home: 'alice',
    permissions: ['list', 'download', 'upload'],
    directoryPermissions: [{ path: '/hidden', permissions: ['list'] }],
  });
  const storage = new MemoryStorage();
  const put = async (key: string, body: string) => {
    const sink = await storage.openWrite(key, { overwrite: true, user: 'alice', sessionId: 's' });
    await sink.write(0, Buffer.from(body));
    await sink.commit();
  };

  test('sha256sum: coreutils format, exit 0; md5 refused when not computed', async () => {
    await put('srv/alice/in/a.txt', 'hello\n');
    const a = await answerChecksum('sha256sum in/a.txt', jail, storage);
    assert.deepEqual(
      [a.exitCode, a.stdout, a.stderr, a.status],
      [0, '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  in/a.txt\n', '', 'ok'],
    );
    assert.equal(a.path?.key, 'srv/alice/in/a.txt');
    const m = await answerChecksum('md5sum /in/a.txt', jail, storage);
    assert.equal(m.exitCode, 1);
    assert.match(m.stderr, /--upload-md5/);
  });

  test('no stored hash: refused, never computed by reading the object', async () => {
    storage.objects.set('srv/alice/legacy', { data: Buffer.from('x'), mtimeMs: 0, atimeMs: 0, metadata: {} });
    const a = await answerChecksum('sha256sum /legacy', jail, storage);
    assert.equal(a.exitCode, 1);
    assert.match(a.stderr, /no checksum was stored/);
  });

  test('outside the jail, missing files and paths without the right permission', async () => {
    await put('srv/bob/secret', 'bob');
    const outside = await answerChecksum('sha256sum ../bob/secret', jail, storage);
    // `..` cannot leave the user's root: it resolves to /bob/secret inside alice's home, which does not exist.
    assert.equal(outside.path?.key, 'srv/alice/bob/secret');
    assert.equal(outside.status, 'no_such_file');
    await put('srv/alice/hidden/f', 'x');
    const denied = await answerChecksum('sha256sum /hidden/f', jail, storage);
    assert.equal(denied.status, 'permission_denied');
    assert.equal(denied.stdout, '');
  });

  test('anything else: refused with exit status 1 and nothing on stdout', async () => {
    for (const line of ['sh -c id', 'sha1sum /in/a.txt', 'md5sum /in/a.txt && id']) {
      const a = await answerChecksum(line, jail, storage);
      assert.deepEqual([a.exitCode, a.stdout], [1, ''], line);
      assert.notEqual(a.stderr, '');
    }
  });
});
