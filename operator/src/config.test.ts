import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, DEFAULT_SFTP_IMAGE, parseConfig } from './config.ts';

describe('parseConfig', () => {
  it('defaults', () => {
    const c = parseConfig([], {});
    assert.ok(c !== 'help');
    assert.equal(c.metricsPort, 8080);
    assert.equal(c.metricsHost, '0.0.0.0');
    assert.equal(c.sftpImage, DEFAULT_SFTP_IMAGE);
    assert.deepEqual(c.namespaces, []);
    assert.equal(c.leaderElect, false);
    assert.deepEqual([c.usageRequestIntervalSeconds, c.usageRequestRatePerMinute, c.usageRequestBurst], [60, 6, 10]);
  });
  it('usage request bounds: flags win over env', () => {
    const c = parseConfig(['--usage-request-interval=0', '--usage-request-burst=3'], {
      SFTPGATE_USAGE_REQUEST_RATE: '2',
      SFTPGATE_USAGE_REQUEST_BURST: '50',
    });
    assert.ok(c !== 'help');
    assert.deepEqual([c.usageRequestIntervalSeconds, c.usageRequestRatePerMinute, c.usageRequestBurst], [0, 2, 3]);
  });
  it('flags win over env; chart flags parse', () => {
    const c = parseConfig(
      [
        '--metrics-listen=127.0.0.1:9000',
        '--log-level=debug',
        '--sftp-image=x:1',
        '--leader-elect',
        '--namespace=a',
        '--namespace=b',
      ],
      { SFTPGATE_SFTP_IMAGE: 'y:2', POD_NAMESPACE: 'sys', POD_NAME: 'op-1' },
    );
    assert.ok(c !== 'help');
    assert.equal(c.metricsHost, '127.0.0.1');
    assert.equal(c.sftpImage, 'x:1');
    assert.deepEqual(c.namespaces, ['a', 'b']);
    assert.equal(c.leaderElectionNamespace, 'sys');
    assert.match(c.identity, /^op-1_[0-9a-f]{8}$/);
  });
  const bad: [string, string[]][] = [
    ['unknown flag', ['--nope']],
    ['bad listen', ['--metrics-listen=abc']],
    ['bad level', ['--log-level=loud']],
    ['bad workers', ['--workers=0']],
    ['bad pull policy', ['--sftp-image-pull-policy=Sometimes']],
    ['no request rate', ['--usage-request-rate=0']],
    ['fractional request burst', ['--usage-request-burst=1.5']],
  ];
  for (const [name, argv] of bad) it(`refuses ${name}`, () => assert.throws(() => parseConfig(argv, {}), ConfigError));
  it('help', () => assert.equal(parseConfig(['--help'], {}), 'help'));
});
