import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { OpenFlags, PacketType, Status } from './constants.ts';
import { CHECK_FILE_ALGORITHMS, chooseDigest } from './handlers-check-file.ts';
import { ANNOUNCED_EXTENSIONS } from './replies.ts';
import { TestSftpClient } from './testing/client.ts';
import { startSession } from './testing/start-session.ts';

/** The hash bytes: the rest of the reply. */
function rest(r: { remaining: number; u8(): number }): Buffer {
  return Buffer.from(Array.from({ length: r.remaining }, () => r.u8()));
}

const digests = { sha256: 'a'.repeat(64), md5: 'b'.repeat(32) };
const whole = { offset: 0, length: 0, blockSize: 0 };

describe('check-file: which stored digest answers', () => {
  const cases: [string, Parameters<typeof chooseDigest>, string][] = [
    ['sha256', [{ ...whole, algorithms: ['sha256'] }, digests, undefined], 'sha256'],
    ['first supported of the list', [{ ...whole, algorithms: ['sha1', 'md5', 'sha256'] }, digests, undefined], 'md5'],
    [
      'md5 not computed: next in list',
      [{ ...whole, algorithms: ['md5', 'sha256'] }, { sha256: 'a' }, undefined],
      'sha256',
    ],
    ['length equal to the size', [{ ...whole, length: 10, algorithms: ['sha256'] }, digests, 10], 'sha256'],
    ['block size over the size', [{ ...whole, blockSize: 4096, algorithms: ['sha256'] }, digests, 10], 'sha256'],
    ['an offset', [{ ...whole, offset: 1, algorithms: ['sha256'] }, digests, 10], 'only whole-file hashes'],
    ['a range', [{ ...whole, length: 5, algorithms: ['sha256'] }, digests, 10], 'only whole-file hashes'],
    ['blocks', [{ ...whole, blockSize: 4, algorithms: ['sha256'] }, digests, 10], 'only whole-file hashes'],
    [
      'length without a known size',
      [{ ...whole, length: 5, algorithms: ['sha256'] }, digests, undefined],
      'only whole',
    ],
    [
      'unknown algorithms',
      [{ ...whole, algorithms: ['sha1', 'crc32'] }, digests, undefined],
      'supported hash algorithms are sha256, md5',
    ],
    ['no stored digest', [{ ...whole, algorithms: ['sha256'] }, undefined, undefined], 'no checksum was stored'],
    [
      'md5 only, not computed',
      [{ ...whole, algorithms: ['md5'] }, { sha256: 'a' }, undefined],
      'only with --upload-md5',
    ],
  ];
  for (const [name, args, want] of cases) {
    test(name, () => {
      const got = chooseDigest(...args);
      if ('refusal' in got) assert.match(got.refusal, new RegExp(want.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')));
      else assert.equal(got.algorithm, want);
    });
  }

  test('the VERSION packet announces exactly the answered algorithms', () => {
    assert.deepEqual(
      ANNOUNCED_EXTENSIONS.find(([n]) => n === 'check-file'),
      ['check-file', CHECK_FILE_ALGORITHMS.join(',')],
    );
  });
});

describe('check-file over a session', () => {
  test('check-file-name and check-file-handle answer the stored SHA-256; refusals are OP_UNSUPPORTED', async () => {
    const { client, session } = startSession();
    const ext = await client.init();
    assert.equal(ext.get('check-file'), 'sha256,md5');
    const data = randomBytes(50_000);
    const h = await client.open('/f.bin', OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.TRUNC);
    assert.ok(Buffer.isBuffer(h));
    await client.write(h, 0, data);
    assert.equal((await client.close(h)).code, Status.OK);
    const want = createHash('sha256').update(data).digest();

    const byName = await client.request(PacketType.EXTENDED, (w) =>
      w.string('check-file-name').string('/f.bin').string('md5,sha256').u64(0).u64(0).u32(0),
    );
    assert.equal(byName.type, PacketType.EXTENDED_REPLY);
    assert.deepEqual([byName.body.string(), byName.body.string()], ['check-file', 'sha256']);
    assert.deepEqual(rest(byName.body), want);

    const rh = await client.open('/f.bin', OpenFlags.READ);
    assert.ok(Buffer.isBuffer(rh));
    const byHandle = await client.request(PacketType.EXTENDED, (w) =>
      w.string('check-file-handle').bytes(rh).string('sha256').u64(0).u64(data.length).u32(0),
    );
    assert.equal(byHandle.type, PacketType.EXTENDED_REPLY);
    assert.deepEqual([byHandle.body.string(), byHandle.body.string()], ['check-file', 'sha256']);
    assert.deepEqual(rest(byHandle.body), want);

    const refusals: [string, (w: import('./codec.ts').Writer) => unknown, number, RegExp][] = [
      [
        'range',
        (w) => w.string('check-file-handle').bytes(rh).string('sha256').u64(10).u64(0).u32(0),
        Status.OP_UNSUPPORTED,
        /whole-file/,
      ],
      [
        'sha1',
        (w) => w.string('check-file-name').string('/f.bin').string('sha1').u64(0).u64(0).u32(0),
        Status.OP_UNSUPPORTED,
        /sha256, md5/,
      ],
      [
        'md5 not computed',
        (w) => w.string('check-file-name').string('/f.bin').string('md5').u64(0).u64(0).u32(0),
        Status.OP_UNSUPPORTED,
        /--upload-md5/,
      ],
      [
        'missing',
        (w) => w.string('check-file-name').string('/nope').string('sha256').u64(0).u64(0).u32(0),
        Status.NO_SUCH_FILE,
        /no such file/,
      ],
      [
        'a write handle',
        (w) => w.string('check-file-handle').bytes(h).string('sha256').u64(0).u64(0).u32(0),
        Status.FAILURE,
        /handle/,
      ],
    ];
    for (const [name, build, code, message] of refusals) {
      const r = TestSftpClient.status(await client.request(PacketType.EXTENDED, build));
      assert.equal(r.code, code, `${name}: ${r.message}`);
      assert.match(r.message, message, name);
    }
    client.end();
    await session.done;
  });

  test('check-file-name needs download at the path', async () => {
    const { client, session } = startSession({ permissions: ['list', 'upload'] });
    await client.init();
    const r = TestSftpClient.status(
      await client.request(PacketType.EXTENDED, (w) =>
        w.string('check-file-name').string('/f.bin').string('sha256').u64(0).u64(0).u32(0),
      ),
    );
    assert.equal(r.code, Status.PERMISSION_DENIED);
    client.end();
    await session.done;
  });
});
