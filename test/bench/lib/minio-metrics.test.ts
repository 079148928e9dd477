import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffMinioCounters, parseMinioCounters } from './minio-metrics.ts';

// Lines as MinIO's /minio/v2/metrics/cluster writes them (captured from the test bed's MinIO).
const BEFORE = `# HELP minio_s3_requests_total Total number of S3 requests in the current MinIO server instance
# TYPE minio_s3_requests_total counter
minio_s3_requests_total{api="putbucket",server="127.0.0.1:45803"} 1
minio_s3_requests_total{api="putobject",server="127.0.0.1:45803"} 4
minio_s3_traffic_received_bytes{server="127.0.0.1:45803"} 1000
minio_node_io_write_bytes{server="127.0.0.1:45803"} 90112
minio_node_syscall_write_total{server="127.0.0.1:45803"} 20
`;
const AFTER = `minio_s3_requests_total{api="putbucket",server="127.0.0.1:45803"} 1
minio_s3_requests_total{api="putobject",server="127.0.0.1:45803"} 204
minio_s3_requests_total{api="headobject",server="127.0.0.1:45803"} 200
minio_s3_traffic_received_bytes{server="127.0.0.1:45803"} 820200
minio_node_io_write_bytes{server="127.0.0.1:45803"} 1000000
`;

test('parseMinioCounters sums requests by api and reads the byte counters', () => {
  assert.deepEqual(parseMinioCounters(BEFORE), {
    requestsByApi: { putbucket: 1, putobject: 4 },
    receivedBytes: 1000,
    writtenBytes: 90112,
  });
});

test('diffMinioCounters keeps the APIs that moved and the byte differences', () => {
  assert.deepEqual(diffMinioCounters(parseMinioCounters(AFTER), parseMinioCounters(BEFORE)), {
    requestsByApi: { putobject: 200, headobject: 200 },
    receivedBytes: 819200,
    writtenBytes: 909888,
  });
});

test('an exposition without MinIO counters reads as zero', () => {
  assert.deepEqual(parseMinioCounters('# nothing\n'), { requestsByApi: {}, receivedBytes: 0, writtenBytes: 0 });
});
