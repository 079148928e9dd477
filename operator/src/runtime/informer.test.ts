import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cacheable } from '../../../common/src/kube/informer.ts';
import { generationChangedPredicate } from './controller.ts';
import { objectKey, splitKey } from './informer.ts';
import { type KubeObject, Resources } from './kube-client.ts';

describe('keys', () => {
  it('objectKey and splitKey round-trip namespaced and cluster-scoped objects', () => {
    assert.equal(objectKey({ metadata: { name: 'alice', namespace: 'team-a' } }), 'team-a/alice');
    assert.equal(objectKey({ metadata: { name: 'cluster-wide' } }), 'cluster-wide');
    assert.deepEqual(splitKey('team-a/alice'), { namespace: 'team-a', name: 'alice' });
    assert.deepEqual(splitKey('cluster-wide'), { namespace: undefined, name: 'cluster-wide' });
  });
});

describe('generationChangedPredicate', () => {
  const base: KubeObject = { metadata: { name: 'a', generation: 1, resourceVersion: '1', labels: { x: '1' } } };
  it('skips status-only updates', () => {
    const statusOnly = { ...base, metadata: { ...base.metadata, resourceVersion: '2' } };
    assert.equal(generationChangedPredicate('update', statusOnly, base), false);
  });
  it('passes adds, deletes, resyncs, spec, deletion, finalizer and label changes', () => {
    assert.equal(generationChangedPredicate('add', base), true);
    assert.equal(generationChangedPredicate('delete', base), true);
    assert.equal(generationChangedPredicate('update', base, base), true, 'a resync re-delivers the same object');
    const m = base.metadata ?? {};
    for (const changed of [
      { ...m, generation: 2 },
      { ...m, deletionTimestamp: '2026-01-01T00:00:00Z' },
      { ...m, finalizers: ['sftpgate.io/cleanup'] },
      { ...m, labels: { x: '2' } },
    ]) {
      assert.equal(generationChangedPredicate('update', { ...base, metadata: changed }, base), true);
    }
  });
});

describe('cacheable', () => {
  it('keeps what the operator reads and drops managedFields and kubectl last-applied copies', () => {
    const item = {
      metadata: {
        name: 'alice',
        namespace: 't',
        managedFields: [{ manager: 'kubectl' }],
        annotations: { keep: 'me', 'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{}}' },
      },
      spec: { a: 1 },
    } as KubeObject;
    const cached = cacheable(Resources.SftpUser, item) as KubeObject & { spec?: unknown };
    assert.equal(cached.kind, 'SftpUser');
    assert.equal(cached.metadata?.['managedFields'], undefined);
    assert.deepEqual(cached.metadata?.annotations, { keep: 'me' });
    assert.deepEqual(cached.spec, { a: 1 });
    assert.ok(item.metadata?.['managedFields'], 'the listed item itself is not modified');
  });
});
