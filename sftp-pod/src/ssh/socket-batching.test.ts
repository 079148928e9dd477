import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import ssh2Crypto from 'ssh2/lib/protocol/crypto.js';
import { batchSocketWrites } from './socket-batching.ts';

/** A connected loopback pair: `server` is the accepted side (as the pod's), `client` reads what it writes. */
async function pair(): Promise<{ server: Socket; client: Socket; close: () => void }> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection');
  const client = connect((listener.address() as AddressInfo).port, '127.0.0.1');
  const [server] = (await accepted) as [Socket];
  await once(client, 'connect');
  return {
    server,
    client,
    close: () => {
      server.destroy();
      client.destroy();
      listener.close();
    },
  };
}

/** The next `bytes` bytes the client receives (without ending the stream). */
function read(client: Socket, bytes: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const onData = (c: Buffer) => {
      chunks.push(c);
      n += c.length;
      if (n < bytes) return;
      client.off('data', onData);
      resolve(Buffer.concat(chunks));
    };
    client.on('data', onData);
  });
}

describe('batchSocketWrites', () => {
  it('holds the writes of one event-loop turn and sends them, in order, at the end of the turn', async () => {
    const { server, client, close } = await pair();
    try {
      batchSocketWrites(server);
      batchSocketWrites(server); // idempotent: one wrapper, one cork per turn
      const parts = ['len', 'ciphertext', 'tag', 'next packet'].map((s) => Buffer.from(s));
      for (const p of parts) server.write(p);
      assert.equal(server.writableCorked, 1);
      assert.equal(server.writableLength, Buffer.concat(parts).length, 'nothing left before the turn ended');
      await turn();
      assert.equal(server.writableCorked, 0);
      assert.deepEqual(await read(client, Buffer.concat(parts).length), Buffer.concat(parts));
      // The next turn corks again.
      server.write('again');
      assert.equal(server.writableCorked, 1);
      await turn();
      assert.equal((await read(client, 5)).toString(), 'again');
    } finally {
      close();
    }
  });

  it("releases only its own cork; end() still flushes what is held; a destroyed socket's write is not corked", async () => {
    const { server, client, close } = await pair();
    try {
      batchSocketWrites(server);
      server.cork(); // a caller's own cork
      server.write('a');
      assert.equal(server.writableCorked, 2);
      await turn();
      assert.equal(server.writableCorked, 1, "the caller's cork stays");
      server.uncork();
      server.write('b');
      server.end('c'); // uncorks fully within the same turn
      assert.equal((await read(client, 3)).toString(), 'abc');
      await turn();
      const other = await pair();
      batchSocketWrites(other.server);
      other.server.destroy();
      other.server.write('x', () => {});
      assert.equal(other.server.writableCorked, 0);
      other.close();
    } finally {
      close();
    }
  });

  it("gives ssh2's pooled packet buffers back only after the socket wrote them, never while held", async () => {
    const { server, client, close } = await pair();
    try {
      batchSocketWrites(server);
      const info = ssh2Crypto.CIPHER_INFO['aes128-gcm@openssh.com'];
      assert.ok(info);
      // ssh2's binding cipher writes each packet (ciphertext and tag in place) to the socket in one write.
      const cipher = ssh2Crypto.createCipher({
        outbound: {
          onWrite: (data) => server.write(data),
          cipherInfo: info,
          cipherKey: Buffer.alloc(info.keyLen),
          cipherIV: Buffer.alloc(info.ivLen),
          seqno: 0,
          forceNative: false,
        },
      });
      const packet = cipher.allocPacket(32768);
      assert.equal(ssh2Crypto.isPooledPacket?.(packet), true);
      cipher.encrypt(packet);
      const wire = Buffer.from(packet); // what was handed to the socket, as it was handed
      assert.equal(ssh2Crypto.isPooledPacket?.(packet), true, 'still held by the corked socket');
      assert.deepEqual(await read(client, wire.length), wire);
      await turn();
      assert.equal(ssh2Crypto.isPooledPacket?.(packet), false, 'returned once written');
      // Several packets of one turn leave in one writev: each is given back once that write completed.
      const batch = [8000, 32768, 5000].map((n) => cipher.allocPacket(n));
      const sent: Buffer[] = [];
      for (const p of batch) {
        cipher.encrypt(p);
        sent.push(Buffer.from(p));
      }
      assert.ok(batch.every((p) => ssh2Crypto.isPooledPacket?.(p)));
      assert.deepEqual(await read(client, Buffer.concat(sent).length), Buffer.concat(sent));
      await turn();
      assert.ok(
        batch.every((p) => ssh2Crypto.isPooledPacket?.(p) === false),
        'all returned once written',
      );
      // A plain write (not from the pool) is written as before, callbacks untouched.
      const done = new Promise<void>((resolve) => server.write(Buffer.from('plain'), () => resolve()));
      assert.equal((await read(client, 5)).toString(), 'plain');
      await done;
    } finally {
      close();
    }
  });
});
