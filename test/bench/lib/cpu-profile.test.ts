import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { areaOf, summariseProfile } from './cpu-profile.ts';

test('areas: packages, SDK families, our source dirs, node internals, V8 pseudo-frames', () => {
  assert.equal(areaOf('file:///w/node_modules/ssh2/lib/protocol/Protocol.js', 'onPayload'), 'ssh2');
  assert.equal(areaOf('file:///w/node_modules/@smithy/core/dist-cjs/index.js', 'x'), '@aws-sdk + @smithy');
  assert.equal(areaOf('file:///w/node_modules/@aws-sdk/client-s3/dist-cjs/index.js', 'x'), '@aws-sdk + @smithy');
  assert.equal(areaOf('file:///w/sftp-pod/src/sftp/codec.ts', 'decode'), 'sftp-pod/src/sftp');
  assert.equal(areaOf('node:internal/streams/readable', 'push'), 'node:internal');
  assert.equal(areaOf('', '(garbage collector)'), '(garbage collector)');
  assert.equal(areaOf('', 'nativeThing'), '(native)');
});

test('self time per area and function; idle is not CPU', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sftpgate-cpuprofile-test-'));
  try {
    const path = join(dir, 'p.cpuprofile');
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9 });
    writeFileSync(
      path,
      JSON.stringify({
        nodes: [
          { id: 1, callFrame: frame('(idle)', '') },
          { id: 2, callFrame: frame('decrypt', 'file:///w/node_modules/ssh2/lib/protocol/crypto.js') },
          { id: 3, callFrame: frame('decode', 'file:///w/sftp-pod/src/sftp/codec.ts') },
        ],
        // Sample i lasts timeDeltas[i + 1] µs.
        samples: [2, 2, 3, 1],
        timeDeltas: [0, 3000, 1000, 5000, 7000],
      }),
    );
    const s = summariseProfile(path);
    assert.equal(s.totalSeconds, 0.009);
    assert.deepEqual(
      s.areas.map((a) => [a.what, a.seconds]),
      [
        ['sftp-pod/src/sftp', 0.005],
        ['ssh2', 0.004],
      ],
    );
    assert.equal(s.functions[1]?.what, 'decrypt node_modules/ssh2/lib/protocol/crypto.js:10');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
