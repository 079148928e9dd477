import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SftpServer } from '../../api/types.generated.ts';
import { locate } from '../placement.ts';
import { placementFixture, profileFixture, serverFixture } from '../testing/fixtures.ts';
import {
  defaultResources,
  desiredDeployment,
  desiredNetworkPolicy,
  desiredPodDisruptionBudget,
  desiredService,
} from './desired.ts';
import { desiredRole, desiredRoleBinding, desiredServiceAccount } from './desired-access.ts';
import { CONFIG_CHECKSUM_ANNOTATION, configChecksum, podEnv } from './pod-env.ts';

const server = serverFixture;
const settings = { image: 'ghcr.io/sftpgate/sftp:0.1.0' };
const at = placementFixture();
const envOf = (s: SftpServer) => Object.fromEntries(podEnv(s, at).map((e) => [e.name, e.value ?? e.valueFrom]));

describe('defaultResources (the measured pod memory, docs/benchmarks.md)', () => {
  it('requests idle + one transfer and limits at idle + the memory budget + GC headroom', () => {
    assert.deepEqual(defaultResources(256 * 2 ** 20), {
      requests: { cpu: '250m', memory: '160Mi' },
      limits: { memory: '448Mi' },
    });
  });

  it('never requests more than the limit (a small budget)', () => {
    const r = defaultResources(10 * 2 ** 20);
    assert.equal(r.limits.memory, '202Mi');
    assert.equal(r.requests.memory, '160Mi');
    assert.deepEqual(defaultResources(0).limits.memory, '192Mi');
    assert.deepEqual(defaultResources(0).requests.memory, '160Mi');
  });
});

