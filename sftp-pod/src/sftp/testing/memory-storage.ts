// An in-memory Storage for the SFTP layer's unit tests (codec, dispatcher, fuzzer): it exercises the protocol, not
// S3. It passes the same storage contract suite as S3Storage (test/integration/storage-contract-memory.test.ts):
// objects appear only at commit, directories are prefixes with optional `dir/` markers, and uploads go through the
// same PartAssembler as S3 uploads, so write ordering, the reorder window, overlaps and holes behave identically.

import { StorageError, StorageErrorCode } from '../../storage/errors.ts';
import { auditMetadata, parseTime, timeMetadata } from '../../storage/object-metadata.ts';
import { PartAssembler, type SlabSource } from '../../storage/part-assembler.ts';
import { appendUnsupported } from '../../storage/resume-open.ts';
import type { FileInfo, ReadSource, Storage, UploadDigests, WriteOptions, WriteSink } from '../../storage/types.ts';
import { digestMetadata, parseDigestMetadata, UploadHasher } from '../../storage/upload-hash.ts';

export interface MemoryObject {
  data: Buffer;
  mtimeMs: number;
  atimeMs?: number;
  /** User metadata as S3 would store it (mtime, atime, sftpgate-user, sftpgate-session). */
  metadata?: Record<string, string>;
}

export interface MemoryStorageOptions {
  readonly maxRenameObjects?: number;
  /** Entries per list page (S3's MaxKeys). */
  readonly pageSize?: number;
  /** Multipart part size (the S3 minimum, 5 MiB, by default). */
  readonly partSize?: number;
  /** Share another MemoryStorage's state (a second view with other options, e.g. page size). */
  readonly shareWith?: MemoryStorage;
}

const notFound = (what: string) => new StorageError(StorageErrorCode.NotFound, `${what}: no such file or directory`);

export class MemoryStorage implements Storage {
  readonly capabilities: { maxRenameObjects: number; serverSideCopy: boolean };
  readonly objects: Map<string, MemoryObject>;
  /** Sinks not yet committed or aborted (a leak check for tests). */
  readonly openSinks: Set<WriteSink>;
  readonly openSources: Set<ReadSource>;
  /** Keys of uploads that sent a part and are not finished (S3's pending multipart uploads). */
  readonly pendingMultipart: Map<WriteSink, string>;
  readonly #pageSize: number;
  readonly #partSize: number;

  constructor(options: MemoryStorageOptions = {}) {
    this.capabilities = { maxRenameObjects: options.maxRenameObjects ?? 100, serverSideCopy: true };
    this.#pageSize = options.pageSize ?? 7;
    this.#partSize = options.partSize ?? 5 * 1024 * 1024;
    const shared = options.shareWith;
    this.objects = shared?.objects ?? new Map();
    this.openSinks = shared?.openSinks ?? new Set();
    this.openSources = shared?.openSources ?? new Set();
    this.pendingMultipart = shared?.pendingMultipart ?? new Map();
  }

