import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { postOnce, vetHost } from './post.ts';

let base: string;
let hits = 0;
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  hits++;
  if (req.url === '/redirect') {
    res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
  } else if (req.url === '/slow') {
    setTimeout(() => res.end('late'), 2000).unref();
  } else {
    res.writeHead(req.url === '/fail' ? 503 : 204).end();
  }
});
before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const req = (path: string, allowPrivateAddresses = true, timeoutMs = 1000) => ({
  url: new URL(`${base}${path}`),
  headers: { 'content-type': 'application/json' },
  body: '{}',
  timeoutMs,
  allowPrivateAddresses,
});

describe('one webhook attempt', () => {
  it('2xx is delivered, 5xx failed with its status', async () => {
    assert.deepEqual(await postOnce(req('/ok')), { ok: true, status: 204 });
    assert.deepEqual(await postOnce(req('/fail')), { ok: false, kind: 'failed', status: 503, error: 'HTTP 503' });
  });

  it('never follows a redirect', async () => {
    const before = hits;
    const r = await postOnce(req('/redirect'));
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', /redirects are not followed/);
    assert.equal(hits, before + 1);
  });

  it('gives up at the deadline', async () => {
    const r = await postOnce(req('/slow', true, 200));
    assert.deepEqual(r, { ok: false, kind: 'failed', error: 'no answer within 200 ms' });
  });

  it('loopback without allowPrivateAddresses: refused before any connection', async () => {
    const before = hits;
    const r = await postOnce(req('/ok', false));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.kind, 'refused');
    assert.equal(hits, before, 'no request was made');
  });

  it('a name resolving to the metadata service (or to any forbidden address among others) is refused', async () => {
    const resolve = async () => [
      { address: '8.8.8.8', family: 4 },
      { address: '169.254.169.254', family: 4 },
    ];
    assert.deepEqual(await vetHost('hooks.example.com', true, resolve), {
      refused: 'hooks.example.com: address 169.254.169.254 is link-local or cloud metadata',
    });
    assert.deepEqual(await vetHost('[::ffff:169.254.169.254]', true), {
      refused: '::ffff:169.254.169.254: address ::ffff:169.254.169.254 is link-local or cloud metadata',
    });
  });

  it('connects to the vetted address even when the name would resolve elsewhere later (pinned)', async () => {
    let calls = 0;
    const port = new URL(base).port;
    const r = await postOnce({ ...req('/ok'), url: new URL(`http://receiver.test:${port}/ok`) }, async () => {
      calls++;
      return [{ address: '127.0.0.1', family: 4 }];
    });
    assert.deepEqual(r, { ok: true, status: 204 });
    assert.equal(calls, 1, 'resolved once, by the guard');
  });
});
