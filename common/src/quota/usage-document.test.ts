import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { measurementKey, parseMeasurement, parsePodUsage, podsPrefix, podUsageKey } from './usage-document.ts';

describe('quota usage documents', () => {
  it('keys live under the server prefix reserved root, per user', () => {
    assert.equal(measurementKey('root/ns/srv', 'alice'), 'root/ns/srv/.sftpgate/usage/alice/measured.json');
    assert.equal(podsPrefix('root/ns/srv', 'alice'), 'root/ns/srv/.sftpgate/usage/alice/pods/');
    assert.equal(podUsageKey('', 'a.b', 'pod-1'), '.sftpgate/usage/a.b/pods/pod-1.json');
  });

  it('parses what the writers write and treats anything else as absent', () => {
    const m = { version: 1, username: 'alice', bytes: 5, files: 1, startedAt: 1, measuredAt: 2 };
    assert.deepEqual(parseMeasurement(JSON.stringify(m)), m);
    for (const bad of [
      '',
      'null',
      '[]',
      '{"version":2}',
      JSON.stringify({ ...m, bytes: -1 }),
      JSON.stringify({ ...m, files: 1.5 }),
    ]) {
      assert.equal(parseMeasurement(bad), undefined, bad);
    }
    const p = {
      version: 1,
      pod: 'p',
      username: 'alice',
      updatedAt: 1,
      leaseBytes: 2,
      leaseFiles: 0,
      leaseExpiresAt: 3,
      commits: [[1, 2, 3]],
    };
    assert.deepEqual(parsePodUsage(JSON.stringify(p)), p);
    assert.equal(parsePodUsage(JSON.stringify({ ...p, commits: [[1, 2]] })), undefined);
    assert.equal(parsePodUsage(JSON.stringify({ ...p, commits: [[1, 2, 'x']] })), undefined);
    assert.equal(parsePodUsage(JSON.stringify({ ...p, leaseBytes: '2' })), undefined);
  });
});
