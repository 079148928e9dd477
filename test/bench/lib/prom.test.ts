import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStat } from './procfs.ts';
import {
  addHistograms,
  bucketAround,
  diffHistogram,
  histogramOf,
  histogramQuantile,
  parseProm,
  sumBy,
  sumOf,
} from './prom.ts';

const scrape = (lag: [number, number, number, number], count: number, sum: number, puts: number) => `
# HELP sftpgate_upload_finalize_lag_seconds CLOSE received -> S3 confirmed the object
# TYPE sftpgate_upload_finalize_lag_seconds histogram
sftpgate_upload_finalize_lag_seconds_bucket{le="0.1"} ${lag[0]}
sftpgate_upload_finalize_lag_seconds_bucket{le="0.25"} ${lag[1]}
sftpgate_upload_finalize_lag_seconds_bucket{le="0.5"} ${lag[2]}
sftpgate_upload_finalize_lag_seconds_bucket{le="+Inf"} ${lag[3]}
sftpgate_upload_finalize_lag_seconds_sum ${sum}
sftpgate_upload_finalize_lag_seconds_count ${count}
sftpgate_s3_requests_total{operation="UploadPart",result="ok"} ${puts}
sftpgate_s3_requests_total{operation="UploadPart",result="error"} 1
sftpgate_s3_requests_total{operation="CompleteMultipartUpload",result="ok"} 2
sftpgate_build_info{version="1.0 \\"x\\""} 1
`;

test('counters: sums over label subsets and groups by one label', () => {
  const s = parseProm(scrape([0, 0, 0, 0], 0, 0, 128));
  assert.equal(sumOf(s, 'sftpgate_s3_requests_total'), 131);
  assert.equal(sumOf(s, 'sftpgate_s3_requests_total', { result: 'ok' }), 130);
  assert.deepEqual(sumBy(s, 'sftpgate_s3_requests_total', 'operation'), {
    UploadPart: 129,
    CompleteMultipartUpload: 2,
  });
  assert.equal(s.find((x) => x.name === 'sftpgate_build_info')?.labels['version'], '1.0 "x"');
});

test('histogram diff and quantiles interpolate inside the bucket, +Inf answers the top finite bound', () => {
  const before = histogramOf(parseProm(scrape([1, 1, 1, 1], 1, 0.05, 0)), 'sftpgate_upload_finalize_lag_seconds');
  const after = histogramOf(parseProm(scrape([1, 3, 5, 5], 5, 1.5, 0)), 'sftpgate_upload_finalize_lag_seconds');
  const d = diffHistogram(after, before);
  assert.equal(d.count, 4);
  assert.deepEqual(
    d.buckets.map((b) => b.count),
    [0, 2, 4, 4],
  );
  // rank 2 of 4 sits at the top of the 0.1-0.25 bucket; rank 3.96 is 98% through 0.25-0.5.
  assert.equal(histogramQuantile(0.5, d), 0.25);
  assert.ok(Math.abs(histogramQuantile(0.99, d) - (0.25 + 0.25 * 0.98)) < 1e-9);
  assert.equal(bucketAround(0.3, d), '0.25-0.5');
  const inf = histogramOf(parseProm(scrape([0, 0, 0, 2], 2, 9, 0)), 'sftpgate_upload_finalize_lag_seconds');
  assert.equal(histogramQuantile(0.5, inf), 0.5);
  assert.ok(Number.isNaN(histogramQuantile(0.5, diffHistogram(before, before))));
  assert.equal(addHistograms(d, d).count, 8);
});

test('/proc stat parsing survives spaces and parentheses in the command name', () => {
  // Fields after the name: state ppid ... utime(14) stime(15) cutime(16) cstime(17).
  const rest = ['S', '7', ...Array.from({ length: 9 }, () => '0'), '150', '50', '20', '5', '0'].join(' ');
  const s = parseStat(`42 (sshd: root@notty (x)) ${rest}`);
  assert.deepEqual(s, { pid: 42, ppid: 7, userTicks: 170, systemTicks: 55, reapedTicks: 25 });
});
