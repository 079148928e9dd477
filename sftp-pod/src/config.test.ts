import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ConfigError, OPTIONS, parseConfig, parseDuration, parseSize, USAGE } from './config.ts';

const REQUIRED = ['--s3-bucket=b', '--users-file=/u.yaml'];

describe('config', () => {
  test('docs/sftp-pod-config.md lists exactly the flags and variables the parser knows', () => {
    const doc = readFileSync(new URL('../../docs/sftp-pod-config.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `--([a-z0-9-]+)` *\| `([A-Z0-9_]+)`/gm)].map((m) => `${m[1]}=${m[2]}`);
    const known = Object.values(OPTIONS).map((o) => `${o.flag}=${o.env}`);
    assert.deepEqual([...rows].sort(), [...known].sort());
    for (const o of Object.values(OPTIONS)) assert.match(USAGE, new RegExp(`--${o.flag} `));
  });

  test('defaults match the documented ones', () => {
    const c = parseConfig(REQUIRED, {});
    assert.deepEqual(c.listen, { host: '0.0.0.0', port: 2222 });
    assert.deepEqual(c.metricsListen, { host: '0.0.0.0', port: 9090 });
    assert.equal(c.hostKeyDir, '/etc/sftpgate/host-keys');
    assert.equal(c.partSize, 8 * 1024 * 1024);
    assert.equal(c.memoryBudget, 256 * 1024 * 1024);
    assert.equal(c.uploadConcurrency, 4);
    assert.equal(c.setstatMode, 'Error');
    assert.equal(c.idleTimeoutMs, 15 * 60_000);
    assert.equal(c.algorithms, 'default');
    assert.equal(c.defender.enabled, true);
    assert.equal(c.shutdownGraceMs, 30_000);
    assert.equal(c.iamMode, 'None');
    assert.equal(c.s3.region, 'us-east-1');
    assert.equal(c.listingTimesMaxPerPage, 100);
    assert.equal(c.listingTimesRate, 100);
  });

  test('flags win over the environment; --flag value and --flag=value both work', () => {
    const env = { SFTPGATE_S3_BUCKET: 'from-env', SFTPGATE_USERS_FILE: '/env.yaml', SFTPGATE_PART_SIZE: '16MiB' };
    const c = parseConfig(['--s3-bucket', 'from-flag', '--listen=127.0.0.1:0', '--s3-prefix=/a/b/'], env);
    assert.equal(c.s3.bucket, 'from-flag');
    assert.equal(c.usersFile, '/env.yaml');
    assert.equal(c.partSize, 16 * 1024 * 1024);
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 0 });
    assert.equal(c.s3.prefix, 'a/b');
  });

  const bad: Array<[string, string[], RegExp]> = [
    ['missing bucket', ['--users-file=/u'], /--s3-bucket/],
    ['no users source', ['--s3-bucket=b'], /exactly one of --users-file and --users-secret/],
    ['both users sources', [...REQUIRED, '--users-secret=s-users-0', '--namespace=n'], /exactly one/],
    ['small part size', [...REQUIRED, '--part-size=1MiB'], /at least 5MiB/],
    ['budget below two parts', [...REQUIRED, '--memory-budget=10MiB'], /two parts/],
    ['unknown flag', [...REQUIRED, '--nope=1'], /unknown argument/],
    ['bad duration', [...REQUIRED, '--idle-timeout=soon'], /--idle-timeout: invalid duration/],
    ['bad policy', [...REQUIRED, '--algorithms=weak'], /default, strict, compatible/],
    ['bad port', [...REQUIRED, '--listen=0.0.0.0:99999'], /--listen/],
    ['bad sse', [...REQUIRED, '--sse=rot13'], /AES256, aws:kms/],
    ['unbounded listing times', [...REQUIRED, '--listing-times-max-per-page=0'], /integer >= 1/],
    ['no listing-times rate', [...REQUIRED, '--listing-times-rate=0'], /integer >= 1/],
  ];
  for (const [name, argv, re] of bad) {
    test(`refused: ${name}`, () => {
      assert.throws(
        () => parseConfig(argv, {}),
        (err: unknown) => err instanceof ConfigError && err.code === 'SFTPGATE_CONFIG' && re.test(err.message),
      );
    });
  }

  test('sizes and durations', () => {
    assert.equal(parseSize('x', '8MiB'), 8 * 1024 * 1024);
    assert.equal(parseSize('x', '1GB'), 1e9);
    assert.equal(parseSize('x', '512'), 512);
    assert.equal(parseDuration('x', '1h30m'), 90 * 60_000);
    assert.equal(parseDuration('x', '250ms'), 250);
    assert.throws(() => parseDuration('x', '10'), ConfigError);
    assert.throws(() => parseSize('x', '8 parsecs'), ConfigError);
  });
  test('STS parameters: role ARN, region and a whole-second credential lifetime', () => {
    const c = parseConfig(
      [...REQUIRED, '--iam-mode=STS', '--sts-role-arn=arn:aws:iam::1:role/r', '--credentials-duration=2h'],
      { SFTPGATE_STS_REGION: 'eu-west-3' },
    );
    assert.equal(c.stsRoleArn, 'arn:aws:iam::1:role/r');
    assert.equal(c.stsRegion, 'eu-west-3');
    assert.equal(c.credentialsDurationSeconds, 7200);
    assert.equal(parseConfig(REQUIRED, {}).credentialsDurationSeconds, undefined, 'the broker default (3600 s)');
    assert.throws(() => parseConfig([...REQUIRED, '--credentials-duration=900500ms'], {}), /whole seconds/);
  });
});
