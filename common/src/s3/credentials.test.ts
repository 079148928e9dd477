import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Credentials, cachingProvider, REFRESH_WINDOW_MS } from './credentials.ts';

describe('credentials provider', () => {
  it('reuses credentials until REFRESH_WINDOW_MS before they expire, then asks again (once for concurrent asks)', async () => {
    let t = 0;
    let asked = 0;
    const provider = cachingProvider(
      async (): Promise<Credentials> => {
        asked++;
        return { accessKeyId: `k${asked}`, secretAccessKey: 's', sessionToken: 't', expiration: new Date(t + 900_000) };
      },
      () => t,
    );
    assert.equal((await provider()).accessKeyId, 'k1');
    t = 900_000 - REFRESH_WINDOW_MS - 1;
    assert.equal((await provider()).accessKeyId, 'k1');
    t += 2;
    const [a, b] = await Promise.all([provider(), provider()]);
    assert.equal(a.accessKeyId, 'k2');
    assert.equal(b.accessKeyId, 'k2');
    assert.equal(asked, 2);
  });

  it('a fixed value is used as is; credentials without an expiration are kept', async () => {
    const fixed = cachingProvider({ accessKeyId: 'a', secretAccessKey: 'b' });
    assert.equal((await fixed()).accessKeyId, 'a');
    let asked = 0;
    const once = cachingProvider(async () => ({ accessKeyId: `k${++asked}`, secretAccessKey: 's' }));
    await once();
    await once();
    assert.equal(asked, 1);
  });

  it('a failed ask is not cached', async () => {
    let fail = true;
    const p = cachingProvider(async () => {
      if (fail) throw new Error('sts down');
      return { accessKeyId: 'ok', secretAccessKey: 's' };
    });
    await assert.rejects(p(), /sts down/);
    fail = false;
    assert.equal((await p()).accessKeyId, 'ok');
  });

  it('without configuration reads the environment (no SDK loaded)', async () => {
    const saved = { ...process.env };
    try {
      process.env['AWS_ACCESS_KEY_ID'] = 'envkey';
      process.env['AWS_SECRET_ACCESS_KEY'] = 'envsecret';
      delete process.env['AWS_SESSION_TOKEN'];
      assert.deepEqual(await cachingProvider(undefined)(), { accessKeyId: 'envkey', secretAccessKey: 'envsecret' });
    } finally {
      process.env = saved;
    }
  });
});
