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
// packet the buffer returns to the pool instead of becoming garbage — on a download that was a new 32 KiB buffer per
// packet, 1 GiB of allocations per GiB sent. The socket's own `_writev`/`_write` (what the corked writes of a turn
// reach as one batch) are wrapped, so one completion callback per batch gives back every pooled packet in it: ssh2's
// writes stay callback-free (no closure per packet, and Node hands the batch over without copying its list). A batch
// whose write fails is simply not returned.
import type { Socket } from 'node:net';
import ssh2Crypto from 'ssh2/lib/protocol/crypto.js';

type WriteCallback = (err?: Error | null) => void;
interface SocketInternals {
  _writev(chunks: readonly { readonly chunk: unknown }[], cb: WriteCallback): void;
  _write(chunk: unknown, encoding: BufferEncoding, cb: WriteCallback): void;
}

const batched = new WeakSet<Socket>();

/** Makes `socket.write` cork until the end of the current event-loop turn. Idempotent per socket. */
export function batchSocketWrites(socket: Socket): void {
  if (batched.has(socket)) return;
  batched.add(socket);
  const write = socket.write as (this: Socket, chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;
  let pending = false;
  const flush = (): void => {
    pending = false;
    // Only our own cork is released: a caller's cork() nests and stays in force.
    if (socket.writableCorked > 0) socket.uncork();
  };
  // Explicit parameters, not a rest array: this runs once per SSH packet. Node treats undefined ones as omitted.
  socket.write = function batchedWrite(this: Socket, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    if (!pending && !socket.destroyed) {
      pending = true;
      socket.cork();
      setImmediate(flush);
    }
    return write.call(this, chunk, encoding, cb);
  } as Socket['write'];
  releaseWrittenPackets(socket);
}

/** Gives ssh2's pooled packets back once the socket has written them (never earlier; not at all on an error). */
function releaseWrittenPackets(socket: Socket): void {
  const { isPooledPacket, releasePacket } = ssh2Crypto;
  if (isPooledPacket === undefined || releasePacket === undefined) return;
  const pooled = (chunk: unknown): chunk is Uint8Array => chunk instanceof Uint8Array && isPooledPacket(chunk);
  const raw = socket as unknown as SocketInternals;
  const writev = raw._writev;
  const write = raw._write;
  /** `cb`, after giving `packets` back when the write succeeded. */
  const releasing = (packets: readonly Uint8Array[], cb: WriteCallback): WriteCallback =>
    packets.length === 0
      ? cb
      : (err) => {
          if (!err) for (const p of packets) releasePacket(p);
          cb(err);
        };
  raw._writev = function releasingWritev(this: Socket, chunks, cb) {
    // Collected before the write: Node's writev replaces the list's entries by their chunks as it goes.
    const packets: Uint8Array[] = [];
    for (const { chunk } of chunks) if (pooled(chunk)) packets.push(chunk);
    Reflect.apply(writev, this, [chunks, releasing(packets, cb)]);
  };
  raw._write = function releasingWrite(this: Socket, chunk, encoding, cb) {
    Reflect.apply(write, this, [chunk, encoding, pooled(chunk) ? releasing([chunk], cb) : cb]);
  };
}