  /** Keys under `key/` (the directory's marker included), sorted as S3 lists them. */
  #keysUnder(key: string): string[] {
    const p = key === '' ? '' : `${key}/`;
    return [...this.objects.keys()].filter((k) => k.startsWith(p)).sort();
  }

  #isDir(key: string): boolean {
    return key === '' || this.#keysUnder(key).length > 0;
  }

  async stat(key: string): Promise<FileInfo> {
    if (key === '') return dirInfo('', 0);
    const o = this.objects.get(key);
    if (o) return fileInfo(key, o);
    if (!this.#isDir(key)) throw notFound(`stat ${key}`);
    const marker = this.objects.get(`${key}/`);
    return dirInfo(key, marker ? (parseTime(marker.metadata?.['mtime']) ?? marker.mtimeMs) : 0);
  }

  async *list(dirKey: string): AsyncIterable<readonly FileInfo[]> {
    const p = dirKey === '' ? '' : `${dirKey}/`;
    const names = new Map<string, FileInfo>();
    for (const k of this.#keysUnder(dirKey)) {
      const rest = k.slice(p.length);
      if (rest === '') continue; // the directory's own marker
      const slash = rest.indexOf('/');
      if (slash < 0) names.set(rest, { ...fileInfo(rest, this.objects.get(k) as MemoryObject) });
      else names.set(rest.slice(0, slash), dirInfo(rest.slice(0, slash), 0));
    }
    const all = [...names.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (let i = 0; i < all.length; i += this.#pageSize) yield all.slice(i, i + this.#pageSize);
  }

  async openRead(key: string): Promise<ReadSource> {
    const o = this.objects.get(key);
    if (!o) {
      if (this.#isDir(key)) throw new StorageError(StorageErrorCode.IsDirectory, `open ${key}: is a directory`);
      throw new StorageError(StorageErrorCode.NotFound, `open ${key}: no such file`);
    }
    const data = o.data;
    let closed = false;
    const source: ReadSource = {
      size: data.length,
      read: async (offset, length) => {
        if (closed) throw new StorageError(StorageErrorCode.Failure, `read ${key}: read after close`);
        return data.subarray(offset, offset + length);
      },
      close: async () => {
        closed = true;
        this.openSources.delete(source);
      },
    };
    this.openSources.add(source);
    return source;
  }

  async openWrite(key: string, options: WriteOptions): Promise<WriteSink> {
    if (this.#isDir(key))
      throw new StorageError(StorageErrorCode.IsDirectory, `upload ${key}: a directory has that name`);
    if (!options.overwrite && this.objects.has(key)) {
      throw new StorageError(
        StorageErrorCode.PermissionDenied,
        `upload ${key}: the file exists and may not be overwritten`,
      );
    }
    // No resumable uploads here: APPEND is refused as S3Storage refuses it without an interrupted upload.
    if (options.append) throw appendUnsupported(`upload ${key}`);
    const sink = new MemorySink(this, key, options, this.#partSize);
    this.openSinks.add(sink);
    return sink;
  }

  async mkdir(dirKey: string): Promise<void> {
    if (dirKey === '' || this.objects.has(dirKey) || this.#isDir(dirKey)) {
      throw new StorageError(StorageErrorCode.AlreadyExists, `mkdir ${dirKey}: a file or directory has that name`);
    }
    const now = Date.now();
    this.objects.set(`${dirKey}/`, { data: Buffer.alloc(0), mtimeMs: now, metadata: times(now, now) });
  }

  async remove(key: string): Promise<void> {
    if (this.objects.delete(key) && key !== '') return;
    if (this.#isDir(key)) throw new StorageError(StorageErrorCode.IsDirectory, `remove ${key}: is a directory`);
    throw notFound(`remove ${key}`);
  }

  async rmdir(dirKey: string): Promise<void> {
    if (dirKey === '') throw new StorageError(StorageErrorCode.PermissionDenied, 'rmdir: the root cannot be removed');
    const keys = this.#keysUnder(dirKey);
    if (keys.length === 0) {
      if (this.objects.has(dirKey))
        throw new StorageError(StorageErrorCode.NotDirectory, `rmdir ${dirKey}: not a directory`);
      throw notFound(`rmdir ${dirKey}`);
    }
    if (keys.some((k) => k !== `${dirKey}/`)) {
      throw new StorageError(StorageErrorCode.NotEmpty, `rmdir ${dirKey}: directory not empty`);
    }
    this.objects.delete(`${dirKey}/`);
  }

  async rename(from: string, to: string, options: { overwrite: boolean }): Promise<void> {
    if (from === '' || to === '') {
      throw new StorageError(StorageErrorCode.PermissionDenied, 'rename: the root cannot be renamed or replaced');
    }
    const src = await this.stat(from);
    if (from === to) return;
    const dst = await this.stat(to).catch(() => undefined);
    if (src.kind === 'file') {
      if (dst?.kind === 'directory')
        throw new StorageError(StorageErrorCode.IsDirectory, `rename ${from}: the target is a directory`);
      if (dst && !options.overwrite)
        throw new StorageError(StorageErrorCode.AlreadyExists, `rename ${from}: the target exists`);
      this.objects.set(to, copyOf(this.objects.get(from) as MemoryObject));
      this.objects.delete(from);
      return;
    }
    if (to.startsWith(`${from}/`)) {
      throw new StorageError(StorageErrorCode.Failure, `rename ${from}: cannot move a directory into itself`);
    }
    if (dst) throw new StorageError(StorageErrorCode.AlreadyExists, `rename ${from}: the target exists`);
    const keys = this.#keysUnder(from);
    if (keys.length > this.capabilities.maxRenameObjects) {
      throw new StorageError(
        StorageErrorCode.TooManyObjects,
        `rename ${from}: the directory holds more than ${this.capabilities.maxRenameObjects} objects`,
      );
    }
    for (const k of keys) {
      this.objects.set(`${to}/${k.slice(from.length + 1)}`, copyOf(this.objects.get(k) as MemoryObject));
      this.objects.delete(k);
    }
  }

  async copy(from: string, to: string, options: { overwrite: boolean }): Promise<void> {
    const src = await this.stat(from);
    if (src.kind !== 'file')
      throw new StorageError(StorageErrorCode.IsDirectory, `copy ${from}: only files can be copied`);
    if (from === to) throw new StorageError(StorageErrorCode.AlreadyExists, `copy ${from}: source and target are one`);
    const dst = await this.stat(to).catch(() => undefined);
    if (dst?.kind === 'directory')
      throw new StorageError(StorageErrorCode.IsDirectory, `copy ${from}: the target is a directory`);
    if (dst && !options.overwrite)
      throw new StorageError(StorageErrorCode.AlreadyExists, `copy ${from}: the target exists`);
    this.objects.set(to, copyOf(this.objects.get(from) as MemoryObject));
  }

  /** What S3Storage reads back: the hashes stored as metadata at commit. */
  async digests(key: string): Promise<UploadDigests | undefined> {
    const o = this.objects.get(key);
    if (!o) throw new StorageError(StorageErrorCode.NotFound, `checksum ${key}: no such file`);
    return parseDigestMetadata(o.metadata);
  }

  async setTimes(key: string, atimeMs: number, mtimeMs: number): Promise<void> {
    if (key === '') return;
    const o = this.objects.get(key);
    if (o) {
      Object.assign(o, { mtimeMs, atimeMs, metadata: { ...o.metadata, ...times(atimeMs, mtimeMs) } });
      return;
    }
    if (!this.#isDir(key)) throw notFound(`setstat ${key}`);
    this.objects.set(`${key}/`, { data: Buffer.alloc(0), mtimeMs, atimeMs, metadata: times(atimeMs, mtimeMs) });
  }
}

/** One upload: the shared PartAssembler decides ordering; sealed parts are kept as S3 keeps uploaded parts. */
class MemorySink implements WriteSink {
  readonly #storage: MemoryStorage;
  readonly #key: string;
  readonly #options: WriteOptions;
  readonly #asm: PartAssembler;
  readonly #parts: Buffer[] = [];
  #times: { atimeMs: number; mtimeMs: number };
  #failure: StorageError | undefined;
  #commit: Promise<void> | undefined;
  #committed = false;

  constructor(storage: MemoryStorage, key: string, options: WriteOptions, partSize: number) {
    this.#storage = storage;
    this.#key = key;
    this.#options = options;
    this.#asm = new PartAssembler({ basePartSize: partSize, what: `upload ${key}`, slabs: PLAIN_SLABS });
    const now = Date.now();
    this.#times = { atimeMs: now, mtimeMs: now };
  }

  digests: UploadDigests | undefined;

  get bytesReceived(): number {
    return this.#asm.end;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.#assertWritable();
    for (const slice of this.#asm.plan(offset, data.length)) {
      if (!this.#asm.has(slice.n)) this.#asm.open(slice.n);
      this.#keep(this.#asm.put(slice, data));
    }
  }

  setTimes(atimeMs: number, mtimeMs: number): void {
    this.#times = { atimeMs, mtimeMs };
  }

  commit(): Promise<void> {
    this.#commit ??= (async () => {
      this.#assertWritable();
      try {
        this.#keep(this.#asm.finish());
        // If-None-Match: an object created by someone else during the upload wins.
        if (!this.#options.overwrite && this.#storage.objects.has(this.#key)) {
          throw new StorageError(StorageErrorCode.AlreadyExists, `upload ${this.#key}: the file was created meanwhile`);
        }
      } catch (err) {
        this.#fail(err as StorageError);
        throw err;
      }
      const { atimeMs, mtimeMs } = this.#times;
      const data = Buffer.concat(this.#parts);
      const hasher = new UploadHasher(false);
      hasher.update(data);
      this.digests = hasher.digests();
      this.#storage.objects.set(this.#key, {
        data,
        mtimeMs,
        atimeMs,
        metadata: {
          ...auditMetadata(this.#options.user, this.#options.sessionId),
          ...times(atimeMs, mtimeMs),
          ...digestMetadata(this.digests),
        },
      });
      this.#committed = true;
      this.#done();
    })();
    return this.#commit;
  }

  async abort(reason = 'upload aborted'): Promise<void> {
    if (this.#committed) return;
    this.#fail(new StorageError(StorageErrorCode.Aborted, `upload ${this.#key}: ${reason}`));
  }

  #keep(sealed: readonly { body: readonly Buffer[] }[]): void {
    for (const p of sealed) this.#parts.push(Buffer.concat(p.body));
    if (this.#parts.length > 0 && this.#asm.current > 1) this.#storage.pendingMultipart.set(this, this.#key);
  }

  #assertWritable(): void {
    if (this.#failure) throw this.#failure;
    if (this.#committed)
      throw new StorageError(StorageErrorCode.InvalidWrite, `upload ${this.#key}: upload is committed`);
  }

  #fail(err: StorageError): void {
    this.#failure ??= err;
    this.#asm.drain();
    this.#parts.length = 0;
    this.#done();
  }

  #done(): void {
    this.#storage.openSinks.delete(this);
    this.#storage.pendingMultipart.delete(this);
  }
}

/** Plain allocation: the fake has no budget (256 KiB slabs, as the pod's default). */
const PLAIN_SLABS: SlabSource = {
  slabBytes: 256 * 1024,
  take: () => Buffer.allocUnsafe(256 * 1024),
  give: () => {},
};

function times(atimeMs: number, mtimeMs: number): Record<string, string> {
  return { mtime: timeMetadata(mtimeMs), atime: timeMetadata(atimeMs) };
}

function copyOf(o: MemoryObject): MemoryObject {
  return { ...o, ...(o.metadata ? { metadata: { ...o.metadata } } : {}) };
}

function fileInfo(name: string, o: MemoryObject): FileInfo {
  return { name, kind: 'file', size: o.data.length, mtimeMs: o.mtimeMs, atimeMs: o.atimeMs ?? o.mtimeMs };
}

function dirInfo(name: string, mtimeMs: number): FileInfo {
  return { name, kind: 'directory', size: 0, mtimeMs, atimeMs: mtimeMs };
}
