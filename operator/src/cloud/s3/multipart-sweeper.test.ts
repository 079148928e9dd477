import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  type MultipartUpload,
  type S3Client,
} from '@aws-sdk/client-s3';
import { S3ManagerError } from './errors.ts';
import {
  runMultipartSweeper,
  staleUploads,
  stateUpload,
  sweepIncompleteUploads,
  sweepIntervalMs,
} from './multipart-sweeper.ts';

const now = new Date('2026-01-02T00:00:00Z');
const at = (iso: string): Date => new Date(iso);

describe('staleUploads', () => {
  const cutoff = at('2026-01-01T00:00:00Z');
  const cases: { name: string; upload: MultipartUpload; stale: boolean }[] = [
    {
      name: 'older than the cutoff',
      upload: { Key: 'k', UploadId: 'u', Initiated: at('2025-12-31T23:00:00Z') },
      stale: true,
    },
    { name: 'exactly at the cutoff is kept', upload: { Key: 'k', UploadId: 'u', Initiated: cutoff }, stale: false },
    { name: 'younger', upload: { Key: 'k', UploadId: 'u', Initiated: at('2026-01-01T01:00:00Z') }, stale: false },
    { name: 'no date: kept', upload: { Key: 'k', UploadId: 'u' }, stale: false },
    { name: 'no upload id: kept', upload: { Key: 'k', Initiated: at('2025-01-01T00:00:00Z') }, stale: false },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(staleUploads([c.upload], cutoff).length, c.stale ? 1 : 0));
  }
});

/** A fake S3 holding uploads, answering ListMultipartUploads in pages of `pageSize`. */
function fakeS3(uploads: MultipartUpload[], pageSize: number, abortError?: { name: string }) {
  const calls: { list: Array<Record<string, unknown>>; aborted: string[] } = { list: [], aborted: [] };
  const client = {
    async send(cmd: unknown) {
      if (cmd instanceof ListMultipartUploadsCommand) {
        const input = cmd.input;
        calls.list.push({ ...input });
        const under = uploads.filter((u) => (u.Key ?? '').startsWith(input.Prefix ?? ''));
        const start = input.UploadIdMarker ? under.findIndex((u) => u.UploadId === input.UploadIdMarker) + 1 : 0;
        const page = under.slice(start, start + pageSize);
        const last = page.at(-1);
        const truncated = start + pageSize < under.length;
        return {
          Uploads: page,
          IsTruncated: truncated,
          ...(truncated && last ? { NextKeyMarker: last.Key, NextUploadIdMarker: last.UploadId } : {}),
        };
      }
      if (cmd instanceof AbortMultipartUploadCommand) {
        if (abortError) throw Object.assign(new Error(abortError.name), abortError);
        calls.aborted.push(String(cmd.input.UploadId));
        return {};
      }
      throw new Error('unexpected command');
    },
  };
  return { client: client as unknown as S3Client, calls };
}

describe('sweepIncompleteUploads', () => {
  const uploads: MultipartUpload[] = [
    { Key: 'servers/a/alice/old1', UploadId: 'o1', Initiated: at('2026-01-01T00:00:00Z') },
    { Key: 'servers/a/alice/new', UploadId: 'n1', Initiated: at('2026-01-01T23:59:00Z') },
    { Key: 'servers/a/bob/old2', UploadId: 'o2', Initiated: at('2025-12-01T00:00:00Z') },
    { Key: 'servers/ab/other', UploadId: 'x1', Initiated: at('2025-01-01T00:00:00Z') },
  ];

  it('aborts only stale uploads under the prefix (never a sibling prefix), across pages', async () => {
    const { client, calls } = fakeS3(uploads, 1);
    const res = await sweepIncompleteUploads(client, 'b', 'servers/a', 3600_000, { now });
    assert.deepEqual(res, { aborted: 2, kept: 1 });
    assert.deepEqual(calls.aborted, ['o1', 'o2']);
    assert.ok(
      calls.list.every((l) => l['Prefix'] === 'servers/a/'),
      'the prefix is a directory key',
    );
    assert.equal(calls.list.length, 3);
  });

  it('an upload finished meanwhile (NoSuchUpload) is not an error', async () => {
    const { client } = fakeS3(uploads, 10, { name: 'NoSuchUpload' });
    assert.deepEqual(await sweepIncompleteUploads(client, 'b', 'servers/a', 3600_000, { now }), {
      aborted: 0,
      kept: 1,
    });
  });

  it('other failures are classified S3 errors', async () => {
    const { client } = fakeS3(uploads, 10, { name: 'AccessDenied' });
    await assert.rejects(
      sweepIncompleteUploads(client, 'b', 'servers/a', 3600_000, { now }),
      (e) => e instanceof S3ManagerError && e.code === 'SFTPGATE_S3_ACCESS_DENIED',
    );
  });
});

describe('sweep loop', () => {
  it('interval: a quarter of the age, within 1 s .. 10 min', () => {
    assert.equal(sweepIntervalMs(100), 1_000);
    assert.equal(sweepIntervalMs(40_000), 10_000);
    assert.equal(sweepIntervalMs(86_400_000), 600_000);
  });

  it('sweeps every target, reports a failing one and keeps going, stops on abort', async () => {
    const stop = new AbortController();
    const seen: string[] = [];
    await runMultipartSweeper({
      maxAgeMs: 1000,
      signal: stop.signal,
      targets: () => [
        { name: 'bad', prefix: 'p', sweep: async () => Promise.reject(new Error('boom')) },
        { name: 'good', prefix: 'q', sweep: async () => ({ aborted: 1, kept: 0 }) },
      ],
      onResult: (name, r) => {
        seen.push(`${name}:${'error' in r ? 'error' : r.aborted}`);
        if (name === 'good') stop.abort();
      },
    });
    assert.deepEqual(seen, ['bad:error', 'good:1']);
  });
});

describe('stateUpload (a resumable-upload state object is never trusted beyond its server prefix)', () => {
  const state = (key: unknown, uploadId: unknown = 'u1') => JSON.stringify({ v: 1, key, uploadId });
  it('names an upload under the prefix', () => {
    assert.deepEqual(stateUpload(state('servers/a/alice/f'), 'servers/a'), {
      key: 'servers/a/alice/f',
      uploadId: 'u1',
    });
  });
  for (const [name, text] of [
    ['a sibling prefix', state('servers/ab/x')],
    ['another server', state('servers/b/alice/f')],
    ['the reserved root itself', state('servers/a/.sftpgate/uploads/alice/x.json')],
    ['no upload id', state('servers/a/alice/f', '')],
    ['a non-string key', state(7)],
    ['not JSON', '{'],
  ] as const) {
    it(`ignores ${name}`, () => assert.equal(stateUpload(text, 'servers/a'), undefined));
  }
});
