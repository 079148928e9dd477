// FileInfo -> SFTP attributes and `ls -l` style long names (the format of OpenSSH sftp-server's ls_file()).
import type { FileInfo } from '../storage/types.ts';
import type { Attrs } from './codec.ts';
import { S_IFDIR, S_IFREG } from './constants.ts';

/** Modes we report: object storage has none, so every file looks like 0644 and every directory like 0755. */
export const FILE_MODE = S_IFREG | 0o644;
export const DIR_MODE = S_IFDIR | 0o755;

export function toAttrs(info: Pick<FileInfo, 'kind' | 'size' | 'mtimeMs' | 'atimeMs'>): Attrs {
  return {
    size: info.kind === 'directory' ? 0 : info.size,
    permissions: info.kind === 'directory' ? DIR_MODE : FILE_MODE,
    atime: Math.floor(info.atimeMs / 1000),
    mtime: Math.floor(info.mtimeMs / 1000),
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const SIX_MONTHS_MS = 182 * 24 * 3600 * 1000;

function modeString(kind: FileInfo['kind']): string {
  return kind === 'directory' ? 'drwxr-xr-x' : '-rw-r--r--';
}

/** `ls -l` line as OpenSSH prints it; owner/group are the login name (there is no other owner on object storage). */
export function longName(
  info: Pick<FileInfo, 'kind' | 'size' | 'mtimeMs'>,
  name: string,
  owner: string,
  now = Date.now(),
) {
  const d = new Date(info.mtimeMs);
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const recent = Math.abs(now - info.mtimeMs) < SIX_MONTHS_MS;
  const when = recent
    ? `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`
    : ` ${d.getUTCFullYear()}`;
  const size = String(info.kind === 'directory' ? 0 : info.size).padStart(8, ' ');
  const o = owner.padEnd(8, ' ');
  return `${modeString(info.kind)}    1 ${o} ${o} ${size} ${MONTHS[d.getUTCMonth()]} ${day} ${when} ${name}`;
}
