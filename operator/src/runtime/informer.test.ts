import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generationChangedPredicate } from './controller.ts';
import { objectKey, splitKey } from './informer.ts';
import type { KubeObject } from './kube-client.ts';

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
