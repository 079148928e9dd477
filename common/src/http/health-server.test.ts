import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { HealthServer, urlOf } from './health-server.ts';

describe('HealthServer', () => {
  const registry = new Registry();
  let ready: boolean | string = true;
  let calls = 0;
  const server = new HealthServer({
    registry,
    cacheMs: 0,
    checks: [
      { name: 'always', check: () => true },
      {
        name: 'flag',
        check: async () => {
          calls++;
          return ready;
        },
      },
      { name: 'throws', check: () => (ready === 'throw' ? Promise.reject(new Error('x')) : true) },
    ],
  });
  let url = '';
  before(async () => {
    url = urlOf(await server.listen(0, '127.0.0.1'));
  });
  after(() => server.close());

  const get = async (path: string, method = 'GET') => {
    const res = await fetch(`${url}${path}`, { method });
    return { status: res.status, body: await res.text() };
  };

  const cases: [string, boolean | string, number, RegExp][] = [
    ['all checks pass', true, 200, /^ok/],
    ['a check fails', false, 503, /^not ready: flag\n/],
    ['a check gives a reason', 'caches not synced', 503, /^not ready: flag: caches not synced/],
    ['a check rejects', 'throw', 503, /throws/],
  ];
  for (const [name, value, status, body] of cases) {
    it(`/readyz when ${name}`, async () => {
      ready = value;
      const res = await get('/readyz');
      assert.equal(res.status, status);
      assert.match(res.body, body);
    });
  }

  it('/healthz and /livez answer while the process runs; /metrics serves the registry', async () => {
    assert.equal((await get('/healthz')).status, 200);
    assert.equal((await get('/livez')).status, 200);
    assert.equal((await get('/metrics')).status, 200);
    assert.equal((await get('/nope')).status, 404);
    assert.equal((await get('/readyz', 'POST')).status, 405);
  });

  it('caches readiness for cacheMs and fails it after markShuttingDown', async () => {
    const cached = new HealthServer({
      registry,
      checks: [
        {
          name: 'n',
          check: () => {
            calls++;
            return true;
          },
        },
      ],
      cacheMs: 60_000,
    });
    const u = urlOf(await cached.listen(0, '127.0.0.1'));
    try {
      const before = calls;
      for (let i = 0; i < 3; i++) assert.equal((await fetch(`${u}/readyz`)).status, 200);
      assert.equal(calls - before, 1, 'three probes, one check');
      cached.markShuttingDown();
      const res = await fetch(`${u}/readyz`);
      assert.equal(res.status, 503);
      assert.match(await res.text(), /shutting down/);
    } finally {
      await cached.close();
    }
  });
});
