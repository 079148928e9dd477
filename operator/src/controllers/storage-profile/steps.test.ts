import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SftpStorageProfile } from '../../api/types.generated.ts';
import { getCondition } from '../../runtime/conditions.ts';
import { type FakeContext, fakeContext } from '../testing/fake-context.ts';
import { profileFixture, serverFixture } from '../testing/fixtures.ts';
import { IN_USE_FINALIZER, overlapStep, type ProfileRun, profileSteps, usageStep } from './reconciler.ts';

const runOf = (ctx: FakeContext, profile: SftpStorageProfile): ProfileRun => ({
  ctx,
  profile: structuredClone(profile),
  signal: new AbortController().signal,
  status: {},
  users: 0,
  done: false,
});

describe('storage profile steps', () => {
  it('the order: usage, then overlap', () => {
    assert.deepEqual(
      profileSteps.map((s) => s.name),
      ['usageStep', 'overlapStep'],
    );
  });

  it('usage: counts its servers and holds the in-use finalizer exactly while there are any', async () => {
    const ctx = fakeContext();
    ctx.servers.put(serverFixture());
    const run = runOf(ctx, profileFixture());
    await usageStep(run);
    assert.equal(run.status.servers, 1);
    assert.deepEqual(run.profile.metadata.finalizers, [IN_USE_FINALIZER]);
    ctx.servers.map.clear();
    await usageStep(run);
    assert.deepEqual(run.profile.metadata.finalizers, []);
  });

  it('usage: deleting while servers remain waits, saying so', async () => {
    const ctx = fakeContext();
    ctx.servers.put(serverFixture());
    const profile = profileFixture();
    profile.metadata.deletionTimestamp = new Date(0);
    profile.metadata.finalizers = [IN_USE_FINALIZER];
    const run = runOf(ctx, profile);
    await usageStep(run);
    assert.equal(run.done, true);
    assert.equal(getCondition(run.status.conditions, 'Ready')?.reason, 'ProfileInUse');
  });

  it('overlap: the later of two overlapping profiles is refused, naming the earlier; the earlier is accepted', async () => {
    const ctx = fakeContext();
    const later = profileFixture((p) => (p.root = 'sftpgate/tenants'));
    later.metadata = { name: 'later', creationTimestamp: new Date(5000) };
    ctx.profiles.put(later);
    const refused = runOf(ctx, later);
    await overlapStep(refused);
    const c = getCondition(refused.status.conditions, 'Ready');
    assert.equal(c?.reason, 'ProfileConflict');
    assert.match(c?.message ?? '', /minio/);
    const first = runOf(ctx, profileFixture());
    await overlapStep(first);
    assert.equal(getCondition(first.status.conditions, 'Ready')?.reason, 'ProfileAccepted');
  });
});
