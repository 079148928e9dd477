// One socket write per event-loop turn instead of one per SSH packet fragment.
//
// ssh2 writes every outgoing packet to the socket in three or four pieces (length, ciphertext, tag — AES-GCM and
// ChaCha20) and never corks, and the pod sets TCP_NODELAY (replies must not wait for delayed ACKs), so each piece was
// its own send(2): the largest single entry of the pod's CPU profile (docs/benchmarks.md). The pod owns the socket it
// injects into ssh2, so it corks the socket at the first write of a turn and uncorks it in a setImmediate: everything
// ssh2 writes while handling one batch of input or one storage completion leaves in one writev(2). Order and content
// are unchanged; only the syscall boundaries move. end() uncorks by itself, destroy() discards as before.
//
// It also hands ssh2 its packet buffers back (patches/ssh2@1.17.0.patch): ssh2's native ciphers encrypt each packet in
// place in a buffer from a small pool, and the socket is the last holder of it, so once the socket has written a
// packet (its write callback) the buffer returns to the pool instead of becoming garbage — on a download that was a
// new 32 KiB buffer per packet, 1 GiB of allocations per GiB sent. A packet whose write fails is simply not returned.
import type { Socket } from 'node:net';
import ssh2Crypto from 'ssh2/lib/protocol/crypto.js';

const batched = new WeakSet<Socket>();

/** Makes `socket.write` cork until the end of the current event-loop turn. Idempotent per socket. */
export function batchSocketWrites(socket: Socket): void {
  if (batched.has(socket)) return;
  batched.add(socket);
  const write = socket.write;
  let pending = false;
  const flush = (): void => {
    pending = false;
    // Only our own cork is released: a caller's cork() nests and stays in force.
    if (socket.writableCorked > 0) socket.uncork();
  };
  socket.write = function batchedWrite(this: Socket, ...args: Parameters<Socket['write']>): boolean {
    if (!pending && !socket.destroyed) {
      pending = true;
      socket.cork();
      setImmediate(flush);
    }
    const [chunk] = args;
    // ssh2 writes packets without a callback; one of its pooled packets goes back once written.
    if (args.length === 1 && chunk instanceof Uint8Array && ssh2Crypto.isPooledPacket?.(chunk)) {
      return Reflect.apply(write, this, [
        chunk,
        (err?: Error | null) => err || ssh2Crypto.releasePacket?.(chunk),
      ]) as boolean;
    }
    return Reflect.apply(write, this, args) as boolean;
  } as Socket['write'];
}
