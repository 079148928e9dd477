// The storage contract (storage-contract-suite.ts) run against S3Storage on a real MinIO and on moto (a second S3
// implementation: conditional PutObject/Complete, the one-listing name probe and tags behave alike on both).

import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { S3Client as LeanS3Client } from '../../common/src/s3/client.ts';
import { ByteBudget } from '../../sftp-pod/src/storage/budget.ts';
import { S3Storage } from '../../sftp-pod/src/storage/s3-storage.ts';
import type { Storage } from '../../sftp-pod/src/storage/types.ts';
import { startMinio } from '../infra/index.ts';
import { startMoto } from '../infra/moto.ts';
import { PART, storageContract } from './storage-contract-suite.ts';

const MiB = 1024 * 1024;

const bucket = 'contract';
const prefix = `run-${randomBytes(4).toString('hex')}`;

/** Keys the suite uses are relative; the backend prefixes them so runs never collide. */
function prefixed(storage: S3Storage): Storage {
  const k = (key: string) => (key === '' ? prefix : `${prefix}/${key}`);
  return {
    capabilities: storage.capabilities,
    stat: async (key, s) => {
      const info = await storage.stat(k(key), s);
      return key === '' ? { ...info, name: '' } : info;
    },
    list: (dir, s) => storage.list(k(dir), s),
    openRead: (key, s) => storage.openRead(k(key), s),
    openWrite: (key, o, s) => storage.openWrite(k(key), o, s),
    mkdir: (key, s) => storage.mkdir(k(key), s),
    remove: (key, s) => storage.remove(k(key), s),
    rmdir: (key, s) => storage.rmdir(k(key), s),
    rename: (a, c, o, s) => storage.rename(k(a), k(c), o, s),
    copy: (a, c, o, s) => storage.copy(k(a), k(c), o, s),
    setTimes: (key, a, m, s) => storage.setTimes(k(key), a, m, s),
  };
}

interface Store {
  /** The AWS SDK, to check what was stored independently of the pod's client. */
  readonly client: S3Client;
  /** The pod's own S3 client (common/src/s3), which S3Storage uses. */
  readonly lean: LeanS3Client;
  stop(): Promise<void>;
}

const STORES: Record<string, () => Promise<Store>> = {
  MinIO: async () => {
    const minio = await startMinio();
    await minio.createBucket(bucket);
    const lean = new LeanS3Client({
      endpoint: minio.endpoint,
      region: minio.region,
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
    });
    return { client: minio.s3(), lean, stop: () => minio.stop() };
  },
  moto: async () => {
    const moto = await startMoto();
    const client = new S3Client({
      endpoint: moto.endpoint,
      region: moto.region,
      forcePathStyle: true,
      credentials: moto.credentials,
    });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const lean = new LeanS3Client({
      endpoint: moto.endpoint,
      region: moto.region,
      forcePathStyle: true,
      credentials: moto.credentials,
    });
    return {
      client,
      lean,
      stop: async () => {
        client.destroy();
        await moto.stop();
      },
    };
  },
};

for (const [name, start] of Object.entries(STORES)) {
  let store: Store | undefined;
  storageContract(
    `S3Storage on ${name}`,
    async () => {
      store = await start();
      const client = store.client;
      const make = (listPageSize?: number) =>
        new S3Storage({
          client: store?.lean as LeanS3Client,
          bucket,
          partSize: PART,
          uploadConcurrency: 2,
          downloadConcurrency: 3,
          podBudget: new ByteBudget(64 * MiB),
          maxRenameObjects: 4,
          ...(listPageSize === undefined ? {} : { listPageSize }),
        });
      const full = (key: string) => `${prefix}/${key}`;
      return {
        storage: prefixed(make()),
        pagedStorage: (n) => prefixed(make(n)),
        partSize: PART,
        objectBytes: async (key) => {
          try {
            const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: full(key) }));
            return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
          } catch (err) {
            if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
            throw err;
          }
        },
        objectMetadata: async (key) => {
          try {
            return (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: full(key) }))).Metadata ?? {};
          } catch {
            return undefined;
          }
        },
        keys: async (p) => {
          const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: full(p) }));
          return (out.Contents ?? []).map((c) => (c.Key ?? '').slice(prefix.length + 1));
        },
        pendingUploads: async (p) => {
          const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: full(p) }));
          return out.Uploads?.length ?? 0;
        },
        putRaw: async (key, body) => {
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: full(key), Body: body }));
        },
      };
    },
    async () => {
      await store?.stop();
    },
  );
}
