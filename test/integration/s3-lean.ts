// The pod's own S3 client (common/src/s3) on a test MinIO or moto, as the pod builds it: path-style, the launcher's
// credentials unless others are given, the launcher's CA with `tls`. Tests keep the AWS SDK (minio.s3()) to check what
// was stored independently of the client under test.
import { readFileSync } from 'node:fs';
import { S3Client as LeanS3Client, type S3ClientConfig } from '../../common/src/s3/client.ts';
import type { Credentials } from '../../common/src/s3/credentials.ts';

interface Endpointish {
  readonly endpoint: string;
  readonly region: string;
  readonly caPath?: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly credentials?: Credentials;
}

export function leanS3(
  at: Endpointish,
  credentials?: S3ClientConfig['credentials'],
  extra: Partial<S3ClientConfig> = {},
): LeanS3Client {
  const own =
    at.credentials ??
    (at.accessKeyId && at.secretAccessKey
      ? { accessKeyId: at.accessKeyId, secretAccessKey: at.secretAccessKey }
      : undefined);
  return new LeanS3Client({
    endpoint: at.endpoint,
    region: at.region,
    forcePathStyle: true,
    credentials: credentials ?? own,
    ...(at.caPath ? { ca: readFileSync(at.caPath, 'utf8') } : {}),
    ...extra,
  });
}

export { LeanS3Client };
