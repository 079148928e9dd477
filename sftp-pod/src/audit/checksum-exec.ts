// The only SSH `exec` requests the pod answers, the way SFTPGo does for rclone: `md5sum <path>` and `sha256sum <path>`
// for one path inside the user's jail, answered from the hash stored with the object at upload (never by re-reading
// it), in coreutils format `<hex>  <path>\n`. Nothing is ever executed: the command line is parsed here, and anything
// else — another command, a second argument, shell syntax, sha1sum (never computed) — is refused with a message and
// exit status 1. Pure parsing plus one storage read; the SSH layer (ssh/session-channels.ts) wires the channel.
import type { PathJail } from '../storage/jail.ts';
import type { Storage, UploadDigests } from '../storage/types.ts';

export type ChecksumAlgorithm = 'md5' | 'sha256';

const COMMANDS: Readonly<Record<string, ChecksumAlgorithm>> = { md5sum: 'md5', sha256sum: 'sha256' };
const MAX_COMMAND_BYTES = 4096;
/** Unquoted characters that only make sense to a shell: such a command line is refused, never interpreted. */
const SHELL_SYNTAX = new Set([';', '|', '&', '<', '>', '(', ')', '$', '`', '*', '?', '[', '{', '}', '~', '#', '!']);

export type ParsedCommand =
  | { readonly ok: true; readonly command: string; readonly algorithm: ChecksumAlgorithm; readonly path: string }
  | { readonly ok: false; readonly command: string | undefined; readonly refusal: string };

/**
 * Splits a command line into words the way a POSIX shell quotes them (backslash escapes, '...' and "..."), refusing
 * unquoted shell syntax. Returns undefined on unbalanced quotes or shell syntax.
 */
export function splitWords(line: string): string[] | undefined {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === '\\') {
      if (i + 1 >= line.length) return undefined;
      cur += line[++i];
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return undefined;
      cur += line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        const d = line[j] as string;
        if (d === '$' || d === '`') return undefined;
        if (d === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1] as string)) j++;
        cur += line[j];
      }
      if (j >= line.length) return undefined;
      i = j;
    } else if (SHELL_SYNTAX.has(c) || c === '\n' || c === '\r') {
      return undefined;
    } else {
      cur += c;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/**
 * Whether a command line names one of the checksum commands at all (md5sum, sha256sum, or the refused sha1sum):
 * any other exec request is rejected at the SSH level, without opening a channel.
 */
export function namesChecksumCommand(line: string): boolean {
  const name = commandName(line);
  return name === 'sha1sum' || (name !== undefined && Object.hasOwn(COMMANDS, name));
}

/** The command's name for logs and audit: its first word when that looks like a command name, else undefined. */
export function commandName(line: string): string | undefined {
  const first = line.trim().split(/\s/)[0];
  return first !== undefined && /^[a-z0-9]{1,16}$/.test(first) ? first : undefined;
}

/** Parses an exec request's command line. Pure. */
export function parseChecksumCommand(line: string): ParsedCommand {
  if (Buffer.byteLength(line, 'utf8') > MAX_COMMAND_BYTES) {
    return { ok: false, command: undefined, refusal: 'command line too long' };
  }
  const words = splitWords(line.trim());
  const command = commandName(words?.[0] ?? line);
  if (command === 'sha1sum') {
    return { ok: false, command, refusal: 'sha1sum is not supported: this server stores SHA-256 (and MD5 if enabled)' };
  }
  const algorithm = command !== undefined ? COMMANDS[command] : undefined;
  if (command === undefined || algorithm === undefined) {
    return {
      ok: false,
      command,
      refusal: 'only md5sum and sha256sum of one file are answered; nothing else runs here',
    };
  }
  if (!words) return { ok: false, command, refusal: `${command}: unsupported quoting or shell syntax` };
  if (words.length !== 2 || (words[1] as string).startsWith('-') || words[1] === '') {
    return { ok: false, command, refusal: `${command}: exactly one file path, no options` };
  }
  return { ok: true, command, algorithm, path: words[1] as string };
}

export interface ChecksumAnswer {
  readonly exitCode: 0 | 1;
  readonly stdout: string;
  readonly stderr: string;
  /** For the audit event. */
  readonly command: string | undefined;
  readonly path?: { readonly virtualPath: string; readonly key: string };
  /** SFTP-style status label for the audit event. */
  readonly status: 'ok' | 'permission_denied' | 'no_such_file' | 'op_unsupported' | 'failure';
}

/** The answer to one exec request. Never throws; never executes anything. */
export async function answerChecksum(
  line: string,
  jail: PathJail,
  storage: Pick<Storage, 'digests'>,
  signal?: AbortSignal,
): Promise<ChecksumAnswer> {
  const parsed = parseChecksumCommand(line);
  if (!parsed.ok) {
    return refusal(parsed.command, 'op_unsupported', `${parsed.refusal}\n`);
  }
  const { command, algorithm } = parsed;
  let p: ReturnType<PathJail['resolve']>;
  try {
    p = jail.resolve(parsed.path);
  } catch {
    return refusal(command, 'no_such_file', `${command}: invalid path\n`);
  }
  const path = { virtualPath: p.virtualPath, key: p.key };
  // A hash says whether a guess of the content is right: the same right as reading it, or as having written it.
  if (!p.permissions.has('download') && !p.parentPermissions.has('upload')) {
    return { ...refusal(command, 'permission_denied', `${command}: ${p.virtualPath}: Permission denied\n`), path };
  }
  let digests: UploadDigests | undefined;
  try {
    digests = await storage.digests?.(p.key, signal);
  } catch (err) {
    const notFound = (err as { code?: unknown }).code === 'SFTPGATE_STORAGE_NOT_FOUND';
    const msg = notFound ? 'No such file or directory' : 'cannot read the stored checksum';
    return {
      ...refusal(command, notFound ? 'no_such_file' : 'failure', `${command}: ${p.virtualPath}: ${msg}\n`),
      path,
    };
  }
  const hex = digests?.[algorithm];
  if (hex === undefined) {
    const why =
      algorithm === 'md5' && digests !== undefined
        ? 'no MD5 was computed for this file (the server computes MD5 only with --upload-md5)'
        : 'no checksum was stored with this file (uploaded before checksums, or by another tool)';
    return { ...refusal(command, 'op_unsupported', `${command}: ${p.virtualPath}: ${why}\n`), path };
  }
  // coreutils prints the argument as given; a name with a newline or backslash would be escaped there, here refused.
  if (/[\n\\]/.test(parsed.path)) {
    return {
      ...refusal(command, 'op_unsupported', `${command}: names with newlines or backslashes are not answered\n`),
      path,
    };
  }
  return { exitCode: 0, stdout: `${hex}  ${parsed.path}\n`, stderr: '', command, path, status: 'ok' };
}

function refusal(command: string | undefined, status: ChecksumAnswer['status'], stderr: string): ChecksumAnswer {
  return { exitCode: 1, stdout: '', stderr, command, status };
}
