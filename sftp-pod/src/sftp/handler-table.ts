// The request table (OpenSSH sftp-server.c's `handlers[]`): one entry per SFTP v3 request type and per extension
// name. session.ts looks a request up here, access.ts checks the entry's `needs`, then the entry's `run` serves it.
import { PacketType } from './constants.ts';
import type { Handler } from './handler.ts';
import { CHECK_FILE_HANDLERS } from './handlers-check-file.ts';
import { EXTENDED_HANDLERS } from './handlers-extended.ts';
import { FILE_HANDLERS } from './handlers-files.ts';
import { PATH_HANDLERS } from './handlers-paths.ts';
import { SETSTAT_HANDLERS } from './handlers-setstat.ts';

/** Every entry, requests first, then extensions. */
export const HANDLERS: readonly Handler[] = [
  ...FILE_HANDLERS,
  ...PATH_HANDLERS,
  ...SETSTAT_HANDLERS,
  ...EXTENDED_HANDLERS,
  ...CHECK_FILE_HANDLERS,
];

function index<K extends number | string>(entries: readonly Handler[], keyOf: (h: Handler) => K | undefined) {
  const map = new Map<K, Handler>();
  for (const h of entries) {
    const k = keyOf(h);
    if (k === undefined) continue;
    if (map.has(k)) throw new Error(`two handler table entries for ${String(k)}`);
    map.set(k, h);
  }
  return map;
}

const BY_TYPE = index(HANDLERS, (h) => (typeof h.type === 'number' ? h.type : undefined));
const BY_EXTENSION = index(HANDLERS, (h) => (typeof h.type === 'string' ? h.type : undefined));

/** The entry for a request type (not INIT, which the session handles, nor EXTENDED: see extensionHandler). */
export function requestHandler(type: number): Handler | undefined {
  return type === PacketType.EXTENDED ? undefined : BY_TYPE.get(type);
}

export function extensionHandler(name: string): Handler | undefined {
  return BY_EXTENSION.get(name);
}
