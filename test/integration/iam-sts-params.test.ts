// STS parameters reach the pods: the storage profile's iam.sts.roleArn, region and durationSeconds travel through the
// operator's pod environment (pod-env.ts podEnv) into the pod's configuration (config.ts) and from there to the
// credential broker's AssumeRole (iam-enforcement-minio.test.ts records RoleArn and DurationSeconds on the wire).
// Pure: no component needed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SftpStorageProfile } from '../../operator/src/api/types.generated.ts';
import type { PlacedServer } from '../../operator/src/controllers/context.ts';
import { podEnv } from '../../operator/src/controllers/sftp-server/pod-env.ts';
import { parseConfig } from '../../sftp-pod/src/config.ts';
import { placedServerFixture } from '../fixtures/sftp-server.ts';

function stsServer(sts: NonNullable<SftpStorageProfile['spec']['iam']['sts']>): PlacedServer {
  return placedServerFixture((p) => {
    p.iam = { mode: 'STS', sts };
  });
}

/** The pod's view of the operator's env (valueFrom entries resolved to placeholders, as the kubelet would). */
function podConfig({ server, placement }: PlacedServer) {
  const env: Record<string, string> = { SFTPGATE_USERS_FILE: '/dev/null' };
  for (const e of podEnv(server, placement)) if (e.value !== undefined) env[e.name] = e.value;
  delete env['SFTPGATE_USERS_SECRET'];
  return parseConfig([], env);
}

test('iam.sts.roleArn, region and durationSeconds reach the pod configuration', () => {
  const config = podConfig(
    stsServer({
      endpoint: 'https://sts.example.com',
      region: 'eu-central-1',
      roleArn: 'arn:aws:iam::123456789012:role/platform/sftp',
      durationSeconds: 7200,
    }),
  );
  assert.equal(config.iamMode, 'STS');
  assert.equal(config.stsEndpoint, 'https://sts.example.com');
  assert.equal(config.stsRoleArn, 'arn:aws:iam::123456789012:role/platform/sftp');
  assert.equal(config.stsRegion, 'eu-central-1');
  assert.equal(config.credentialsDurationSeconds, 7200);
});

test('without them the pod keeps its defaults (MinIO: no role, the S3 region) and the CRD default lifetime', () => {
  const config = podConfig(stsServer({ endpoint: 'http://minio:9000', durationSeconds: 3600 }));
  assert.equal(config.stsRoleArn, undefined);
  assert.equal(config.stsRegion, undefined);
  assert.equal(config.credentialsDurationSeconds, 3600);
});
