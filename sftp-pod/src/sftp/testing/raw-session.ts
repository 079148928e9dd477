// A raw SFTP session over a real SSH connection (ssh2 client): tests send hand-built packets through the pod's real
// transport with TestSftpClient.
import { readFileSync } from 'node:fs';
import ssh2, { type ClientChannel } from 'ssh2';
import { TestSftpClient } from './client.ts';

const { Client } = ssh2;
type Client = InstanceType<typeof Client>;

export interface RawSessionTarget {
  readonly port: number;
  readonly host?: string;
  readonly username: string;
  readonly password?: string;
  /** Path of an OpenSSH private key file. */
  readonly keyFile?: string;
}

export interface RawSession {
  readonly connection: Client;
  readonly channel: ClientChannel;
  readonly sftp: TestSftpClient;
  /** Ends the channel and the connection. */
  close(): void;
}

/** Connects, authenticates and opens the `sftp` subsystem; INIT is left to the caller. Rejects on any failure. */
export async function openRawSession(t: RawSessionTarget): Promise<RawSession> {
  const connection = await new Promise<Client>((resolve, reject) => {
    const c = new Client();
    c.on('ready', () => resolve(c));
    c.on('error', reject);
    c.connect({
      host: t.host ?? '127.0.0.1',
      port: t.port,
      username: t.username,
      ...(t.password !== undefined ? { password: t.password } : {}),
      ...(t.keyFile !== undefined ? { privateKey: readFileSync(t.keyFile) } : {}),
      readyTimeout: 30_000,
    });
  });
  try {
    const channel = await new Promise<ClientChannel>((resolve, reject) =>
      connection.subsys('sftp', (err, ch) => (err ? reject(err) : resolve(ch))),
    );
    return {
      connection,
      channel,
      sftp: new TestSftpClient(channel),
      close() {
        channel.end();
        connection.end();
      },
    };
  } catch (err) {
    connection.end();
    throw err;
  }
}
