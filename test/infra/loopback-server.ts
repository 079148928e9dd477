// An HTTP server of the test bed's own (fault proxy, AWS call recorder) listening on a random loopback port, whose
// close() also ends the keep-alive connections clients still hold open, so stopping it never waits on them.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface LoopbackServer {
  readonly url: string;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:0; `what` names the server in the error thrown when no TCP address is bound. */
export async function listenOnLoopback(server: Server, what: string): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`${what}: no TCP address`);
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close() {
      closed ??= (async () => {
        const done = once(server, 'close');
        server.close();
        for (const s of sockets) s.destroy();
        await done;
      })();
      return closed;
    },
  };
}
