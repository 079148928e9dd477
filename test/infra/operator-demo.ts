// The operator half of `make demo` (runDemo in demo.ts calls it once the components run): install the CRDs, run the
// operator out of cluster, apply examples/ (credentials, a server, a user with a generated key), run the sftp pod
// process exactly as the operator's Deployment configures it, and tell the human how to connect.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { parse } from 'yaml';
import { KubeClient, type KubeObject, Resources } from '../../operator/src/runtime/kube-client.ts';
import { type RunningPod, startSftpPod } from '../integration/operator-pod.ts';
import type { ControlPlane } from './control-plane.ts';
import { httpGet } from './http.ts';
import type { Minio } from './minio.ts';
import { releasePorts, reservePorts } from './ports.ts';
import { type ManagedProcess, spawnManaged, waitUntil } from './process.ts';

const repoRoot = new URL('../../', import.meta.url).pathname;
/** The operator's own namespace: the profile's credentials live there, never in the tenant's. */
const OPERATOR_NAMESPACE = 'sftpgate-system';
const NAMESPACE = 'default';
type Manifest = KubeObject & { [field: string]: unknown };

export interface OperatorDemo {
  readonly connectionFile: string;
  stop(): Promise<void>;
}

function example(file: string): Manifest {
  return parse(readFileSync(join(repoRoot, 'examples', file), 'utf8')) as Manifest;
}

const conditionTrue = (obj: unknown, type: string): boolean =>
  ((obj as { status?: { conditions?: { type: string; status: string }[] } })?.status?.conditions ?? []).some(
    (c) => c.type === type && c.status === 'True',
  );

