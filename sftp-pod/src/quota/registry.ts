// The pod's quota ledgers, one per user, shared by all of that user's sessions on this pod. Every login's storage is
// wrapped, so a quota added to a user applies from the next OPEN of a live session; while a user has no quota the
// wrapper passes everything through (no reservation, no S3 request) and the ledger stays idle.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { S3Client } from '../../../common/src/s3/client.ts';
import type { Storage } from '../storage/types.ts';
import type { UserRecord } from '../users/types.ts';
import { QuotaLedger } from './ledger.ts';
import { QuotaStorage } from './quota-storage.ts';
import { S3UsageStore } from './s3-usage-store.ts';
import type { Limits } from './usage-math.ts';

export interface QuotaRegistryOptions {
  readonly bucket: string;
  readonly serverPrefix: string;
  /** The current record of a user (the users store): limits are read live. */
  readonly userRecord: (username: string) => UserRecord | undefined;
  /** This pod's id in object keys; default `<hostname>-<random>` (unique per process). */
  readonly pod?: string;
  readonly cacheTtlMs?: number;
  readonly leaseTtlMs?: number;
  /** Server-side encryption for the pod's usage objects (the server's `--sse`). */
  readonly sse?: { readonly ServerSideEncryption: 'AES256' | 'aws:kms'; readonly SSEKMSKeyId?: string } | undefined;
}

export function limitsOf(user: Pick<UserRecord, 'quota'> | undefined): Limits {
  return { maxBytes: user?.quota?.maxBytes, maxFiles: user?.quota?.maxFiles };
}

/** A pod id safe in an S3 key: the host name's safe characters plus a random suffix. */
export function defaultPodId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 63) || 'pod';
  return `${host}-${randomBytes(4).toString('hex')}`;
}

export class QuotaRegistry {
  readonly #o: QuotaRegistryOptions;
  readonly #pod: string;
  readonly #ledgers = new Map<string, { ledger: QuotaLedger; client: S3Client }>();

  constructor(o: QuotaRegistryOptions) {
    this.#o = o;
    this.#pod = o.pod ?? defaultPodId();
  }

  get pod(): string {
    return this.#pod;
  }

  /** `storage` as this user may use it: wrapped by the user's ledger (inert while the user has no quota). */
  wrap(user: UserRecord, client: S3Client, storage: Storage): Storage {
    let entry = this.#ledgers.get(user.username);
    if (entry) {
      entry.client = client; // the latest login's credentials (STS/AWS refresh by themselves)
    } else {
      const username = user.username;
      const holder = { client };
      const ledger = new QuotaLedger({
        pod: this.#pod,
        username,
        limits: () => limitsOf(this.#o.userRecord(username)),
        store: new S3UsageStore({
          client: () => holder.client,
          bucket: this.#o.bucket,
          serverPrefix: this.#o.serverPrefix,
          username,
          pod: this.#pod,
          sse: this.#o.sse,
          ...(this.#o.cacheTtlMs !== undefined ? { cacheTtlMs: this.#o.cacheTtlMs } : {}),
        }),
        ...(this.#o.leaseTtlMs !== undefined ? { leaseTtlMs: this.#o.leaseTtlMs } : {}),
      });
      entry = Object.assign(holder, { ledger });
      this.#ledgers.set(username, entry);
    }
    return new QuotaStorage(storage, entry.ledger);
  }

  /** Gives every lease back (shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.#ledgers.values()].map((e) => e.ledger.close()));
  }
}
