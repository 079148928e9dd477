import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { parseUnifiedDiff, patchText, unpatchedText } from '../../../patches/apply.ts';
import { assertSsh2Patched, SSH2_PINNED_VERSION, ssh2NativeCrypto, ssh2Patched } from './ssh2-patch.ts';

const root = new URL('../../../', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const patchFile = join(root, `patches/ssh2@${SSH2_PINNED_VERSION}.patch`);
/** sha256 of lib/protocol/crypto.js in the npm tarball of ssh2 1.17.0. */
const PRISTINE_CRYPTO_SHA256 = 'a729d2064e787e2a4589c25a284444fe54a58b7434a4e6e5e8e9c73c6d91e28e';
/** sha256 of lib/protocol/crypto/src/binding.cc in the same tarball. */
const PRISTINE_BINDING_SHA256 = '2b976ce86c43b0d2bda5ae104b0fb075b1ad8ecda65c6a0a7979be040475f88c';
/** sha256 of the other files the patch touches, in the same tarball. */
const PRISTINE_SHA256: Readonly<Record<string, string>> = {
  'lib/Channel.js': '53e92988a025009b192b72be110bd240b5653f88dbdec93e515e3e401e7f94aa',
  'lib/protocol/Protocol.js': 'c1104b49087de7a91cd3ffaac8807c05eebf49f61effd084d0b0caf29fde6af4',
};

interface Cipher {
  allocPacket(payloadLen: number): Buffer;
  encrypt(packet: Buffer): void;
}
interface Decipher {
  decrypt(data: Buffer, p: number, len: number): unknown;
}
interface Ssh2Crypto {
  CIPHER_INFO: Record<string, { keyLen: number; ivLen: number }>;
  MAC_INFO: Record<string, { len: number }>;
  init: Promise<void>;
  createCipher(config: unknown): Cipher;
  createDecipher(config: unknown): Decipher;
}

describe('patches/ssh2@1.17.0.patch', () => {
  it('is for the ssh2 version package.json pins', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    assert.equal(pkg.dependencies['ssh2'], SSH2_PINNED_VERSION);
  });

  it('is applied to the installed ssh2, and reverting it gives the pristine npm file back', () => {
    assert.doesNotThrow(() => assertSsh2Patched());
    const installed = readFileSync(require.resolve('ssh2/lib/protocol/crypto.js'), 'utf8');
    assert.ok(installed.includes('sftpgate-ssh2-patch'));
    const [file, binding] = parseUnifiedDiff(readFileSync(patchFile, 'utf8'));
    assert.equal(file?.path, 'lib/protocol/crypto.js');
    // The binding's source: only what Node 26's V8 removed (Context::GetIsolate) changes.
    assert.equal(binding?.path, 'lib/protocol/crypto/src/binding.cc');
    const installedBinding = readFileSync(require.resolve('ssh2/lib/protocol/crypto/src/binding.cc'), 'utf8');
    const pristineBinding = unpatchedText(installedBinding, binding.hunks);
    assert.ok(pristineBinding !== undefined, 'the installed binding.cc is not exactly the patched one');
    assert.equal(createHash('sha256').update(pristineBinding).digest('hex'), PRISTINE_BINDING_SHA256);
    assert.ok(!installedBinding.includes('context->GetIsolate()'));
    const pristine = unpatchedText(installed, file.hunks);
    assert.ok(pristine !== undefined, 'the installed file is not exactly the patched one');
    assert.equal(createHash('sha256').update(pristine).digest('hex'), PRISTINE_CRYPTO_SHA256);
    // Applying is idempotent: pristine -> patched, patched -> unchanged, anything else refused.
    assert.deepEqual(patchText(pristine, file.hunks), { state: 'applied', text: installed });
    assert.deepEqual(patchText(installed, file.hunks), { state: 'already', text: installed });
    // A file differing inside the patch's context (another version, a local edit) is refused, not fuzzed.
    const other = pristine.replace('const MAX_PACKET_SIZE = 35000;', 'const MAX_PACKET_SIZE = 36000;');
    assert.ok(patchText(other, file.hunks) === undefined);
    // The channel hunks (DATA packed into full packets): exactly these files, each back to the tarball's bytes.
    const rest = parseUnifiedDiff(readFileSync(patchFile, 'utf8')).slice(2);
    assert.deepEqual(
      rest.map((f) => f.path),
      Object.keys(PRISTINE_SHA256),
    );
    for (const f of rest) {
      const text = readFileSync(require.resolve(`ssh2/${f.path}`), 'utf8');
      assert.ok(text.includes('sftpgate-ssh2-patch'), f.path);
      const original = unpatchedText(text, f.hunks);
      assert.ok(original !== undefined, `the installed ${f.path} is not exactly the patched one`);
      assert.equal(createHash('sha256').update(original).digest('hex'), PRISTINE_SHA256[f.path], f.path);
    }
  });

  it('a list of buffers is sent as one CHANNEL_DATA packet with the same bytes as their concatenation', () => {
    const Protocol = require('ssh2/lib/protocol/Protocol.js') as {
      prototype: { channelData(this: unknown, chan: number, data: Buffer | Buffer[]): void };
    };
    const sent: Buffer[] = [];
    // Just what channelData touches: packet allocation and the (here recording) cipher.
    const proto = {
      _packetRW: { write: { allocStart: 0, alloc: (n: number) => Buffer.alloc(n), finalize: (p: Buffer) => p } },
      _kexinit: undefined,
      _cipher: { encrypt: (p: Buffer) => void sent.push(Buffer.from(p)) },
    };
    const parts = [randomBytes(13), Buffer.alloc(0), randomBytes(32755)];
    Protocol.prototype.channelData.call(proto, 7, parts);
    Protocol.prototype.channelData.call(proto, 7, Buffer.concat(parts));
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[0], sent[1]);
  });

  it('a corked channel packs its writes into full packets, and a full window keeps the rest until it opens', () => {
    const { Channel } = require('ssh2/lib/Channel.js') as {
      Channel: new (
        client: unknown,
        info: unknown,
        opts: unknown,
      ) => import('node:stream').Duplex & {
        outgoing: { window: number };
        _chunk: unknown;
        _chunkcb: unknown;
        _waitWindow: boolean;
        _write(data: unknown, encoding: null, cb: unknown): void;
      };
    };
    const packets: Buffer[] = [];
    const client = {
      _protocol: {
        channelData: (_id: number, data: Buffer | Buffer[]) =>
          void packets.push(Buffer.concat(Array.isArray(data) ? data : [data])),
      },
    };
    const outgoing = { id: 1, window: 100_000, packetSize: 32768, state: 'open' };
    const channel = new Channel(
      client,
      { type: 'session', incoming: { id: 0, window: 0, state: 'open' }, outgoing },
      {
        server: true,
      },
    );
    const header = randomBytes(13);
    const payload = randomBytes(261120);
    let written = false;
    channel.cork();
    channel.write(header);
    channel.write(payload, () => {
      written = true;
    });
    channel.uncork();
    // 100,000 bytes of window: three full packets and a fourth up to the window's end; the rest waits.
    assert.deepEqual(
      packets.map((p) => p.length),
      [32768, 32768, 32768, 100_000 - 3 * 32768],
    );
    assert.equal(channel._waitWindow, true);
    assert.equal(outgoing.window, 0);
    // What ssh2's server does on a window adjust: hand the rest to _write again.
    outgoing.window = 1 << 20;
    channel._waitWindow = false;
    channel._write(channel._chunk, null, channel._chunkcb);
    assert.ok(packets.every((p) => p.length <= 32768));
    assert.equal(packets.length, Math.ceil((13 + 261120) / 32768) + 1);
    assert.deepEqual(Buffer.concat(packets), Buffer.concat([header, payload]));
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => assert.equal(written, true));
  });

  it('the native crypto binding is built and loaded (make deps: patches/build-ssh2-binding.ts)', () => {
    assert.equal(ssh2NativeCrypto(), true);
    assert.equal(assertSsh2Patched().nativeCrypto, true);
  });

  it('the startup check sees the patch and the binding in the running ssh2, and their absence in a stock copy', () => {
    assert.equal(ssh2Patched(), true);
    // A stock Channel (no `_writev`) fails the check even with the patched ciphers.
    assert.equal(ssh2Patched(undefined, { Channel: { prototype: {} } }), false);
    const [file] = parseUnifiedDiff(readFileSync(patchFile, 'utf8'));
    assert.ok(file);
    // Inside node_modules, so the copy's own dependencies (asn1 ...) still resolve.
    mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
    const dir = mkdtempSync(join(root, 'node_modules/.cache/ssh2-stock-'));
    try {
      const protocol = dirname(require.resolve('ssh2/lib/protocol/crypto.js'));
      cpSync(protocol, join(dir, 'protocol'), { recursive: true });
      const pristine = unpatchedText(readFileSync(join(protocol, 'crypto.js'), 'utf8'), file.hunks);
      assert.ok(pristine !== undefined);
      writeFileSync(join(dir, 'protocol/crypto.js'), pristine);
      // Without the compiled binding (an image built with no compiler) ssh2 falls back and the check says so.
      rmSync(join(dir, 'protocol/crypto/build'), { recursive: true, force: true });
      const stock = require(join(dir, 'protocol/crypto.js')) as Parameters<typeof ssh2Patched>[0];
      assert.equal(ssh2Patched(stock), false);
      assert.equal(ssh2NativeCrypto(stock), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const suites: [cipher: string, mac?: string][] = [
    ['aes128-gcm@openssh.com'],
    ['aes256-gcm@openssh.com'],
    ['chacha20-poly1305@openssh.com'],
    ['aes128-ctr', 'hmac-sha2-256-etm@openssh.com'],
    ['aes256-ctr', 'hmac-sha2-512'],
  ];
  it("the binding ciphers' packet pool: a buffer is reused only after it was given back, and only once", () => {
    const crypto = require('ssh2/lib/protocol/crypto.js') as Ssh2Crypto & {
      isPooledPacket(p: Uint8Array): boolean;
      releasePacket(p: Uint8Array): boolean;
    };
    const info = crypto.CIPHER_INFO['aes128-gcm@openssh.com'];
    assert.ok(info);
    const cipher = crypto.createCipher({
      outbound: {
        onWrite: () => {},
        cipherInfo: info,
        cipherKey: randomBytes(info.keyLen),
        cipherIV: randomBytes(info.ivLen),
        seqno: 0,
      },
    });
    const a = cipher.allocPacket(32768);
    const b = cipher.allocPacket(32768);
    assert.notEqual(a.buffer, b.buffer, 'two packets held at once never share memory');
    assert.equal(crypto.isPooledPacket(a), true);
    assert.equal(crypto.releasePacket(a), true);
    assert.equal(crypto.releasePacket(a), false, 'a second release is refused');
    const c = cipher.allocPacket(20000);
    assert.equal(c.buffer, a.buffer, 'the released buffer is reused');
    const d = cipher.allocPacket(32768);
    assert.notEqual(d.buffer, a.buffer, 'given out once, not twice');
    // Small packets (status replies, window adjusts) come from Node's own small-buffer pool as before.
    const small = cipher.allocPacket(40);
    assert.equal(crypto.isPooledPacket(small), false);
    assert.equal(crypto.releasePacket(small), false);
    for (const p of [b, c, d]) crypto.releasePacket(p);
  });

  // Node-crypto (patched) and native-binding ends, each way: the wire format is the same whoever encrypts.
  const ends: [encrypt: 'node' | 'binding', decrypt: 'node' | 'binding'][] = [
    ['node', 'node'],
    ['node', 'binding'],
    ['binding', 'node'],
    ['binding', 'binding'],
  ];
  for (const [name, macName] of suites)
    for (const [enc, dec] of ends) {
      it(`${name}${macName ? ` + ${macName}` : ''}, ${enc} -> ${dec}: packets decrypt intact, padding differs per packet`, async () => {
        const crypto = require('ssh2/lib/protocol/crypto.js') as Ssh2Crypto;
        await crypto.init;
        const info = crypto.CIPHER_INFO[name];
        assert.ok(info);
        const key = randomBytes(info.keyLen);
        const iv = randomBytes(info.ivLen);
        const macInfo = macName ? crypto.MAC_INFO[macName] : undefined;
        const macKey = randomBytes(macInfo?.len ?? 0);
        const wire: Buffer[] = [];
        const cipher = crypto.createCipher({
          outbound: {
            onWrite: (b: Buffer) => wire.push(b),
            cipherInfo: info,
            cipherKey: key,
            cipherIV: Buffer.from(iv),
            ...(macInfo ? { macInfo, macKey } : {}),
            seqno: 0,
            forceNative: enc === 'node',
          },
        });
        /** A fresh receiving end (sequence number 0) collecting what it delivers. */
        const receiver = (received: Buffer[]) =>
          crypto.createDecipher({
            inbound: {
              onPayload: (p: Buffer) => void received.push(Buffer.from(p)),
              decipherInfo: info,
              decipherKey: key,
              decipherIV: Buffer.from(iv),
              ...(macInfo ? { macInfo, macKey } : {}),
              seqno: 0,
              forceNative: dec === 'node',
            },
          });
        const received: Buffer[] = [];
        const decipher = receiver(received);
        const payloads = [randomBytes(32768), randomBytes(13), randomBytes(1000), randomBytes(32768), randomBytes(1)];
        const paddings: string[] = [];
        const seal = (payload: Buffer) => {
          const packet = cipher.allocPacket(payload.length);
          packet.set(payload, 5);
          paddings.push(packet.subarray(5 + payload.length).toString('hex'));
          return packet;
        };
        for (const p of payloads.slice(0, 3)) cipher.encrypt(seal(p));
        // Chunks are kept as written (no copy): what ssh2 handed the socket must not change when the buffer is reused.
        // Two packets allocated before either is encrypted must not share memory.
        const a = seal(payloads[3] ?? Buffer.alloc(0));
        const b = seal(payloads[4] ?? Buffer.alloc(0));
        assert.notEqual(a.buffer, b.buffer);
        cipher.encrypt(a);
        cipher.encrypt(b);
        const stream = Buffer.concat(wire);
        decipher.decrypt(stream, 0, stream.length);
        assert.deepEqual(received, payloads);
        assert.equal(new Set(paddings).size, paddings.length, 'padding bytes repeat between packets');
        // The receiving end authenticates: one flipped ciphertext bit (past the 4-byte length) is refused, never
        // delivered — the binding is C code fed by the client.
        const tampered = Buffer.concat(wire);
        tampered[40] = (tampered[40] ?? 0) ^ 1;
        const after: Buffer[] = [];
        const strict = receiver(after);
        assert.throws(() => strict.decrypt(tampered, 0, tampered.length));
        assert.deepEqual(after, []);
      });
    }
});
