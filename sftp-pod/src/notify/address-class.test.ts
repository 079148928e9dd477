import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AddressClass, classifyAddress, embeddedIPv4, refusedAddress } from './address-class.ts';

describe('address classification (SSRF guard)', () => {
  const cases: [string, AddressClass][] = [
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fd00:ec2::254', 'link-local'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:a9fe:a9fe::1', 'link-local'],
    ['127.0.0.1', 'loopback'],
    ['127.3.4.5', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['10.96.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['0.0.0.0', 'reserved'],
    ['::', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['ff02::1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['not-an-ip', 'reserved'],
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['2606:4700::1111', 'public'],
    ['::ffff:8.8.8.8', 'public'],
  ];
  for (const [ip, cls] of cases) it(`${ip} is ${cls}`, () => assert.equal(classifyAddress(ip), cls));

  it('embedded IPv4 forms', () => {
    assert.equal(embeddedIPv4('::ffff:1.2.3.4'), '1.2.3.4');
    assert.equal(embeddedIPv4('::ffff:0102:0304'), '1.2.3.4');
    assert.equal(embeddedIPv4('2606:4700::1111'), undefined);
    assert.equal(embeddedIPv4('::1'), undefined);
  });

  it('metadata and reserved addresses are refused even when private addresses are allowed', () => {
    assert.match(refusedAddress('169.254.169.254', true) ?? '', /link-local or cloud metadata/);
    assert.match(refusedAddress('fd00:ec2::254', true) ?? '', /link-local/);
    assert.match(refusedAddress('0.0.0.0', true) ?? '', /reserved/);
  });

  it('loopback and private addresses only with allowPrivateAddresses', () => {
    assert.match(refusedAddress('127.0.0.1', false) ?? '', /does not allow private addresses/);
    assert.match(refusedAddress('10.0.0.5', false) ?? '', /private/);
    assert.equal(refusedAddress('127.0.0.1', true), undefined);
    assert.equal(refusedAddress('10.0.0.5', true), undefined);
    assert.equal(refusedAddress('8.8.8.8', false), undefined);
  });
});
