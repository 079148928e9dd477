// Managed child processes for the test bed: servers that can never outlive the test process.
//
// Every server runs under bin/guard.sh, which holds the read end of a pipe whose write end only this process has
// (Node opens pipes close-on-exec, so no other child inherits it). When this process stops the server, exits, dies
// on a signal or is SIGKILLed, the pipe closes and the guard stops the server's whole process group (SIGTERM, then
// SIGKILL after a grace period). On top of that, a normal exit or SIGINT/SIGTERM/SIGHUP signals the guards at once,
// and every process carries SFTPGATE_TESTBED_OWNER=<our pid> in its environment so `cli.ts reap` can find leftovers.

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortedError, TestbedError, TestbedErrorCode } from './errors.ts';

/** Environment variable that marks every process and temp dir of the test bed with the pid that owns it. */
export const OWNER_ENV = 'SFTPGATE_TESTBED_OWNER';
/** File written into each test-bed temp dir, holding the owner's pid (for `cli.ts reap`). */
export const OWNER_FILE = '.sftpgate-owner';
/** Prefix of every test-bed temp dir under os.tmpdir(). */
export const TEMP_PREFIX = 'sftpgate-';

const GUARD = new URL('./bin/guard.sh', import.meta.url).pathname;
const DEFAULT_GRACE_S = 5;

export interface SpawnManagedOptions {
  /** Short name used in messages, e.g. "minio". */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** stdout and stderr are appended here; its tail goes into startup errors. */
  readonly logFile: string;
  /** Seconds between SIGTERM and SIGKILL when stopping. */
  readonly graceSeconds?: number;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A server running under the guard. stop() is idempotent and resolves once the guard (and so the server) is gone. */
export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  /** Resolves when the guard exits (the server is gone by then, unless the guard itself was SIGKILLed). */
  readonly exited: Promise<ExitStatus>;
  #child: ChildProcess;
  #status: ExitStatus | undefined;
  #stopping: Promise<void> | undefined;
  #graceSeconds: number;

