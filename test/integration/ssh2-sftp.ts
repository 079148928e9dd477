// An ssh2 SFTP client of the in-process pod (sftp-harness.ts), for tests that send raw SFTP requests and count what
// they cost in S3.
import ssh2 from 'ssh2';
import type { Harness } from '../e2e/sftp-harness.ts';

const { Client } = ssh2;
export type Ssh2Client = InstanceType<typeof Client>;

/** An SFTP session of `user` (key `keyName`); the connection is pushed to `clients` for the test's `after` to end. */
export async function sftpOf(
  h: Harness,
  clients: Ssh2Client[],
  user: string,
  keyName = user,
): Promise<ssh2.SFTPWrapper> {
  const c = new Client();
  clients.push(c);
  await new Promise<void>((resolve, reject) => {
    c.on('ready', () => resolve());
    c.on('error', reject);
    c.connect({
      host: '127.0.0.1',
      port: h.port,
      username: user,
      privateKey: h.keys[keyName]?.privateKey ?? Buffer.alloc(0),
      readyTimeout: 30_000,
    });
  });
  return new Promise((resolve, reject) => c.sftp((err, s) => (err ? reject(err) : resolve(s))));
}

/** A callback-style ssh2 call as a promise. */
export const call = <T>(f: (cb: (err: Error | null | undefined, v: T) => void) => void) =>
  new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));
