// Every reply the server sends, encoded in one place (the request handlers never build packets themselves).
import type { FileInfo, StorageUsage } from '../storage/types.ts';
import { longName, toAttrs } from './attrs.ts';
import { type Attrs, Writer } from './codec.ts';
import {
  MAX_MESSAGE_LENGTH,
  MAX_READ_LENGTH,
  MAX_WRITE_LENGTH,
  PacketType,
  SFTP_VERSION,
  type StatusCode,
} from './constants.ts';
import { escapeName } from './names.ts';

/** Extensions announced in VERSION, with their version strings (docs/sftp-pod.md "Extensions"). */
export const ANNOUNCED_EXTENSIONS: readonly (readonly [name: string, version: string])[] = [
  ['posix-rename@openssh.com', '1'],
  ['statvfs@openssh.com', '2'],
  ['fstatvfs@openssh.com', '2'],
  ['fsync@openssh.com', '1'],
  ['limits@openssh.com', '1'],
  ['copy-data', '1'],
  // draft-ietf-secsh-filexfer-extensions: the data is the comma-separated algorithm list (handlers-check-file.ts).
  ['check-file', 'sha256,md5'],
];

export function versionReply(): Buffer {
  const w = new Writer(PacketType.VERSION, 256).u32(SFTP_VERSION);
  for (const [name, data] of ANNOUNCED_EXTENSIONS) w.string(name).string(data);
  return w.finish();
}

export function statusReply(id: number, code: StatusCode, message: string): Buffer {
  return new Writer(PacketType.STATUS, 32 + message.length).u32(id).u32(code).string(message).string('').finish();
}

export function handleReply(id: number, handle: Buffer): Buffer {
  return new Writer(PacketType.HANDLE, 32).u32(id).bytes(handle).finish();
}

export function attrsReply(id: number, attrs: Attrs): Buffer {
  return new Writer(PacketType.ATTRS, 48).u32(id).attrs(attrs).finish();
}

/** REALPATH's answer: one name, itself as long name, empty attributes (as OpenSSH's sftp-server). */
export function realpathReply(id: number, name: string): Buffer {
  return new Writer(PacketType.NAME, 64 + name.length).u32(id).u32(1).string(name).string(name).attrs({}).finish();
}

/**
 * READDIR's answer: names with `ls -l` long names (owner and group = the login name). The long name is one line,
 * so control characters and backslashes in it are escaped; the name itself stays raw for the client to address it.
 */
export function namesReply(id: number, entries: readonly FileInfo[], owner: string, now = Date.now()): Buffer {
  const w = new Writer(PacketType.NAME, 8192).u32(id).u32(entries.length);
  for (const e of entries)
    w.string(e.name)
      .string(longName(e, escapeName(e.name), owner, now))
      .attrs(toAttrs(e));
  return w.finish();
}

/**
 * The 13-byte header of a DATA reply; the payload is written after it separately: copying up to 255 KiB into a reply
 * buffer per READ was a measurable share of the download CPU (allocation + GC). The session writes both in one corked
 * channel write, so ssh2 packs the header into the payload's first SSH packet (session.ts `#sendData`).
 */
export function dataHeader(id: number, length: number): Buffer {
  const head = Buffer.allocUnsafe(13);
  head.writeUInt32BE(9 + length, 0);
  head[4] = PacketType.DATA;
  head.writeUInt32BE(id, 5);
  head.writeUInt32BE(length, 9);
  return head;
}

/** limits@openssh.com: max packet, max read, max write, max open handles. */
export function limitsReply(id: number, maxHandles: number): Buffer {
  return new Writer(PacketType.EXTENDED_REPLY, 40)
    .u32(id)
    .u64(MAX_MESSAGE_LENGTH)
    .u64(MAX_READ_LENGTH)
    .u64(MAX_WRITE_LENGTH)
    .u64(maxHandles)
    .finish();
}

/**
 * statvfs@openssh.com. With a quota: size = the byte limit, free = limit - used cluster-wide (never negative), files
 * likewise; a dimension without a limit reports 1 PiB / 2^32 files minus what is used. Without a quota (no usage):
 * 1 PiB free so clients never refuse uploads. 4 KiB blocks; used bytes are rounded up to whole blocks.
 */
export function statvfsReply(id: number, usage: StorageUsage | undefined): Buffer {
  const frsize = 4096;
  const blocks = Math.floor((usage?.maxBytes ?? 2 ** 50) / frsize);
  const usedBlocks = Math.ceil((usage?.usedBytes ?? 0) / frsize);
  const freeBlocks = Math.max(0, blocks - usedBlocks);
  const files = usage?.maxFiles ?? 2 ** 32;
  const freeFiles = Math.max(0, files - (usage?.usedFiles ?? 0));
  return new Writer(PacketType.EXTENDED_REPLY, 100)
    .u32(id)
    .u64(frsize) // f_bsize
    .u64(frsize) // f_frsize
    .u64(blocks) // f_blocks
    .u64(freeBlocks) // f_bfree
    .u64(freeBlocks) // f_bavail
    .u64(files) // f_files
    .u64(freeFiles) // f_ffree
    .u64(freeFiles) // f_favail
    .u64(0) // f_fsid
    .u64(0) // f_flag
    .u64(255) // f_namemax
    .finish();
}
