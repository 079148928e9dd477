// The storage contract (storage-contract-suite.ts) run against MemoryStorage, the fake behind the SFTP layer's unit
// tests, so it cannot drift from S3Storage. No components needed: it runs in a second.

import { MemoryStorage } from '../../sftp-pod/src/sftp/testing/memory-storage.ts';
import { PART, storageContract } from './storage-contract-suite.ts';

storageContract(
  'MemoryStorage',
  async () => {
    const storage = new MemoryStorage({ maxRenameObjects: 4, partSize: PART });
    return {
      storage,
      pagedStorage: (pageSize) =>
        new MemoryStorage({ maxRenameObjects: 4, partSize: PART, pageSize, shareWith: storage }),
      partSize: PART,
      objectBytes: async (key) => storage.objects.get(key)?.data,
      objectMetadata: async (key) => {
        const o = storage.objects.get(key);
        return o === undefined ? undefined : (o.metadata ?? {});
      },
      keys: async (prefix) => [...storage.objects.keys()].filter((k) => k.startsWith(prefix)).sort(),
      pendingUploads: async (prefix) =>
        [...storage.pendingMultipart.values()].filter((k) => k.startsWith(prefix)).length,
      putRaw: async (key, body) => {
        storage.objects.set(key, { data: Buffer.from(body), mtimeMs: Date.now() });
      },
    };
  },
  async () => {},
);
