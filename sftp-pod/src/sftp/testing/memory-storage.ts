// An in-memory Storage for the SFTP layer's unit tests (codec, dispatcher, fuzzer): it exercises the protocol, not
// S3. Everything S3-specific is tested against real MinIO in test/e2e/. Objects appear only at commit, like S3.
import { StorageError, StorageErrorCode } from '../../storage/errors.ts';
import type { FileInfo, ReadSource, Storage, WriteSink } from '../../storage/types.ts';

interface Obj {
  data: Buffer;
  mtimeMs: number;
}

export class MemoryStorage implements Storage {
  readonly capabilities = { maxRenameObjects: 100, serverSideCopy: true };
  readonly objects = new Map<string, Obj>();
  /** Sinks not yet committed or aborted (a leak check for tests). */
  readonly openSinks = new Set<WriteSink>();
  readonly openSources = new Set<ReadSource>();

  #isDir(key: string): boolean {
    const p = key === '' ? '' : `${key}/`;
    for (const k of this.objects.keys()) if (k.startsWith(p) && k !== key) return true;
    return false;
  }

  async stat(key: string): Promise<FileInfo> {
    const o = this.objects.get(key);
    if (o) return { name: key, kind: 'file', size: o.data.length, mtimeMs: o.mtimeMs, atimeMs: o.mtimeMs };
    if (this.#isDir(key)) return { name: key, kind: 'directory', size: 0, mtimeMs: 0, atimeMs: 0 };
    throw new StorageError(StorageErrorCode.NotFound, `no such file: ${key}`);
  }

  async *list(dirKey: string): AsyncIterable<readonly FileInfo[]> {
    const p = dirKey === '' ? '' : `${dirKey}/`;
    const names = new Map<string, FileInfo>();
    for (const [k, o] of this.objects) {
      if (!k.startsWith(p) || k === p) continue;
      const rest = k.slice(p.length);
      const slash = rest.indexOf('/');
      if (slash < 0) names.set(rest, { name: rest, kind: 'file', size: o.data.length, mtimeMs: o.mtimeMs, atimeMs: 0 });
      else
        names.set(rest.slice(0, slash), {
          name: rest.slice(0, slash),
          kind: 'directory',
          size: 0,
          mtimeMs: 0,
          atimeMs: 0,
        });
    }
    const all = [...names.values()].sort((a, b) => a.name.localeCompare(b.name));
    for (let i = 0; i < all.length; i += 7) yield all.slice(i, i + 7);
  }

  async openRead(key: string): Promise<ReadSource> {
    const o = this.objects.get(key);
    if (!o) throw new StorageError(StorageErrorCode.NotFound, `no such file: ${key}`);
    const source: ReadSource = {
      size: o.data.length,
      read: async (offset, length) => o.data.subarray(offset, offset + length),
      close: async () => {
        this.openSources.delete(source);
      },
    };
    this.openSources.add(source);
    return source;
  }

  async openWrite(key: string, options: { overwrite: boolean }): Promise<WriteSink> {
    if (this.#isDir(key)) throw new StorageError(StorageErrorCode.IsDirectory, `is a directory: ${key}`);
    if (!options.overwrite && this.objects.has(key)) {
      throw new StorageError(StorageErrorCode.PermissionDenied, `overwrite not permitted: ${key}`);
    }
    const chunks = new Map<number, Buffer>();
    let received = 0;
    let mtime = Date.now();
    const sink: WriteSink = {
      write: async (offset, data) => {
        chunks.set(offset, Buffer.from(data));
        received += data.length;
      },
      setTimes: (_a, m) => {
        mtime = m;
      },
      commit: async () => {
        const sorted = [...chunks.entries()].sort((a, b) => a[0] - b[0]);
        let pos = 0;
        for (const [off, b] of sorted) {
          if (off !== pos) throw new StorageError(StorageErrorCode.InvalidWrite, `hole at ${pos}`);
          pos += b.length;
        }
        this.objects.set(key, { data: Buffer.concat(sorted.map(([, b]) => b)), mtimeMs: mtime });
        this.openSinks.delete(sink);
      },
      abort: async () => {
        this.openSinks.delete(sink);
      },
      get bytesReceived() {
        return received;
      },
    };
    this.openSinks.add(sink);
    return sink;
  }

  async mkdir(dirKey: string): Promise<void> {
    if (this.objects.has(dirKey) || this.#isDir(dirKey)) {
      throw new StorageError(StorageErrorCode.AlreadyExists, `already exists: ${dirKey}`);
    }
    this.objects.set(`${dirKey}/`, { data: Buffer.alloc(0), mtimeMs: Date.now() });
  }

  async remove(key: string): Promise<void> {
    if (!this.objects.delete(key)) throw new StorageError(StorageErrorCode.NotFound, `no such file: ${key}`);
  }

  async rmdir(dirKey: string): Promise<void> {
    const p = `${dirKey}/`;
    for (const k of this.objects.keys()) {
      if (k.startsWith(p) && k !== p) throw new StorageError(StorageErrorCode.NotEmpty, `not empty: ${dirKey}`);
    }
    if (!this.objects.delete(p)) throw new StorageError(StorageErrorCode.NotFound, `no such directory: ${dirKey}`);
  }

  async rename(from: string, to: string, options: { overwrite: boolean }): Promise<void> {
    const o = this.objects.get(from);
    if (!o) throw new StorageError(StorageErrorCode.NotFound, `no such file: ${from}`);
    if (!options.overwrite && this.objects.has(to))
      throw new StorageError(StorageErrorCode.AlreadyExists, `exists: ${to}`);
    this.objects.set(to, o);
    this.objects.delete(from);
  }

  async copy(from: string, to: string): Promise<void> {
    const o = this.objects.get(from);
    if (!o) throw new StorageError(StorageErrorCode.NotFound, `no such file: ${from}`);
    this.objects.set(to, { ...o });
  }

  async setTimes(key: string, _a: number, mtimeMs: number): Promise<void> {
    const o = this.objects.get(key);
    if (!o) throw new StorageError(StorageErrorCode.NotFound, `no such file: ${key}`);
    o.mtimeMs = mtimeMs;
  }
}
