// Bulk changes coalesce into few users-table writes: while users are created or deleted in a steady stream, the
// operator writes each users shard at most once per second (SHARD_WRITE_INTERVAL_MS) instead of once per user.
// Writes are counted from the API server's own watch of the shard Secret (one MODIFIED/ADDED event per new
// resourceVersion), not from the operator's counters. The bound is relative to the measured span of the writes
// (at most one per second plus slack for watch delivery jitter), never a wall-time target: a slow machine makes the
// span longer, not the assertion flakier. Before the limiter, the same stream rewrote the shard every ~200 ms.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SftpUser } from '../../operator/src/api/types.generated.ts';
import { type KubeObject, Resources } from '../../operator/src/runtime/kube-client.ts';
import { generateHostKey } from '../../operator/src/secrets/host-keys.ts';
import {
  getUser,
  type RunningOperator,
  serverConditionsTrue,
  serverManifest,
  startOperator,
  startTenantBed,
  type TestBed,
  userManifest,
  usersTable,
  waitFor,
} from './operator-harness.ts';

const NS = 'coalesce';
const SERVER = 'bulk';
const SHARD = `${SERVER}-users-0`;
/** Users per burst, issued in steady groups so the burst lasts a few seconds whatever the machine's speed. */
const USERS = 120;
const GROUP = 10;
const GROUP_GAP_MS = 250;
/** Extra writes allowed beyond one per second of span: the leading write and watch-delivery jitter at both ends. */
const SLACK = 2;

let bed: TestBed;
let op: RunningOperator;
const names = Array.from({ length: USERS }, (_, i) => `u${i}`);
const keys = names.map(() => generateHostKey('ed25519').publicKey);

/** Every new resourceVersion of the shard Secret from now on, with when the API server's watch delivered it. */
async function watchShard(signal: AbortSignal): Promise<{ at: number; rv: string }[]> {
  const writes: { at: number; rv: string }[] = [];
  const from = (await bed.admin.get(Resources.Secret, NS, SHARD)).metadata?.resourceVersion ?? '';
  const events = bed.admin.watch(
    Resources.Secret,
    NS,
    { fieldSelector: `metadata.name=${SHARD}`, resourceVersion: from },
    signal,
  );
  void (async () => {
    for await (const ev of events) {
      const rv = ev.object.metadata?.resourceVersion ?? '';
      if (ev.type === 'MODIFIED' && rv !== from && !writes.some((w) => w.rv === rv))
        writes.push({ at: Date.now(), rv });
    }
  })().catch(() => undefined);
  return writes;
}

async function inGroups(fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < USERS; i += GROUP) {
    await Promise.all(names.slice(i, i + GROUP).map((_, j) => fn(i + j)));
    await new Promise((r) => setTimeout(r, GROUP_GAP_MS));
  }
}

async function tableSize(): Promise<number> {
  return (await usersTable(bed, NS, SERVER))?.users.length ?? -1;
}

function assertCoalesced(writes: readonly { at: number }[], what: string): void {
  assert.ok(writes.length > 0, `${what}: the shard was written`);
  const spanS = ((writes.at(-1)?.at ?? 0) - (writes[0]?.at ?? 0)) / 1000;
  const bound = Math.ceil(spanS) + SLACK;
  assert.ok(
    writes.length <= bound,
    `${what}: ${writes.length} shard writes over ${spanS.toFixed(1)} s (at most ${bound}: one per second + ${SLACK})`,
  );
}

before(async () => {
  bed = await startTenantBed(NS);
  op = startOperator(bed);
  await bed.admin.apply(Resources.SftpServer, serverManifest(bed, NS, SERVER));
  await serverConditionsTrue(bed, NS, SERVER, ['StorageReady', 'HostKeysReady']);
  await waitFor('the empty table', async () => (await tableSize()) === 0);
});
after(async () => {
  await op?.stop();
  await bed?.stop();
});

describe('users-table writes under churn', () => {
  it(`creating ${USERS} users in a stream: at most one shard write per second, every user Ready and listed`, async () => {
    const stop = new AbortController();
    const writes = await watchShard(stop.signal);
    await inGroups((i) =>
      bed.admin.create(
        Resources.SftpUser,
        NS,
        userManifest(NS, names[i] ?? '', { serverRef: { name: SERVER }, authorizedKeys: [keys[i]] }),
      ),
    );
    await waitFor('every user in the table', async () => (await tableSize()) === USERS, 120_000);
    // Ready is honest: it follows the shard write that lists the user.
    await waitFor(
      'every user Ready',
      async () =>
        (await bed.admin.listAll<SftpUser & KubeObject>(Resources.SftpUser, NS)).items.filter((u) =>
          u.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        ).length === USERS,
      120_000,
    );
    stop.abort();
    assertCoalesced(writes, 'create');
    const u = await getUser(bed, NS, 'u7');
    assert.equal(u?.status?.usersSecret, SHARD);
  });

  it(`deleting ${USERS} users in a stream: at most one shard write per second, the table ends empty`, async () => {
    const stop = new AbortController();
    const writes = await watchShard(stop.signal);
    await inGroups((i) => bed.admin.delete(Resources.SftpUser, NS, names[i] ?? ''));
    await waitFor('the empty table', async () => (await tableSize()) === 0, 120_000);
    await waitFor(
      'every user gone',
      async () => (await bed.admin.listAll(Resources.SftpUser, NS)).items.length === 0,
      120_000,
    );
    stop.abort();
    assertCoalesced(writes, 'delete');
    // The deletes arrived over several seconds: one write per user would be ~USERS writes, the limiter allows a few.
    assert.ok(writes.length < USERS / 4, `${writes.length} writes for ${USERS} deletions`);
  });
});
