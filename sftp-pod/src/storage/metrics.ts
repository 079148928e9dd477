// What the storage layer reports, as plain callbacks: the telemetry module (owned by the SFTP layer) turns them into
// prom-client series (docs/metrics.md), so storage never imports prom-client and tests can record calls directly.
// Every callback is optional and must not throw; values are base units (seconds, bytes).

export type S3RequestResult = 'ok' | 'error';

export interface StorageMetrics {
  /** One S3 call (after the SDK's own retries): sftpgate_s3_requests_total / _request_duration_seconds. */
  s3Request?(operation: string, result: S3RequestResult, seconds: number): void;
  /** One UploadPart call that succeeded: sftpgate_upload_part_duration_seconds. */
  partUploaded?(seconds: number, bytes: number): void;
  /** Bytes received from clients but not yet confirmed by S3 changed by `delta`: sftpgate_upload_buffered_bytes. */
  bufferedBytes?(delta: number): void;
  /** commit() start → S3 confirmed (or failed): sftpgate_upload_finalize_lag_seconds. */
  finalizeLag?(seconds: number, result: S3RequestResult): void;
}
