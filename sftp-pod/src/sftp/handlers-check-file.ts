// The `check-file-handle` / `check-file-name` extensions (draft-ietf-secsh-filexfer-extensions-00 §3,
// draft-ietf-secsh-filexfer-09 §9.1.2): a client asks for the hash of a file and gets it without downloading it.
// Answered only from the digests stored with the object at upload (storage/s3-digests.ts via Storage.digests), so
// only whole-file requests (offset 0, length 0 or the file's size, one block) with an algorithm the pod computed
// (sha256 always, md5 with --upload-md5); anything else is a clear OP_UNSUPPORTED — never a re-read of the object.
import type { UploadDigests } from '../storage/types.ts';
import { type Reader, Writer } from './codec.ts';
import { PacketType, Status } from './constants.ts';
import { type Args, type Handler, handler, type SessionContext } from './handler.ts';
import { handleArg } from './handlers-files.ts';
import { pathArg, unsupported } from './handlers-paths.ts';
import type { ReadHandle } from './handles.ts';
import { SftpStatusError } from './status-map.ts';

/** Algorithms answered, in the draft's names; the VERSION packet announces them in this order. */
export const CHECK_FILE_ALGORITHMS = ['sha256', 'md5'] as const;
type Algorithm = (typeof CHECK_FILE_ALGORITHMS)[number];

export interface CheckFileRequest {
  readonly algorithms: readonly string[];
  readonly offset: number;
  readonly length: number;
  readonly blockSize: number;
}

interface CheckFileArgs extends Args, CheckFileRequest {}

function decodeRequest(r: Reader): CheckFileRequest {
  const algorithms = r
    .string()
    .split(',')
    .map((a) => a.trim().toLowerCase())
    .filter(Boolean);
  const offset = r.u64();
  const length = r.u64();
  const blockSize = r.u32();
  r.end();
  return { algorithms, offset, length, blockSize };
}

/**
 * Which stored digest answers the request, or why none can. `size` is the file's size when known (a handle), so
 * `length == size` and `blockSize >= size` also mean "the whole file". Pure.
 */
export function chooseDigest(
  req: CheckFileRequest,
  digests: UploadDigests | undefined,
  size: number | undefined,
): { algorithm: Algorithm; hex: string } | { refusal: string } {
  const wholeLength = req.length === 0 || (size !== undefined && req.length >= size);
  const oneBlock = req.blockSize === 0 || (size !== undefined && req.blockSize >= size);
  if (req.offset !== 0 || !wholeLength || !oneBlock) {
    return { refusal: 'check-file: only whole-file hashes are answered (offset 0, length 0, block size 0)' };
  }
  const known = req.algorithms.filter((a): a is Algorithm => (CHECK_FILE_ALGORITHMS as readonly string[]).includes(a));
  if (known.length === 0) {
    return { refusal: `check-file: supported hash algorithms are ${CHECK_FILE_ALGORITHMS.join(', ')}` };
  }
  if (!digests) {
    return {
      refusal: 'check-file: no checksum was stored with this file (uploaded before checksums, or by another tool)',
    };
  }
  for (const algorithm of known) {
    const hex = digests[algorithm];
    if (hex !== undefined) return { algorithm, hex };
  }
  return { refusal: 'check-file: no MD5 was computed for this file (the server computes MD5 only with --upload-md5)' };
}

/** SSH_FXP_EXTENDED_REPLY: "check-file", the algorithm used, then the hash bytes to the end of the packet. */
export function checkFileReply(id: number, algorithm: string, hex: string): Buffer {
  const w = new Writer(PacketType.EXTENDED_REPLY, 64).u32(id).string('check-file').string(algorithm);
  for (const byte of Buffer.from(hex, 'hex')) w.u8(byte);
  return w.finish();
}

async function answer(s: SessionContext, key: string, req: CheckFileRequest, size: number | undefined) {
  if (!s.storage.digests) unsupported('check-file: this storage keeps no checksums');
  let digests: UploadDigests | undefined;
  try {
    digests = await s.storage.digests(key, s.signal);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'SFTPGATE_STORAGE_NOT_FOUND') {
      throw new SftpStatusError(Status.NO_SUCH_FILE, 'no such file');
    }
    throw err;
  }
  const chosen = chooseDigest(req, digests, size);
  if ('refusal' in chosen) unsupported(chosen.refusal);
  return chosen;
}

export const CHECK_FILE_HANDLERS: readonly Handler[] = [
  handler<CheckFileArgs & { readonly handle: ReadHandle }>({
    type: 'check-file-handle',
    op: 'ext:check-file-handle',
    // A read handle: opening it already needed `download`.
    needs: { writes: false, handles: [{ arg: 'handle', kind: 'read', what: 'check-file handle' }] },
    decode(r, s) {
      const handle = handleArg(r, s) as ReadHandle;
      return { handle, ...decodeRequest(r) };
    },
    async run(s, res, a) {
      const { algorithm, hex } = await answer(s, a.handle.path.key, a, a.handle.source.size);
      await res.send(checkFileReply(res.id, algorithm, hex));
    },
  }),
  handler<CheckFileArgs>({
    type: 'check-file-name',
    op: 'ext:check-file-name',
    // A hash tells whether a guess of the content is right: the same right as reading it.
    needs: { writes: false, paths: [{ arg: 'path', permission: 'download' }] },
    decode(r, s) {
      const path = pathArg(r, s);
      return { path, ...decodeRequest(r) };
    },
    async run(s, res, a) {
      const key = a.path?.key ?? '';
      const { algorithm, hex } = await answer(s, key, a, undefined);
      await res.send(checkFileReply(res.id, algorithm, hex));
    },
  }),
];
