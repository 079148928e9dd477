// A real webhook receiver for the notification e2e tests: a node http server on loopback that records every request
// (headers, raw body, whether its signature verifies with the key) and answers as told — 204, 503 — or is stopped
// altogether (connection refused) and started again on the same port.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { verifySignature } from '../../sftp-pod/src/notify/sign.ts';

export interface Received {
  readonly id: string;
  readonly event: string;
  readonly body: string;
  readonly validSignature: boolean;
  /** What the receiver answered. */
  readonly answered: number;
}

export class WebhookReceiver {
  readonly received: Received[] = [];
  /** The status answered to every request. */
  answer = 204;
  readonly #key: Buffer;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #port = 0;

  constructor(key: Buffer) {
    this.#key = key;
  }

  get port(): number {
    return this.#port;
  }

  /** Accepted deliveries (answered 2xx). */
  get delivered(): Received[] {
    return this.received.filter((r) => r.answered < 300);
  }

  /** Listens on 127.0.0.1 (the same port as before when restarted). */
  async start(): Promise<void> {
    const server = createServer((req, res) => this.#handle(req, res));
    server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    server.listen(this.#port, '127.0.0.1');
    await once(server, 'listening');
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening: connections are refused until start(). */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = once(server, 'close');
    server.close();
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (n: string) => {
        const v = req.headers[n];
        return Array.isArray(v) ? v[0] : v;
      };
      this.received.push({
        id: header('x-sftpgate-delivery') ?? '',
        event: header('x-sftpgate-event') ?? '',
        body,
        validSignature: verifySignature(
          this.#key,
          header('x-sftpgate-signature'),
          header('x-sftpgate-timestamp'),
          body,
          Math.floor(Date.now() / 1000),
        ),
        answered: this.answer,
      });
      res.writeHead(this.answer).end();
    });
  }
}
