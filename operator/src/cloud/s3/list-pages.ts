// One paginated ListObjectsV2 walk for the operator's S3 sweeps and measurements: yields each page (1,000 keys at
// most) in key order, following continuation tokens; a failed request throws classifyS3Error naming the prefix. With a
// delimiter, keys past it under the prefix are rolled up into the page's CommonPrefixes (one entry per "directory").
import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { classifyS3Error } from './errors.ts';

export async function* listObjectPages(
  client: S3Client,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
  delimiter?: string,
): AsyncGenerator<ListObjectsV2CommandOutput> {
  let token: string | undefined;
  do {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ...(delimiter ? { Delimiter: delimiter } : {}),
          ...(token ? { ContinuationToken: token } : {}),
        }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (err) {
      throw classifyS3Error(err, `ListObjectsV2 ${bucket}/${prefix}`);
    }
    yield page;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
