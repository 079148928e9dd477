// The client side: OpenSSH `sftp` in batch mode with the same options against every server, and payload files.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LOOPBACK_CLIENT_OPTIONS } from '../../infra/sftp-client.ts';
import type { BenchServer, ClientKey } from './servers.ts';

/** Identical for every server. aes128-gcm is the cipher every server here negotiates fastest (DESIGN.md facts). */
export const SFTP_OPTIONS: readonly string[] = [
  '-F',
  '/dev/null',
  '-o',
  'Ciphers=aes128-gcm@openssh.com',
  ...LOOPBACK_CLIENT_OPTIONS,
  '-o',
  'LogLevel=ERROR',
];

export class SftpClientError extends Error {
  override readonly name = 'SftpClientError';
  readonly code = 'SftpClientFailed';
}

/** Runs one `sftp -b -` session with `commands`; rejects with the client's stderr on a non-zero exit. */
export function runSftp(
  server: BenchServer,
  key: ClientKey,
  commands: readonly string[],
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'sftp',
      ['-q', '-b', '-', '-i', key.privatePath, ...SFTP_OPTIONS, '-P', String(server.port), `${server.user}@127.0.0.1`],
      { stdio: ['pipe', 'ignore', 'pipe'], signal },
    );
    const err: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {});
    child.stdin.end(`${commands.join('\n')}\n`);
    child.once('error', (cause) =>
      reject(new SftpClientError(`sftp to ${server.name}: could not run or aborted`, { cause })),
    );
    child.once('close', (code, sig) => {
      if (code === 0) resolve();
      else {
        const stderr = Buffer.concat(err).toString('utf8').trim();
        reject(new SftpClientError(`sftp to ${server.name} exited ${code ?? sig}: ${stderr.slice(-2000)}`));
      }
    });
  });
}

/** Writes `size` random bytes (incompressible, so no layer can cheat) to `path`. */
export async function makeRandomFile(path: string, size: number): Promise<void> {
  let left = size;
  const chunks = Readable.from(
    (function* () {
      while (left > 0) {
        const n = Math.min(left, 1 << 20);
        left -= n;
        yield randomBytes(n);
      }
    })(),
  );
  await pipeline(chunks, createWriteStream(path));
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), h);
  return h.digest('hex');
}
