import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveEndpoint, target } from './endpoint.ts';

describe('endpoint and addressing', () => {
  it('path-style on a configured endpoint keeps the port in Host and encodes the key', () => {
    const e = resolveEndpoint({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
    assert.deepEqual(target(e, 'bkt', 'a b/c+d'), {
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 9000,
      host: '127.0.0.1:9000',
      path: '/bkt/a%20b/c%2Bd',
    });
    assert.equal(target(e, 'bkt', undefined).path, '/bkt/');
  });

  it('virtual-hosted on AWS by default; path-style for buckets with dots over TLS', () => {
    const e = resolveEndpoint({ region: 'eu-west-1' });
    assert.deepEqual(target(e, 'my-bucket', 'k'), {
      protocol: 'https:',
      hostname: 'my-bucket.s3.eu-west-1.amazonaws.com',
      port: 443,
      host: 'my-bucket.s3.eu-west-1.amazonaws.com',
      path: '/k',
    });
    assert.equal(target(e, 'my.bucket', 'k').host, 's3.eu-west-1.amazonaws.com');
    assert.equal(target(e, 'my.bucket', 'k').path, '/my.bucket/k');
    assert.equal(resolveEndpoint({ region: 'cn-north-1' }).hostname, 's3.cn-north-1.amazonaws.com.cn');
  });

  it('an IP endpoint cannot take bucket subdomains; every endpoint shares one pool key', () => {
    const e = resolveEndpoint({ region: 'r', endpoint: 'https://10.0.0.1:8443', forcePathStyle: false });
    assert.equal(e.pathStyle, true);
    assert.equal(e.poolKey, 'https://10.0.0.1:8443');
    assert.throws(() => resolveEndpoint({ region: 'r', endpoint: 'ftp://x' }), TypeError);
  });
});