/** Everything after the components are up. Stops what it started if a step fails. */
export async function startOperatorDemo(o: {
  kube: ControlPlane;
  minio: Minio;
  stateDir: string;
  signal?: AbortSignal;
  log: (line: string) => void;
}): Promise<OperatorDemo> {
  const { kube, minio, stateDir, log } = o;
  const signal = o.signal;
  const stoppers: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stoppers.splice(0).reverse()) await s().catch(() => undefined);
  };
  const admin = new KubeClient(kube.kubeConfig());
  stoppers.push(async () => admin.close());
  try {
    mkdirSync(stateDir, { recursive: true });
    // 1. The API.
    await kube.kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
    await kube.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/sftpservers.sftpgate.io',
      'crd/sftpusers.sftpgate.io',
      'crd/sftpstorageprofiles.sftpgate.io',
    ]);
    log('CRDs installed');

    // 2. The bucket of the platform's profile (examples/sftpstorageprofile.yaml), versioned (so deletion policies
    // show their worth).
    const server = example('sftpserver.yaml');
    const profile = example('sftpstorageprofile.yaml');
    const profileSpec = profile['spec'] as Record<string, unknown>;
    const bucket = String(profileSpec['bucket']);
    await minio.s3().send(new CreateBucketCommand({ Bucket: bucket }));
    await minio
      .s3()
      .send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));

    // 3. The operator, out of cluster, as its own process.
    const [operatorPort] = await reservePorts(1);
    if (operatorPort === undefined) throw new Error('no free port');
    releasePorts([operatorPort]);
    const operator: ManagedProcess = spawnManaged({
      name: 'sftpgate-operator',
      command: process.execPath,
      args: [
        join(repoRoot, 'operator/bin/sftpgate-operator.js'),
        `--kubeconfig=${kube.kubeconfigPath}`,
        `--metrics-listen=127.0.0.1:${operatorPort}`,
        '--leader-elect',
        '--leader-election-namespace=default',
        `--operator-namespace=${OPERATOR_NAMESPACE}`,
        '--sftp-image=sftpgate/sftp:dev',
      ],
      cwd: repoRoot,
      logFile: join(stateDir, 'operator.log'),
      graceSeconds: 10,
    });
    stoppers.push(() => operator.stop());
    const operatorMetrics = `http://127.0.0.1:${operatorPort}`;
    await waitUntil(
      'operator ready',
      async (s) => (await httpGet(`${operatorMetrics}/readyz`, { signal: s })).status === 200,
      {
        timeoutMs: 60_000,
        process: operator,
        signal,
      },
    );
    log(`operator running (log: ${join(stateDir, 'operator.log')})`);

    // 4. examples/: the platform's credentials (operator's namespace) and profile pointed at this MinIO, the
    // tenant's server on that profile, the user with a key generated here.
    await admin.apply(Resources.Namespace, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: OPERATOR_NAMESPACE },
    });
    const creds = example('s3-credentials.yaml');
    creds['stringData'] = { AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey };
    await admin.apply(Resources.Secret, { ...creds, metadata: { ...creds.metadata, namespace: OPERATOR_NAMESPACE } });
    profileSpec['endpoint'] = minio.endpoint;
    profileSpec['region'] = minio.region;
    await admin.apply(Resources.SftpStorageProfile, profile);
    await admin.apply(Resources.SftpServer, { ...server, metadata: { ...server.metadata, namespace: NAMESPACE } });
    const keyPath = join(stateDir, 'id_ed25519');
    rmSync(keyPath, { force: true });
    rmSync(`${keyPath}.pub`, { force: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'demo@sftpgate', '-f', keyPath]);
    const user = example('sftpuser.yaml');
    const userSpec = user['spec'] as { authorizedKeys: string[] };
    userSpec.authorizedKeys = [readFileSync(`${keyPath}.pub`, 'utf8').trim()];
    await admin.apply(Resources.SftpUser, { ...user, metadata: { ...user.metadata, namespace: NAMESPACE } });
    const serverName = server.metadata?.name ?? 'demo';
    const userName = user.metadata?.name ?? 'alice';
    await waitUntil(
      'SftpServer storage and host keys ready',
      async () => {
        const s = await admin.getOptional(Resources.SftpServer, NAMESPACE, serverName);
        return conditionTrue(s, 'StorageReady') && conditionTrue(s, 'HostKeysReady');
      },
      { timeoutMs: 60_000, process: operator, signal },
    );
    await waitUntil(
      'Deployment rendered',
      async () => !!(await admin.getOptional(Resources.Deployment, NAMESPACE, `${serverName}-sftp`)),
      {
        timeoutMs: 30_000,
        process: operator,
        signal,
      },
    );

    // 5. The pod process, configured by the Deployment (there is no kubelet here).
    const pod: RunningPod = await startSftpPod({
      cp: kube,
      admin,
      namespace: NAMESPACE,
      server: serverName,
      dir: join(stateDir, 'pod'),
      ...(signal ? { signal } : {}),
    });
    stoppers.push(() => pod.stop());
    await waitUntil(
      'SftpUser published',
      async () => conditionTrue(await admin.getOptional(Resources.SftpUser, NAMESPACE, userName), 'Published'),
      { timeoutMs: 60_000, process: operator, signal },
    );

    // 6. How to use it.
    // Derived by the operator: <profile root>/<namespace>/<server>.
    const prefix = [profileSpec['root'] ?? 'sftpgate', NAMESPACE, serverName].filter(Boolean).join('/');
    const connection = {
      sftp: { host: '127.0.0.1', port: pod.sshPort, username: userName, privateKeyPath: keyPath },
      kubeconfig: kube.kubeconfigPath,
      namespace: NAMESPACE,
      server: serverName,
      s3: {
        endpoint: minio.endpoint,
        region: minio.region,
        bucket,
        prefix,
        accessKeyId: minio.accessKeyId,
        secretAccessKey: minio.secretAccessKey,
      },
      metrics: { sftp: `${pod.metricsUrl}/metrics`, operator: `${operatorMetrics}/metrics` },
    };
    const connectionFile = join(stateDir, 'connection.json');
    writeFileSync(connectionFile, `${JSON.stringify(connection, null, 2)}\n`, { mode: 0o600 });
    stoppers.push(async () => rmSync(connectionFile, { force: true }));
    const sftpOpts = `-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes`;
    process.stdout.write(
      [
        '',
        'sftpgate demo',
        `  connect:   sftp -i ${keyPath} -P ${pod.sshPort} ${sftpOpts} ${userName}@127.0.0.1`,
        `  files in:  s3://${bucket}/${prefix}/${userName}/  (MinIO ${minio.endpoint})`,
        `  kubectl:   export KUBECONFIG=${kube.kubeconfigPath}`,
        '             kubectl get sftpservers,sftpusers -o wide',
        `             kubectl describe sftpserver ${serverName}`,
        `             kubectl get secret ${serverName}-users-0 -o jsonpath='{.data.users\\.json}' | base64 -d`,
        '  add a user (logs in within seconds, no restart):',
        `             ssh-keygen -t ed25519 -N '' -f ${stateDir}/bob && kubectl apply -f - <<EOF`,
        '             apiVersion: sftpgate.io/v1alpha1',
        '             kind: SftpUser',
        '             metadata: { name: bob }',
        `             spec: { serverRef: { name: ${serverName} }, authorizedKeys: ["$(cat ${stateDir}/bob.pub)"] }`,
        '             EOF',
        `  metrics:   ${connection.metrics.sftp}   ${connection.metrics.operator}`,
        `  logs:      ${join(stateDir, 'operator.log')}   ${pod.process.logFile}`,
        `  for scripts: ${connectionFile}`,
        '  Ready is False with reason DeploymentUnavailable: this control plane has no kubelet, the pod above stands in.',
        '',
      ].join('\n'),
    );
    return { connectionFile, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
