// Shared by the client matrix (clients-*.test.ts): one pod + MinIO per file on the DEFAULT algorithm policy, the
// negotiated algorithms of every connection (from the pod's own handshake log), the installed client tools
// (install/clients.sh), and one scenario every client runs: mkdir, put, list, rename (S3 checked), then get,
// remove, rmdir (download checked, nothing left behind).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { argon2id, bcrypt } from 'hash-wasm';
import { createLogger } from '../../sftp-pod/src/telemetry/log.ts';
import { type CommandResult, cacheRoot, readVersions } from '../infra/index.ts';
import { type Harness, PASSWORD, PREFIX, sha256, startHarness } from './sftp-harness.ts';

export interface Negotiated {
  readonly kex: string;
  readonly hostKey: string;
  readonly cipher: string;
  readonly mac: string;
}

export interface ClientsBed {
  readonly h: Harness;
  /** The algorithms of the most recent handshake the pod saw. */
  lastHandshake(): Negotiated | undefined;
  /** A SSH_ASKPASS script that prints the password (OpenSSH's password and keyboard-interactive prompts). */
  readonly askpass: string;
  /** One that prints a wrong password. */
  readonly wrongAskpass: string;
  /** Rows for the docs table: client, login, negotiated algorithms, what ran. */
  readonly rows: string[];
}

/**
 * Users whose password hash was imported from another system (users-table.md): sha512-crypt made by OpenSSL,
 * bcrypt and argon2id made by hash-wasm — other implementations than the pod's verifiers.
 */
async function importedHashes(password: string): Promise<Record<string, string>> {
  const salt = Buffer.from('sftpgate-import!');
  return {
    'migrated-sha512': execFileSync('openssl', ['passwd', '-6', '-salt', 'Mig.Rated/1', password], {
      encoding: 'utf8',
    }).trim(),
    'migrated-bcrypt': await bcrypt({ password, salt, costFactor: 6, outputType: 'encoded' }),
    'migrated-argon2id': await argon2id({
      password,
      salt,
      parallelism: 1,
      iterations: 2,
      memorySize: 8192,
      hashLength: 32,
      outputType: 'encoded',
    }),
  };
}

/** Starts the bed on the default policy (no --algorithms flag: the default is what is under test). */
export async function startClientsBed(): Promise<ClientsBed> {
  const handshakes: Negotiated[] = [];
  const verbose = process.env['SFTPGATE_E2E_LOG'] !== undefined;
  const log = createLogger('debug', {}, (line) => {
    if (verbose) process.stderr.write(line);
    if (!line.includes('"ssh handshake"')) return;
    const n = (JSON.parse(line) as { negotiated?: Record<string, unknown> }).negotiated as
      | { kex: string; serverHostKey: string; cs: { cipher: string; mac: string } }
      | undefined;
    if (n) handshakes.push({ kex: n.kex, hostKey: n.serverHostKey, cipher: n.cs.cipher, mac: n.cs.mac });
  });
  const migrated = await importedHashes(PASSWORD);
  const h = await startHarness({
    log,
    users: () =>
      Object.entries(migrated).map(([username, passwordHash]) => ({ username, passwordHash, permissions: ['list'] })),
  });
  const askpass = join(h.dir, 'askpass.sh');
  writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' '${PASSWORD}'\n`);
  const wrongAskpass = join(h.dir, 'askpass-wrong.sh');
  writeFileSync(wrongAskpass, "#!/bin/sh\necho 'not the password'\n");
  chmodSync(askpass, 0o700);
  chmodSync(wrongAskpass, 0o700);
  return { h, lastHandshake: () => handshakes.at(-1), askpass, wrongAskpass, rows: [] };
}

/** One bed for the calling test file: started before its tests, stopped after them (printing the docs rows). */
export function useClientsBed(): ClientsBed {
  let bed: ClientsBed | undefined;
  before(async () => {
    bed = await startClientsBed();
  });
  after(async () => {
    if (bed?.rows.length) console.log(bed.rows.join('\n'));
    await bed?.h.stop();
  });
  const cur = (): ClientsBed => {
    if (!bed) throw new Error('the clients bed is not started');
    return bed;
  };
  return {
    get h() {
      return cur().h;
    },
    get askpass() {
      return cur().askpass;
    },
    get wrongAskpass() {
      return cur().wrongAskpass;
    },
    get rows() {
      return cur().rows;
    },
    lastHandshake: () => cur().lastHandshake(),
  };
}

/** Paths of the clients installed by install/clients.sh (psftp, puttygen, paramiko's python, the JSch jar). */
export function clientTool(name: 'psftp' | 'puttygen' | 'paramiko-python' | 'jsch.jar'): string {
  const v = readVersions();
  const dir = join(cacheRoot(), `clients-paramiko-${v['PARAMIKO_VERSION']}-jsch-${v['JSCH_VERSION']}`);
  const path = join(dir, 'bin', name);
  if (!existsSync(join(dir, '.complete')) || !existsSync(path)) {
    throw new Error(`${name} is not installed at ${path}: run \`make tools\` (test/infra/install/clients.sh)`);
  }
  return path;
}

export interface LocalFile {
  readonly path: string;
  readonly sha: string;
  /** mtime set on the file, whole seconds (for `put -p` checks). */
  readonly mtime: number;
}

/** A random file (1.5 MiB + 3 bytes: many 32 KiB writes, an odd tail) with an old mtime. */
export function makeUpload(h: Harness, name: string): LocalFile {
  const data = randomBytes(1536 * 1024 + 3);
  const path = join(h.dir, name);
  writeFileSync(path, data);
  const mtime = 1_000_000_000 + Math.floor(Math.random() * 1000);
  utimesSync(path, mtime, mtime);
  return { path, sha: sha256(data), mtime };
}

export function ok(r: CommandResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
}

/** After phase 1 (mkdir dir, put dir/f.bin, list, rename to dir/g.bin): the object is in S3 with the right bytes. */
export async function assertRenamed(h: Harness, user: string, dir: string, file: LocalFile): Promise<void> {
  const all = await h.listAll();
  assert.ok(all.includes(`${PREFIX}/${user}/${dir}/g.bin`), `${dir}/g.bin missing: ${all.join(' ')}`);
  assert.ok(!all.includes(`${PREFIX}/${user}/${dir}/f.bin`), `${dir}/f.bin still there after rename`);
  assert.equal(await h.sha256Of(`${PREFIX}/${user}/${dir}/g.bin`), file.sha);
}

/** After phase 2 (get dir/g.bin, rm, rmdir): the download matches and nothing of dir is left. */
export async function assertCleanedUp(h: Harness, user: string, dir: string, down: string, file: LocalFile) {
  assert.equal(sha256(readFileSync(down)), file.sha, 'downloaded bytes differ');
  const left = (await h.listAll()).filter((k) => k.startsWith(`${PREFIX}/${user}/${dir}/`));
  assert.deepEqual(left, [], `left behind under ${dir}/`);
}

export function row(bed: ClientsBed, client: string, login: string, exercised: string): void {
  const n = bed.lastHandshake();
  const algs = n
    ? `${n.kex}, ${n.hostKey}, ${n.cipher}${n.cipher.includes('gcm') || n.cipher.includes('poly') ? '' : ` + ${n.mac}`}`
    : '?';
  bed.rows.push(`| ${client} | ${login} | ${algs} | ${exercised} |`);
}
