import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AllowedDestination, invalidWebhookUrl, matchDestination } from './destination.ts';

const allowed: AllowedDestination[] = [
  { urlPrefix: 'https://hooks.example.com/sftp/' },
  { urlPrefix: 'https://api.example.com:8443/in' },
  { urlPrefix: 'http://receiver.tenants.svc:8080/', allowInsecureHTTP: true, allowPrivateAddresses: true },
  { urlPrefix: 'http://plain.example.com/' },
];

describe('webhook destination allow-list', () => {
  const cases: [string, string, boolean][] = [
    ['exact prefix path', 'https://hooks.example.com/sftp/acme', true],
    ['query kept', 'https://hooks.example.com/sftp/acme?x=1', true],
    ['default port spelled out', 'https://hooks.example.com:443/sftp/a', true],
    ['host case-insensitive', 'https://HOOKS.example.com/sftp/a', true],
    ['prefix without trailing slash, equal path', 'https://api.example.com:8443/in', true],
    ['prefix without trailing slash, below', 'https://api.example.com:8443/in/x', true],
    ['segment boundary', 'https://api.example.com:8443/inbox', false],
    ['other path', 'https://hooks.example.com/admin', false],
    ['dot segments normalised away', 'https://hooks.example.com/sftp/../admin', false],
    ['encoded dot segments normalised away', 'https://hooks.example.com/sftp/%2e%2e/admin', false],
    ['encoded slash', 'https://hooks.example.com/sftp/%2F..%2Fadmin', false],
    ['backslash', 'https://hooks.example.com/sftp\\..\\admin', false],
    ['other port', 'https://hooks.example.com:8443/sftp/a', false],
    ['other host', 'https://evil.example.com/sftp/a', false],
    ['suffix host', 'https://hooks.example.com.evil.net/sftp/a', false],
    ['userinfo trick', 'https://hooks.example.com@169.254.169.254/sftp/a', false],
    ['http where https is listed', 'http://hooks.example.com/sftp/a', false],
    ['http entry without allowInsecureHTTP', 'http://plain.example.com/x', false],
    ['http entry with allowInsecureHTTP', 'http://receiver.tenants.svc:8080/hook', true],
    ['metadata service', 'http://169.254.169.254/latest/meta-data/', false],
    ['another namespace service', 'http://admin.other-ns.svc.cluster.local/', false],
    ['fragment', 'https://hooks.example.com/sftp/a#x', false],
    ['not a URL', 'hooks.example.com/sftp', false],
    ['ftp scheme', 'ftp://hooks.example.com/sftp/a', false],
  ];
  for (const [name, url, ok] of cases) {
    it(name, () => assert.equal(matchDestination(url, allowed).ok, ok, url));
  }

  it('nothing is allowed without entries', () => {
    const r = matchDestination('https://hooks.example.com/sftp/a', undefined);
    assert.deepEqual(r, { ok: false, reason: 'the storage profile allows no notification destinations' });
    assert.equal(matchDestination('https://hooks.example.com/sftp/a', []).ok, false);
  });

  it('the refusal names the origin only, never the path or query (they may carry tokens)', () => {
    const r = matchDestination('https://evil.example.com/path?token=s3cr3t', allowed);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.reason.includes('https://evil.example.com') && !r.reason.includes('s3cr3t'));
  });

  it('an invalid entry allows nothing', () => {
    assert.equal(matchDestination('https://x.example.com/a', [{ urlPrefix: 'not a url' }]).ok, false);
    assert.equal(matchDestination('https://x.example.com/a', [{ urlPrefix: 'https://x.example.com/?q=1' }]).ok, false);
  });

  it('invalidWebhookUrl names the problem', () => {
    assert.equal(
      invalidWebhookUrl('https://u:p@x.example.com/'),
      'credentials in the URL are not allowed (use secretRef)',
    );
    assert.equal(invalidWebhookUrl('https://x.example.com/a'), undefined);
  });
});
