// READDIR's stored-time lookups are bounded (docs/decisions.md "Listing times, bounded"), counted by the pod's own
// sftpgate_s3_requests_total against real MinIO, with an ssh2 client sending raw READDIR packets:
//  - attack: a user lists a directory of 300 files twice, as fast as they can. The pod spends at most the user's
//    budget (burst + rate × seconds) on HeadObject/GetObjectTagging, never fails or stalls the listing, and answers
//    each READDIR that looks files up with at most --listing-times-max-per-page entries;
//  - the feature stays useful: files within the budget show their stored times (SETSTAT tags, PutObject metadata),
//    the others S3's LastModified; another user listing the same directory has a budget of their own.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type ssh2 from 'ssh2';
import { BUCKET, type Harness, PREFIX, startHarness } from '../e2e/sftp-harness.ts';
import { call, sftpOf as connectSftp, type Ssh2Client } from './ssh2-sftp.ts';

type SFTPWrapper = ssh2.SFTPWrapper;
const MAX_PER_PAGE = 50;
// The burst (50) covers the first wave of 16 lookups in flight and the tags of f-000..f-004; the rate is small enough
// that no refill during the test reaches the last files (about 240 lookups at 5/s: 48 s).
const RATE = 5; // burst: 10 s of it
const BURST = 10 * RATE;
const FILES = 300;
const STORED = 1_000_000_000; // 2001-09-09, far from any LastModified
const name = (i: number) => `f-${String(i).padStart(3, '0')}`;
let h: Harness;
const clients: Ssh2Client[] = [];

before(async () => {
  h = await startHarness({
    args: [`--listing-times-max-per-page=${MAX_PER_PAGE}`, `--listing-times-rate=${RATE}`],
  });
  for (let i = 0; i < FILES; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, FILES - i) }, (_, j) => {
        const n = i + j;
        // f-005..f-009 and f-295..f-299 carry times as a small `put -p` upload does: in the PutObject metadata.
        const stored = (n >= 5 && n < 10) || n >= 295;
        return h.s3.send(
          new PutObjectCommand({
            Bucket: BUCKET,
            Key: `${PREFIX}/alice/many/${name(n)}`,
            Body: 'x',
            ...(stored ? { Metadata: { mtime: `${STORED}.000`, atime: `${STORED}.000` } } : {}),
          }),
        );
      }),
    );
  }
  // f-000..f-004 and f-290..f-294 get times by SETSTAT: object tags (a lookup is 2 requests).
  const s = await sftpOf('alice');
  for (const n of [0, 1, 2, 3, 4, 290, 291, 292, 293, 294]) {
    await call<void>((cb) => s.utimes(`/many/${name(n)}`, STORED, STORED, (err) => cb(err, undefined)));
  }
});
after(async () => {
  for (const c of clients) c.end();
  await h?.stop();
});

/** The pod's HeadObject + GetObjectTagging requests so far. */
async function lookups(): Promise<number> {
  const text = await (await fetch(`${h.metricsUrl}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^sftpgate_s3_requests_total\{([^}]*)\} (\S+)$/gm)) {
    if (/operation="(HeadObject|GetObjectTagging)"/.test(m[1] ?? '')) n += Number(m[2]);
  }
  return n;
}

const sftpOf = (user: string) => connectSftp(h, clients, user);

/** One listing, READDIR by READDIR: the replies' sizes and each file's mtime. */
async function listing(s: SFTPWrapper, dir: string): Promise<{ replies: number[]; mtimes: Map<string, number> }> {
  const handle = await call<Buffer>((cb) => s.opendir(dir, cb));
  const replies: number[] = [];
  const mtimes = new Map<string, number>();
  for (;;) {
    const batch = await new Promise<ssh2.FileEntryWithStats[] | false>((resolve, reject) =>
      // ssh2 reports the end of the directory (SSH_FX_EOF) as an error of code 1.
      s.readdir(handle, (err, list) =>
        err ? ((err as { code?: number }).code === 1 ? resolve(false) : reject(err)) : resolve(list),
      ),
    );
    if (batch === false) break;
    replies.push(batch.length);
    for (const e of batch) if (e.filename.startsWith('f-')) mtimes.set(e.filename, e.attrs.mtime);
  }
  await call<void>((cb) => s.close(handle, (err) => cb(err, undefined)));
  return { replies, mtimes };
}

describe('READDIR stored times are bounded per reply and per user', () => {
  test('attack: listing 300 files twice spends at most burst + rate × seconds lookups, never fails', async (t) => {
    const s = await sftpOf('alice');
    const before = await lookups();
    const started = Date.now();
    const first = await listing(s, '/many');
    const firstMs = Date.now() - started;
    const second = await listing(s, '/many');
    const seconds = Math.ceil((Date.now() - started) / 1000);
    const spent = (await lookups()) - before;
    // + OPENDIR's STAT of the directory: one HeadObject per listing, outside the budget (and independent of its size).
    const bound = BURST + RATE * seconds + 2;
    t.diagnostic(`lookups ${spent} (bound ${bound}); replies ${JSON.stringify(first.replies)}; first ${firstMs} ms`);
    assert.ok(spent <= bound, `${spent} lookups for two listings of ${FILES} files, bound ${bound} (${seconds} s)`);
    assert.ok(spent >= BURST, `the budget is used, not wasted: ${spent}`);
    for (const l of [first, second]) {
      assert.equal(l.mtimes.size, FILES, 'every file listed: the budget never hides an entry');
    }
    // The reply that looked files up holds at most MAX_PER_PAGE entries (the budget covers only part of it here);
    // once the budget is spent the rest of the page is sent without lookups (split only by the packet size).
    assert.ok((first.replies[0] ?? 0) <= MAX_PER_PAGE, JSON.stringify(first.replies));
    assert.ok(first.replies.length >= 2, JSON.stringify(first.replies));

    // Within the budget (the first files, in listing order): stored times, from tags and from metadata.
    for (const n of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) assert.equal(first.mtimes.get(name(n)), STORED, name(n));
    // Past it: LastModified (the upload, today), never the stored time, never an error.
    const now = Math.floor(Date.now() / 1000);
    for (const n of [290, 294, 295, 299]) {
      const m = first.mtimes.get(name(n)) ?? 0;
      assert.ok(Math.abs(m - now) < 3600, `${name(n)} shows LastModified past the budget: ${m}`);
    }
  });

  test('another user listing the same directory has a budget of their own', async () => {
    // `reader` shares alice's home; alice spent her budget in the test above.
    const s = await sftpOf('reader');
    const l = await listing(s, '/many');
    for (const n of [0, 4, 5, 9]) assert.equal(l.mtimes.get(name(n)), STORED, name(n));
  });
});
