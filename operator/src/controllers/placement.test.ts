import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SftpServer, SftpStorageProfile } from '../api/types.generated.ts';
import { lifecycleRuleId, locationsOverlap, type PlacementInputs, place, selects, serverPrefix } from './placement.ts';
import { profileFixture, serverFixture } from './testing/fixtures.ts';

const tenants = { 'kubernetes.io/metadata.name': 'tenants' };
function inputs(patch: Partial<PlacementInputs> = {}, server: SftpServer = serverFixture()): PlacementInputs {
  return { server, profile: profileFixture(), namespaceLabels: tenants, siblings: [server], ...patch };
}
const sibling = (name: string, created: number) => {
  const s = serverFixture();
  s.metadata.name = name;
  s.metadata.creationTimestamp = new Date(created);
  return s;
};

describe('place', () => {
  const cases: { name: string; in: PlacementInputs; want: string }[] = [
    { name: 'allowed: prefix derived as <root>/<namespace>/<server>', in: inputs(), want: 'sftpgate/tenants/demo' },
    { name: 'profile missing', in: inputs({ profile: undefined }), want: 'ProfileNotFound' },
    {
      name: 'profile does not select the namespace',
      in: inputs({ namespaceLabels: { 'kubernetes.io/metadata.name': 'other' } }),
      want: 'NamespaceNotAllowed',
    },
    { name: 'namespace unknown', in: inputs({ namespaceLabels: undefined }), want: 'NamespaceNotAllowed' },
    { name: 'profile overlaps an earlier one', in: inputs({ conflictingProfile: 'first' }), want: 'ProfileConflict' },
    {
      name: 'storage class the profile does not list',
      in: inputs(
        {},
        serverFixture((s) => (s.storage.storageClass = 'STANDARD_IA')),
      ),
      want: 'StorageClassNotAllowed',
    },
    {
      name: 'lifecycle above the profile maximum',
      in: inputs(
        {},
        serverFixture((s) => (s.storage.lifecycle = { abortIncompleteMultipartUploadDays: 30 })),
      ),
      want: 'LifecycleNotAllowed',
    },
    {
      name: 'keeping noncurrent versions forever when the profile expires them',
      in: inputs(
        {},
        serverFixture((s) => (s.storage.lifecycle = { noncurrentVersionExpirationDays: 0 })),
      ),
      want: 'LifecycleNotAllowed',
    },
    {
      name: 'beyond maxServersPerNamespace (first come keeps its place)',
      in: inputs({
        profile: profileFixture((p) => (p.limits.maxServersPerNamespace = 1)),
        siblings: [sibling('older', 0), sibling('demo', 1000)],
      }),
      want: 'QuotaExceeded',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = place({
        ...c.in,
        server: { ...c.in.server, metadata: { ...c.in.server.metadata, creationTimestamp: new Date(1000) } },
      });
      assert.equal('placement' in r ? r.placement.prefix : r.refusal.reason, c.want);
    });
  }

  it('the placement carries only the profile: bucket, endpoint, credentials, encryption, IAM', () => {
    const r = place(inputs());
    assert.ok('placement' in r);
    assert.equal(r.placement.bucket, 'bkt');
    assert.equal(r.placement.endpoint, 'http://minio:9000');
    assert.equal(r.placement.credentials?.name, 'minio-creds');
    assert.deepEqual(r.placement.rule, {
      id: lifecycleRuleId('minio', 'tenants', 'demo'),
      prefix: 'sftpgate/tenants/demo',
    });
  });

  it('a derived prefix overlapping a server placed earlier is refused, naming it only within the namespace', () => {
    const other = (namespace: string) => ({
      namespace,
      name: 'old',
      endpoint: 'http://minio:9000',
      bucket: 'bkt',
      prefix: 'sftpgate/tenants',
    });
    const same = place(inputs({ placedElsewhere: [other('tenants')] }));
    assert.ok('refusal' in same);
    assert.equal(same.refusal.reason, 'PrefixConflict');
    assert.match(same.refusal.message, /SftpServer old/);
    const foreign = place(inputs({ placedElsewhere: [other('someone-else')] }));
    assert.ok('refusal' in foreign);
    assert.doesNotMatch(foreign.refusal.message, /old|someone-else/);
    const elsewhere = place(inputs({ placedElsewhere: [{ ...other('x'), bucket: 'another' }] }));
    assert.ok('placement' in elsewhere);
  });

  it('an empty root puts servers at <namespace>/<server>', () => {
    assert.equal(
      serverPrefix(
        profileFixture((p) => (p.root = '')),
        'ns',
        's',
      ),
      'ns/s',
    );
  });
});

describe('selects (metav1.LabelSelector)', () => {
  const labels = { 'kubernetes.io/metadata.name': 'a', team: 'x' };
  const cases: { name: string; sel: SftpStorageProfile['spec']['namespaceSelector']; want: boolean }[] = [
    { name: 'empty selects all', sel: {}, want: true },
    { name: 'matchLabels hit', sel: { matchLabels: { team: 'x' } }, want: true },
    { name: 'matchLabels miss', sel: { matchLabels: { team: 'y' } }, want: false },
    { name: 'In', sel: { matchExpressions: [{ key: 'team', operator: 'In', values: ['x', 'z'] }] }, want: true },
    { name: 'NotIn', sel: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['x'] }] }, want: false },
    { name: 'Exists', sel: { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, want: true },
    { name: 'DoesNotExist', sel: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, want: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(selects(c.sel, labels), c.want));
});

describe('locationsOverlap', () => {
  const p = (bucket: string, root: string, endpoint = 'http://minio:9000') =>
    profileFixture((s) => {
      s.bucket = bucket;
      s.root = root;
      s.endpoint = endpoint;
    });
  const cases: { name: string; a: SftpStorageProfile; b: SftpStorageProfile; want: boolean }[] = [
    { name: 'same root', a: p('b', 'r'), b: p('b', 'r'), want: true },
    { name: 'nested root', a: p('b', 'r'), b: p('b', 'r/tenants'), want: true },
    { name: 'bucket root contains all', a: p('b', ''), b: p('b', 'x'), want: true },
    { name: 'siblings on whole segments (r vs r2)', a: p('b', 'r'), b: p('b', 'r2'), want: false },
    { name: 'other bucket', a: p('b', 'r'), b: p('c', 'r'), want: false },
    { name: 'other endpoint', a: p('b', 'r'), b: p('b', 'r', 'http://other:9000'), want: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(locationsOverlap(c.a, c.b), c.want));
});