  constructor(opts: SpawnManagedOptions) {
    this.name = opts.name;
    this.logFile = opts.logFile;
    this.#graceSeconds = opts.graceSeconds ?? DEFAULT_GRACE_S;
    installExitHandlers();
    const log = openSync(opts.logFile, 'a');
    try {
      this.#child = spawn('bash', [GUARD, opts.command, ...opts.args], {
        cwd: opts.cwd,
        env: {
          ...childEnv(opts.env),
          SFTPGATE_GUARD_GRACE_S: String(this.#graceSeconds),
        },
        stdio: ['pipe', log, log],
      });
    } finally {
      closeSync(log);
    }
    const child = this.#child;
    live.add(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        this.#status = { code, signal };
        resolve(this.#status);
      });
      // spawn failures (bash missing) surface as 'error' without 'exit'.
      child.once('error', () => {
        live.delete(child);
        this.#status ??= { code: null, signal: null };
        resolve(this.#status);
      });
    });
    // EPIPE on our end of the pipe when the guard is gone is expected; never let it crash the test process.
    child.stdin?.on('error', () => {});
    // A test that forgets stop() must not hang the run: the exit handler cleans up instead.
    child.unref();
    unrefStream(child.stdin);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Undefined while running. */
  get exitStatus(): ExitStatus | undefined {
    return this.#status;
  }

  /** The last `lines` lines of the log file (empty when unreadable). */
  logTail(lines = 40): string {
    return tailFile(this.logFile, lines);
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#status !== undefined) return;
    // Keep the event loop alive while we wait; otherwise node:test may see an empty loop mid-await.
    this.#child.ref();
    this.#child.stdin?.destroy();
    const deadline = sleep((this.#graceSeconds + 10) * 1000, undefined, { ref: false });
    const outcome = await Promise.race([this.exited, deadline.then(() => 'timeout' as const)]);
    if (outcome === 'timeout') {
      // The guard is wedged (it never should be); kill it. Its watcher already saw EOF and stops the server.
      this.#child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Starts `command` under the guard. Never throws for a command that fails to run; see `exited` and the log. */
export function spawnManaged(opts: SpawnManagedOptions): ManagedProcess {
  return new ManagedProcess(opts);
}

export interface WaitUntilOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Cap on one attempt (default 10 s), so a server that accepts but never answers is asked again. */
  readonly attemptTimeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
  /** Fail fast, with its log tail, when this process exits while we wait. */
  readonly process?: ManagedProcess;
}

/**
 * Polls `check` until it returns true. Each attempt gets a signal that fires on its own timeout, the overall deadline
 * or abort; an attempt that throws counts as "not yet" and its error becomes the cause if time runs out.
 * Throws StartupTimeout, ProcessExited or Aborted.
 */
export async function waitUntil(
  what: string,
  check: (signal: AbortSignal) => Promise<boolean>,
  opts: WaitUntilOptions,
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 100;
  let lastError: unknown;
  for (;;) {
    if (opts.signal?.aborted) throw abortedError(what, opts.signal);
    const exited = opts.process?.exitStatus;
    if (opts.process && exited) {
      throw new TestbedError(
        TestbedErrorCode.ProcessExited,
        `${what}: ${opts.process.name} exited (${describeExit(exited)}) before it was ready` +
          logTailSuffix(opts.process),
      );
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new TestbedError(
        TestbedErrorCode.StartupTimeout,
        `${what}: not ready after ${opts.timeoutMs} ms` +
          (lastError ? ` (last attempt: ${errorMessage(lastError)})` : '') +
          (opts.process ? logTailSuffix(opts.process) : ''),
        { cause: lastError },
      );
    }
    const attemptMs = Math.min(remaining, opts.attemptTimeoutMs ?? 10_000);
    const attempt = AbortSignal.any([AbortSignal.timeout(attemptMs), ...(opts.signal ? [opts.signal] : [])]);
    try {
      if (await check(attempt)) return;
    } catch (err) {
      lastError = err;
    }
    try {
      await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), undefined, { signal: opts.signal });
    } catch {
      // Aborted: reported at the top of the loop.
    }
  }
}

export interface RunCommandOptions {
  readonly input?: string | Buffer;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number;
  /** Resolve with the result instead of throwing on a non-zero exit. */
  readonly allowFailure?: boolean;
}

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a short-lived command (kubectl, openssl, helm, promtool) to completion and captures its output.
 * Throws CommandFailed on a non-zero exit unless allowFailure; Aborted when the signal fires (the command is killed).
 */
export async function runCommand(
  command: string,
  args: readonly string[],
  opts: RunCommandOptions = {},
): Promise<CommandResult> {
  const what = `${command} ${args.join(' ')}`;
  if (opts.signal?.aborted) throw abortedError(what, opts.signal);
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 120_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: childEnv(opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  child.stdin.on('error', () => {});
  child.stdin.end(opts.input ?? '');
  const onAbort = () => child.kill('SIGKILL');
  signal.addEventListener('abort', onAbort, { once: true });
  let code: number | null;
  try {
    code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    });
  } catch (cause) {
    throw new TestbedError(TestbedErrorCode.CommandFailed, `${what}: could not run`, { cause });
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  const result = { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
  if (opts.signal?.aborted) throw abortedError(what, opts.signal);
  if (timeout.aborted) {
    throw new TestbedError(TestbedErrorCode.CommandFailed, `${what}: timed out after ${opts.timeoutMs ?? 120_000} ms`);
  }
  if (code !== 0 && !opts.allowFailure) {
    throw new TestbedError(
      TestbedErrorCode.CommandFailed,
      `${what}: exit ${code}\n${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result;
}

/**
 * A fresh temp dir for one component instance, marked with our pid so `cli.ts reap` can remove it if we die.
 * SFTPGATE_TESTBED_TMPDIR overrides the parent directory (default: `parentDir`, else os.tmpdir()).
 */
export function makeTempDir(component: string, parentDir?: string): string {
  const parent = process.env['SFTPGATE_TESTBED_TMPDIR'] ?? parentDir ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, `${TEMP_PREFIX}${component}-`));
  writeFileSync(join(dir, OWNER_FILE), `${process.pid}\n`);
  liveDirs.add(dir);
  installExitHandlers();
  return dir;
}

/** Removes a temp dir unless SFTPGATE_TESTBED_KEEP=1 (to read logs after a run). Never throws. */
export function removeTempDir(dir: string): void {
  liveDirs.delete(dir);
  if (process.env['SFTPGATE_TESTBED_KEEP'] === '1') return;
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // Best effort: `cli.ts reap` removes what is left.
  }
}

/** Calls `stop` when `signal` fires (once). Returns a function that detaches the listener. */
export function stopOnAbort(signal: AbortSignal | undefined, stop: () => Promise<void>): () => void {
  if (!signal) return () => {};
  const onAbort = () => {
    stop().catch(() => {});
  };
  if (signal.aborted) {
    onAbort();
    return () => {};
  }
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** Callbacks run synchronously when the process exits (after the guards were signalled). */
const exitCallbacks = new Set<() => void>();

/** Registers a synchronous cleanup for process exit (e.g. removing port reservations). Returns an unregister. */
export function onProcessExit(fn: () => void): () => void {
  installExitHandlers();
  exitCallbacks.add(fn);
  return () => exitCallbacks.delete(fn);
}

const live = new Set<ChildProcess>();
/** Temp dirs not yet removed: an exiting process removes them (its servers are being stopped by their guards). */
const liveDirs = new Set<string>();
let handlersInstalled = false;

function signalAllGuards(): void {
  for (const child of live) child.kill('SIGTERM');
  for (const fn of exitCallbacks) {
    try {
      fn();
    } catch {
      // Exit path: nothing sensible to do.
    }
  }
  for (const dir of liveDirs) removeTempDir(dir);
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', signalAllGuards);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = () => {
      // A program with its own handler (the CLI) stops things in order itself; the guards are the backstop.
      if (process.listenerCount(sig) > 1) return;
      signalAllGuards();
      // Keep the default "die on this signal".
      process.removeListener(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

/** Our environment plus `extra`, marked with the owner pid, minus node:test's marker (a Node child would otherwise
 * believe it is a test-runner child and speak the runner's protocol on stdout). */
function childEnv(extra: Readonly<Record<string, string>> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, [OWNER_ENV]: String(process.pid) };
  delete env['NODE_TEST_CONTEXT'];
  return env;
}

function unrefStream(stream: unknown): void {
  if (stream && typeof stream === 'object' && 'unref' in stream && typeof stream.unref === 'function') {
    stream.unref();
  }
}

export function tailFile(path: string, lines: number): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n')
      .trimEnd();
  } catch {
    return '';
  }
}

function logTailSuffix(p: ManagedProcess): string {
  const tail = p.logTail();
  return tail ? `\n--- last lines of ${p.logFile} ---\n${tail}` : `\n(log ${p.logFile} is empty)`;
}

function describeExit(s: ExitStatus): string {
  return s.signal ? `signal ${s.signal}` : `code ${s.code}`;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
