// Free loopback ports for test-bed servers.
//
// The kernel picks a free port (bind to port 0), and a reservation file in a shared directory makes sure no other
// test-bed process — another test file running in parallel — is handed the same port before its server binds it.
// Reservations of dead processes are taken over; ours are removed when the instance stops or the process exits.

import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestbedError, TestbedErrorCode } from './errors.ts';
import { onProcessExit } from './process.ts';

const LOCK_DIR = join(process.env['SFTPGATE_TESTBED_TMPDIR'] ?? tmpdir(), 'sftpgate-ports');
const held = new Set<number>();
let exitHookInstalled = false;

/** Reserves `count` distinct free ports on 127.0.0.1. Release them with releasePorts() when the server is gone. */
export async function reservePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  try {
    for (let i = 0; i < count; i++) ports.push(await reservePort());
  } catch (err) {
    releasePorts(ports);
    throw err;
  }
  return ports;
}

/** Reserves one free port on 127.0.0.1 (see reservePorts). */
export async function reservePort(): Promise<number> {
  mkdirSync(LOCK_DIR, { recursive: true });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    onProcessExit(() => releasePorts([...held]));
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await kernelFreePort();
    if (held.has(port)) continue;
    if (tryLock(port)) {
      held.add(port);
      return port;
    }
  }
  throw new TestbedError(TestbedErrorCode.NoFreePort, 'could not reserve a free loopback port after 50 attempts');
}

/** Drops reservations made by this process. Idempotent. */
export function releasePorts(ports: Iterable<number>): void {
  for (const port of ports) {
    if (!held.delete(port)) continue;
    rmSync(join(LOCK_DIR, String(port)), { force: true });
  }
}

function kernelFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port from the kernel'))));
    });
  });
}

function tryLock(port: number): boolean {
  const path = join(LOCK_DIR, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return true;
    } catch (err) {
      if (!(err instanceof Error && 'code' in err && err.code === 'EEXIST')) throw err;
      if (!isStale(path)) return false;
      rmSync(path, { force: true });
    }
  }
  return false;
}

function isStale(path: string): boolean {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0) return !isAlive(pid);
    // Empty: its owner is between creating and writing it, unless that was long ago (the owner died right there).
    return Date.now() - statSync(path).mtimeMs > 10_000;
  } catch {
    return false; // Removed meanwhile: the next attempt picks another port.
  }
}

/** True when a process with this pid exists and is not a zombie (EPERM means it exists but isn't ours). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return err instanceof Error && 'code' in err && err.code === 'EPERM';
  }
  try {
    // "pid (comm) S ...": the state follows the last ')'. A zombie has exited; only its parent hasn't reaped it yet.
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Runs `start` up to three times while it fails with "address already in use": a port the kernel called free can be
 * taken by a process outside the test bed before our server binds it, so a retry with fresh ports is the fix.
 */
export async function retryOnPortClash<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('address already in use')) throw err;
    }
  }
}