describe('desiredDeployment', () => {
  const d = desiredDeployment(server(), at, settings, 'hk1');
  const pod = d.spec?.template.spec;
  const c = pod?.containers[0];

  it('meets Pod Security Standard "restricted"', () => {
    assert.equal(pod?.securityContext?.runAsNonRoot, true);
    assert.equal(typeof pod?.securityContext?.runAsUser, 'number');
    assert.equal(pod?.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    assert.equal(c?.securityContext?.allowPrivilegeEscalation, false);
    assert.equal(c?.securityContext?.readOnlyRootFilesystem, true);
    assert.deepEqual(c?.securityContext?.capabilities?.drop, ['ALL']);
    assert.equal(pod?.hostNetwork, undefined);
  });

  it('probes on the metrics port, resources, spread across nodes, owner reference', () => {
    assert.equal(c?.readinessProbe?.httpGet?.path, '/readyz');
    assert.equal(c?.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(c?.readinessProbe?.httpGet?.port, 'metrics');
    assert.ok(c?.resources?.requests?.['memory']);
    assert.ok(pod?.topologySpreadConstraints?.some((t) => t.topologyKey === 'kubernetes.io/hostname'));
    assert.deepEqual(d.metadata?.ownerReferences?.[0], {
      apiVersion: 'sftpgate.io/v1alpha1',
      kind: 'SftpServer',
      name: 'demo',
      uid: 'uid-1',
      controller: true,
      blockOwnerDeletion: true,
    });
  });

  it('env per docs/sftp-pod-config.md; credentials by Secret reference, never by value', () => {
    const env = envOf(server());
    assert.equal(env['SFTPGATE_USERS_SECRET'], 'demo-users-0');
    assert.equal(env['SFTPGATE_S3_BUCKET'], 'bkt');
    assert.equal(env['SFTPGATE_S3_PREFIX'], 'sftpgate/tenants/demo', 'derived: <root>/<namespace>/<server>');
    assert.equal(env['SFTPGATE_PART_SIZE'], String(8 * 2 ** 20));
    assert.equal(env['SFTPGATE_HOST_KEY_DIR'], '/etc/sftpgate/host-keys');
    assert.deepEqual(env['AWS_ACCESS_KEY_ID'], {
      secretKeyRef: { name: 'demo-s3-credentials', key: 'AWS_ACCESS_KEY_ID' },
    });
  });

  it('MD5 of uploads reaches the pods only when the server turns it on (no rollout for servers without it)', () => {
    assert.equal(envOf(server())['SFTPGATE_UPLOAD_MD5'], undefined);
    const md5 = serverFixture((s) => (s.sftp.uploadMd5 = true));
    assert.equal(envOf(md5)['SFTPGATE_UPLOAD_MD5'], 'true');
  });

  it('host keys are mounted read-only from the host-keys Secret', () => {
    const vol = pod?.volumes?.find((v) => v.name === 'host-keys');
    assert.equal(vol?.secret?.secretName, 'demo-host-keys');
    assert.deepEqual(
      vol?.secret?.items?.map((i) => i.path),
      ['ssh_host_ed25519_key', 'ssh_host_rsa_key'],
    );
    assert.ok(c?.volumeMounts?.some((m) => m.name === 'host-keys' && m.readOnly));
  });

  it('user certificates: the named ConfigMap mounted read-only as a whole, its files passed as flags', () => {
    const withCa = serverFixture((s) => {
      s.security.userCertificates = {
        configMapName: 'partner-ca',
        caKey: 'trusted-user-ca-keys',
        revokedKey: 'revoked-user-certificates',
      };
    });
    const p = desiredDeployment(withCa, at, settings, 'hk1').spec?.template.spec;
    const vol = p?.volumes?.find((v) => v.name === 'user-ca');
    assert.equal(vol?.configMap?.name, 'partner-ca');
    assert.equal(vol?.configMap?.items, undefined);
    assert.ok(p?.containers[0]?.volumeMounts?.some((m) => m.name === 'user-ca' && m.readOnly));
    const env = envOf(withCa);
    assert.equal(env['SFTPGATE_TRUSTED_USER_CA_KEYS'], '/etc/sftpgate/user-ca/trusted-user-ca-keys');
    assert.equal(env['SFTPGATE_REVOKED_USER_CERTIFICATES'], '/etc/sftpgate/user-ca/revoked-user-certificates');
    assert.equal(envOf(server())['SFTPGATE_TRUSTED_USER_CA_KEYS'], undefined);
    assert.equal(
      pod?.volumes?.some((v) => v.name === 'user-ca'),
      false,
    );
  });

  const checksum = (s: SftpServer, hk = 'hk1') =>
    desiredDeployment(s, at, settings, hk).spec?.template.metadata?.annotations?.[CONFIG_CHECKSUM_ANNOTATION];
  const rollouts: { name: string; s: SftpServer; hk?: string; rolls: boolean }[] = [
    { name: 'same input', s: server(), rolls: false },
    {
      name: 'replicas only',
      s: server((s) => {
        s.replicas = 5;
      }),
      rolls: false,
    },
    {
      name: 'service annotations only',
      s: server((s) => {
        s.service.annotations = { a: 'b' };
      }),
      rolls: false,
    },
    {
      name: 'idle timeout',
      s: server((s) => {
        s.sftp.idleTimeout = '5m';
      }),
      rolls: true,
    },
    { name: 'host keys content', s: server(), hk: 'hk2', rolls: true },
  ];
  for (const r of rollouts) {
    it(`checksum/config ${r.rolls ? 'changes' : 'stays'}: ${r.name}`, () => {
      assert.equal(checksum(r.s, r.hk) !== checksum(server()), r.rolls);
    });
  }

  it('is deterministic (byte-identical for identical input)', () => {
    assert.equal(
      JSON.stringify(desiredDeployment(server(), at, settings, 'x')),
      JSON.stringify(desiredDeployment(server(), at, settings, 'x')),
    );
    assert.equal(configChecksum(server(), at, settings, 'x').length, 64);
  });
});

describe('other children', () => {
  it('Service takes type, port and annotations from the spec', () => {
    const svc = desiredService(
      server((s) => {
        s.service = {
          type: 'LoadBalancer',
          port: 2022,
          annotations: { 'x/y': 'z' },
          loadBalancerSourceRanges: ['1.2.3.0/24'],
        };
      }),
    );
    assert.equal(svc.spec?.type, 'LoadBalancer');
    assert.equal(svc.spec?.ports?.[0]?.port, 2022);
    assert.equal(svc.spec?.ports?.[0]?.targetPort, 'ssh');
    assert.deepEqual(svc.metadata?.annotations, { 'x/y': 'z' });
    assert.deepEqual(svc.spec?.loadBalancerSourceRanges, ['1.2.3.0/24']);
  });

  it('PROXY protocol v2 is opt-in per server: trusted load-balancer ranges reach the pods, none means off', () => {
    const withProxy = server((s) => {
      s.security.proxyProtocolCIDRs = ['10.0.0.0/24', 'fd00::/64'];
    });
    assert.equal(envOf(withProxy)['SFTPGATE_PROXY_PROTOCOL_CIDRS'], '10.0.0.0/24,fd00::/64');
    assert.equal(envOf(server())['SFTPGATE_PROXY_PROTOCOL_CIDRS'], undefined);
  });

  it('NetworkPolicy: SFTP from allowed CIDRs, metrics from monitoring namespaces', () => {
    const np = desiredNetworkPolicy(
      server((s) => {
        s.security.allowedSourceCIDRs = ['10.0.0.0/8'];
      }),
    );
    const [sftp, metrics] = np.spec?.ingress ?? [];
    assert.deepEqual(sftp?._from, [{ ipBlock: { cidr: '10.0.0.0/8' } }]);
    assert.equal(sftp?.ports?.[0]?.port, 2222);
    assert.deepEqual(metrics?._from, [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ]);
    const open = desiredNetworkPolicy(server());
    assert.equal(open.spec?.ingress?.[0]?._from, undefined);
  });

  it('Role: get/list/watch only on its own Secrets, by name', () => {
    const role = desiredRole(server(), 2);
    assert.deepEqual(role.rules, [
      {
        apiGroups: [''],
        resources: ['secrets'],
        verbs: ['get', 'list', 'watch'],
        resourceNames: ['demo-users-0', 'demo-users-1', 'demo-host-keys'],
      },
    ]);
    const rb = desiredRoleBinding(server());
    assert.deepEqual(rb.subjects, [{ kind: 'ServiceAccount', name: 'demo-sftp', namespace: 'tenants' }]);
  });

  it('every child carries the owner reference', () => {
    for (const o of [
      desiredService(server()),
      desiredServiceAccount(server(), at),
      desiredPodDisruptionBudget(server()),
      desiredNetworkPolicy(server()),
      desiredRole(server(), 1),
      desiredRoleBinding(server()),
    ]) {
      assert.equal(o.metadata?.ownerReferences?.[0]?.uid, 'uid-1');
    }
  });
});

describe('IAM modes in the pod env and ServiceAccount', () => {
  it('AWS + IRSA: data role in env, pod role on the ServiceAccount, no static credentials', () => {
    const aws = locate(
      profileFixture((p) => {
        p.iam = {
          mode: 'AWS',
          aws: { irsa: { oidcProviderArn: 'arn:aws:iam::111122223333:oidc-provider/x' }, path: '/sftpgate/' },
        };
        delete p.credentials;
        delete p.endpoint;
      }),
      'tenants',
      'demo',
    );
    const iam = {
      podRoleArn: 'arn:aws:iam::111122223333:role/pod',
      dataRoleArn: 'arn:aws:iam::111122223333:role/data',
    };
    const env = Object.fromEntries(podEnv(server(), aws, iam).map((e) => [e.name, e.value ?? e.valueFrom]));
    assert.equal(env['SFTPGATE_IAM_MODE'], 'AWS');
    assert.equal(env['SFTPGATE_DATA_ROLE_ARN'], iam.dataRoleArn);
    assert.equal(env['AWS_ACCESS_KEY_ID'], undefined);
    assert.deepEqual(desiredServiceAccount(server(), aws, iam).metadata?.annotations, {
      'eks.amazonaws.com/role-arn': iam.podRoleArn,
    });
    assert.equal(desiredServiceAccount(server(), at).metadata?.annotations, undefined);
  });

  it("STS: the profile's endpoint in env, credentials from the server's copy", () => {
    const sts = locate(
      profileFixture((p) => {
        p.iam = { mode: 'STS', sts: { endpoint: 'http://minio:9000', durationSeconds: 3600 } };
      }),
      'tenants',
      'demo',
    );
    const env = Object.fromEntries(podEnv(server(), sts).map((e) => [e.name, e.value ?? e.valueFrom]));
    assert.equal(env['SFTPGATE_STS_ENDPOINT'], 'http://minio:9000');
    assert.deepEqual(env['AWS_SECRET_ACCESS_KEY'], {
      secretKeyRef: { name: 'demo-s3-credentials', key: 'AWS_SECRET_ACCESS_KEY' },
    });
    assert.equal(env['SFTPGATE_DATA_ROLE_ARN'], undefined);
  });
});

describe("the profile's CA bundle", () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const withCa = locate(
    profileFixture((p) => (p.caBundle = pem)),
    'tenants',
    'demo',
  );
  it('is mounted from the server copy and named in NODE_EXTRA_CA_CERTS; absent, nothing is', () => {
    const pod = desiredDeployment(server(), withCa, settings, 'x').spec?.template.spec;
    assert.deepEqual(
      pod?.volumes?.find((v) => v.name === 's3-ca'),
      { name: 's3-ca', secret: { secretName: 'demo-s3-ca', defaultMode: 0o444 } },
    );
    assert.ok(pod?.containers[0]?.volumeMounts?.some((m) => m.name === 's3-ca' && m.readOnly));
    const env = Object.fromEntries(podEnv(server(), withCa).map((e) => [e.name, e.value]));
    assert.equal(env['NODE_EXTRA_CA_CERTS'], '/etc/sftpgate/s3-ca/ca.crt');
    const plain = desiredDeployment(server(), at, settings, 'x').spec?.template.spec;
    assert.equal(
      plain?.volumes?.find((v) => v.name === 's3-ca'),
      undefined,
    );
    assert.equal(envOf(server())['NODE_EXTRA_CA_CERTS'], undefined);
  });
});
