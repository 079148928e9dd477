// Bounds on what one SSH channel may make the pod hold, enforced below the SFTP layer whatever the client does.
//
// Input: ssh2 1.17 drops incoming CHANNEL_DATA only when the channel window is exactly 0 (lib/server.js,
// CHANNEL_DATA); a client that drives the window below zero is never stopped and every byte lands in the channel's
// readable buffer. The guard sees each chunk as ssh2 pushes it (after ssh2 subtracted it from `incoming.window`):
// once the window is more than one packet (32 KiB) below zero the client has ignored flow control, the chunk is
// dropped and the connection is closed.
//
// Output: ssh2 writes channel data into the socket without looking at the socket's buffer, so a client that opens a
// large window and then stops reading TCP would make the pod queue every reply. The guard holds a channel write's
// completion until the socket's buffer is below `socketBufferBytes`; the channel's own buffer then fills, write()
// returns false and the SFTP session waits — and `outputStalledSince` tells the server how long it has waited, so a
// wait that makes no progress for the output timeout ends the connection.
//
// Both hooks reach into ssh2 internals (`incoming.window`, `push`, `_write`); ssh2 is pinned to 1.17.0 and
// server.test.ts ("ssh2 pinned behaviour") fails on an upgrade.
import type { Socket } from 'node:net';
import type { ServerChannel } from 'ssh2';

/** One packet of ssh2's channel packet size: the most a correct client can overshoot by when racing an adjust. */
export const WINDOW_SLACK_BYTES = 32 * 1024;

type WriteCallback = (err?: Error | null) => void;

interface Ssh2ChannelInternals {
  incoming: { window: number };
  push(chunk: unknown, encoding?: BufferEncoding): boolean;
  _write(data: Buffer, encoding: BufferEncoding | null, cb: WriteCallback): void;
}

export interface ChannelGuardOptions {
  readonly socket: Socket;
  readonly socketBufferBytes: number;
  /** Called once when the client sent past its window; the chunk was dropped. */
  onOverrun(window: number): void;
  readonly now?: () => number;
}

export interface ChannelGuard {
  /** Since when a channel write has been waiting without completing, or undefined when output is not blocked. */
  outputStalledSince(): number | undefined;
}

export function guardChannel(channel: ServerChannel, o: ChannelGuardOptions): ChannelGuard {
  const raw = channel as unknown as Ssh2ChannelInternals;
  const now = o.now ?? Date.now;
  let overrun = false;
  const push = raw.push.bind(raw);
  raw.push = (chunk, encoding) => {
    if (chunk !== null && raw.incoming.window < -WINDOW_SLACK_BYTES) {
      if (!overrun) {
        overrun = true;
        o.onOverrun(raw.incoming.window);
      }
      return false;
    }
    return push(chunk, encoding);
  };

  const socket = o.socket;
  const wrapped = new WeakSet<WriteCallback>();
  let waitingSince: number | undefined;
  const write = raw._write.bind(raw);
  raw._write = (data, encoding, cb) => {
    // ssh2 re-enters _write with the stored callback after a window adjust: it is ours already.
    if (wrapped.has(cb)) {
      waitingSince = now();
      write(data, encoding, cb);
      return;
    }
    waitingSince ??= now();
    const done: WriteCallback = (err) => {
      const release = () => {
        socket.off('drain', release);
        socket.off('close', release);
        waitingSince = undefined;
        cb(err);
      };
      if (err || socket.destroyed || socket.writableLength <= o.socketBufferBytes) {
        release();
        return;
      }
      // Progress was made (ssh2 handed the data to the socket); the wait for the socket starts now.
      waitingSince = now();
      socket.on('drain', release);
      socket.once('close', release);
    };
    wrapped.add(done);
    write(data, encoding, done);
  };

  return {
    outputStalledSince: () => waitingSince,
  };
}
