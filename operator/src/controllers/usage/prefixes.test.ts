import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SftpUser } from '../../api/types.generated.ts';
import { firstDue, nextDue, pendingRequest, STATUS_REFRESH_MS, statusDue, usagePrefixes } from './prefixes.ts';

const user = (spec: Partial<SftpUser['spec']>, extra: Partial<SftpUser> = {}): SftpUser =>
  ({ metadata: { name: 'alice' }, spec: { serverRef: { name: 's' }, ...spec }, ...extra }) as SftpUser;

describe('usage prefixes', () => {
  it('home defaults to the username; logical directories are added, nested ones dropped', () => {
    assert.deepEqual(usagePrefixes('root/ns/srv', user({})), ['root/ns/srv/alice']);
    assert.deepEqual(
      usagePrefixes(
        'root/ns/srv',
        user({
          homeDirectory: 'team/alice',
          logicalDirectories: [
            { path: '/shared', prefix: 'shared' },
            { path: '/reports', prefix: 'shared/reports' },
            { path: '/mine', prefix: 'team/alice/sub' },
            { path: '/other', prefix: 'team/alice2' },
          ],
        }),
      ),
      ['root/ns/srv/shared', 'root/ns/srv/team/alice', 'root/ns/srv/team/alice2'],
    );
  });

  it('an annotation value is a request until status.usage.request answers it', () => {
    assert.equal(pendingRequest(user({})), undefined);
    const asked = user({}, { metadata: { name: 'alice', annotations: { 'sftpgate.io/measure-usage': 'now-1' } } });
    assert.equal(pendingRequest(asked), 'now-1');
    assert.equal(pendingRequest({ ...asked, status: { usage: { request: 'now-1' } } } as SftpUser), undefined);
  });

  it('periodic measurements are jittered by ±20 %', () => {
    assert.equal(nextDue(0, 1000, 0), 800);
    assert.equal(nextDue(0, 1000, 1), 1200);
  });

  it('status is written when the counts move, a request is answered, or hourly; not on every measurement', () => {
    const now = Date.parse('2026-01-01T01:00:00Z');
    const current = { bytes: 10, files: 1, measuredAt: '2026-01-01T00:30:00Z', request: 'r1' };
    assert.equal(statusDue(undefined, { bytes: 10, files: 1 }, undefined, now), true);
    assert.equal(statusDue(current, { bytes: 10, files: 1 }, undefined, now), false);
    assert.equal(statusDue(current, { bytes: 11, files: 1 }, undefined, now), true);
    assert.equal(statusDue(current, { bytes: 10, files: 1 }, 'r2', now), true);
    assert.equal(statusDue(current, { bytes: 10, files: 1 }, 'r1', now), false);
    assert.equal(statusDue(current, { bytes: 10, files: 1 }, undefined, now + STATUS_REFRESH_MS), true);
    assert.equal(statusDue(current, { bytes: 10, files: 1 }, undefined, now, true), true, 'a deferral to clear');
  });

  it('first measurement: at once only for a new user with a quota; others at a random point of the second interval', () => {
    const quota = user({ quota: { maxFiles: 10 } });
    assert.equal(firstDue(quota, 1000, 300_000, 0.5), 1000);
    assert.equal(firstDue(user({}), 1000, 300_000, 0), 301_000);
    assert.equal(firstDue(user({}), 1000, 300_000, 0.5), 451_000);
    assert.equal(firstDue(user({ quota: {} }), 1000, 300_000, 0.5), 451_000, 'an empty quota limits nothing');
    const measured = { status: { usage: { measuredAt: '2026-01-01T00:00:00Z' } } } as Partial<SftpUser>;
    assert.equal(firstDue(user({ quota: { maxBytes: '1Gi' } }, measured), 1000, 300_000, 0.5), 301_000);
  });
});
