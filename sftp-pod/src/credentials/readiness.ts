// The pod's S3 readiness check, made with credentials the pod really holds in its IAM mode (docs/iam.md):
//
//   None: the server's static credentials.
//   STS/AWS: a session minted by the credential broker like a login's, under a policy that only lists the server
//            prefix (identity `@readyz`, which no SFTP username can be). In AWS mode the pod role itself has no S3
//            permission at all, so this also proves the whole chain pod role → data role → S3 before taking traffic.
//
// The probe is ListObjectsV2(Prefix=<server prefix>/, MaxKeys=1): allowed by the server-wide policy's `s3:prefix`
// condition, where HeadBucket would need an unconditioned s3:ListBucket (every key name of a shared bucket).

import type { S3Client } from '../../../common/src/s3/client.ts';
import type { CredentialBroker } from './broker.ts';

/** The broker identity of the readiness session; usernames start with [a-z0-9], so it never names a user. */
export const READINESS_IDENTITY = '@readyz';

/** The readiness session policy: list the server prefix, nothing else. Packed JSON. */
export function readinessPolicy(bucket: string, prefix: string, partition = 'aws'): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  const statement: Record<string, unknown> = {
    Effect: 'Allow',
    Action: 's3:ListBucket',
    Resource: `arn:${partition}:s3:::${bucket}`,
    ...(p === '' ? {} : { Condition: { StringLike: { 's3:prefix': `${p}/*` } } }),
  };
  return JSON.stringify({ Version: '2012-10-17', Statement: [statement] });
}

/** The partition of an ARN (`arn:aws-cn:...` → `aws-cn`); `aws` when there is none. */
export function partitionOf(arn: string | undefined): string {
  return /^arn:([a-z-]+):/.exec(arn ?? '')?.[1] ?? 'aws';
}

export interface S3ReadinessOptions {
  readonly bucket: string;
  readonly prefix: string;
  /** None mode: the base client. */
  readonly baseClient: S3Client;
  /** STS/AWS mode: the broker the logins use. */
  readonly broker?: CredentialBroker | undefined;
  /** Partition of the bucket's ARN in the session policy (from the data role ARN in AWS mode). */
  readonly partition?: string;
  readonly onError?: (err: unknown) => void;
  /** Minimum time between two probes; answers in between reuse the last one. Default 10 s. */
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/** A `/readyz` check: true when the pod's own credentials can list its server prefix. Never throws. */
export function createS3ReadinessCheck(o: S3ReadinessOptions): () => Promise<boolean> {
  const now = o.now ?? Date.now;
  const interval = o.intervalMs ?? 10_000;
  const policy = readinessPolicy(o.bucket, o.prefix, o.partition);
  const p = o.prefix.replace(/^\/+|\/+$/g, '');
  let last: { at: number; ok: Promise<boolean> } | undefined;
  const probe = async (): Promise<boolean> => {
    try {
      const signal = AbortSignal.timeout(o.timeoutMs ?? 5000);
      const client = o.broker
        ? await o.broker.clientFor({ username: READINESS_IDENTITY, sessionPolicy: policy }, 'readyz', signal)
        : o.baseClient;
      await client.listObjectsV2(
        { Bucket: o.bucket, MaxKeys: 1, ...(p === '' ? {} : { Prefix: `${p}/` }) },
        { abortSignal: signal },
      );
      return true;
    } catch (err) {
      o.onError?.(err);
      return false;
    }
  };
  return () => {
    if (!last || now() - last.at > interval) last = { at: now(), ok: probe() };
    return last.ok;
  };
}
