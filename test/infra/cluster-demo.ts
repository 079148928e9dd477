// `make demo` on the real thing: a single-node cluster (cluster.ts) with the images built from the Dockerfile, MinIO
// on the cluster's host address, `helm install` of the chart, the examples/ server and user (with a key generated
// here), and how to connect. runDemo (demo.ts) calls it and keeps it in the foreground.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Cluster, startCluster } from './cluster.ts';
import { applyExamples, installChart, SYSTEM_NAMESPACE, serverNodePort } from './cluster-release.ts';
import { type Minio, startMinio } from './minio.ts';
import { chartAlertRules, type Prometheus, startPrometheus } from './prometheus.ts';

const NAMESPACE = 'default';

export interface ClusterDemo {
  readonly cluster: Cluster;
  readonly minio: Minio;
  readonly connectionFile: string;
  stop(): Promise<void>;
}

async function podIp(cluster: Cluster, namespace: string, selector: string): Promise<string> {
  const out = await cluster.kubectl([
    'get',
    'pods',
    '-n',
    namespace,
    '-l',
    selector,
    '-o',
    'jsonpath={.items[0].status.podIP}',
  ]);
  return out.stdout.trim();
}

export async function startClusterDemo(o: {
  readonly stateDir: string;
  readonly signal?: AbortSignal;
  readonly log: (line: string) => void;
}): Promise<ClusterDemo> {
  const { stateDir, log } = o;
  const signal = o.signal;
  mkdirSync(stateDir, { recursive: true });
  const t0 = performance.now();
  const cluster = await startCluster({ log, ...(signal ? { signal } : {}) });
  let minio: Minio | undefined;
  let prometheus: Prometheus | undefined;
  const stop = async () => {
    rmSync(join(stateDir, 'connection.json'), { force: true });
    await prometheus?.stop();
    await minio?.stop();
    await cluster.stop();
  };
  try {
    minio = await startMinio({ address: cluster.hostIp, ...(signal ? { signal } : {}) });
    await minio.createBucket('sftpgate-demo', { versioning: true });
    await installChart(cluster, stateDir);
    log('chart installed, operator Ready');
    const keyPath = join(stateDir, 'id_ed25519');
    rmSync(keyPath, { force: true });
    rmSync(`${keyPath}.pub`, { force: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'demo@sftpgate', '-f', keyPath]);
    const demo = await applyExamples(cluster, minio, NAMESPACE, readFileSync(`${keyPath}.pub`, 'utf8'), {
      ...(signal ? { signal } : {}),
    });
    const port = await serverNodePort(cluster, NAMESPACE, demo.server);
    const operatorIp = await podIp(cluster, SYSTEM_NAMESPACE, 'app.kubernetes.io/name=sftpgate-operator');
    const sftpIp = await podIp(cluster, NAMESPACE, `app.kubernetes.io/instance=${demo.server}`);
    prometheus = await startPrometheus({
      cluster,
      rules: [await chartAlertRules(cluster, stateDir)],
      intervalSeconds: 10,
    });
    log(`ready in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    const connection = {
      sftp: { host: cluster.nodeIp, port, username: demo.user, privateKeyPath: keyPath },
      kubeconfig: cluster.kube.kubeconfigPath,
      namespace: NAMESPACE,
      server: demo.server,
      s3: {
        endpoint: minio.endpoint,
        region: minio.region,
        bucket: demo.bucket,
        prefix: demo.prefix,
        accessKeyId: minio.accessKeyId,
        secretAccessKey: minio.secretAccessKey,
      },
      metrics: { sftp: `http://${sftpIp}:9090/metrics`, operator: `http://${operatorIp}:8080/metrics` },
      prometheus: prometheus.url,
    };
    const connectionFile = join(stateDir, 'connection.json');
    writeFileSync(connectionFile, `${JSON.stringify(connection, null, 2)}\n`, { mode: 0o600 });
    const sftpOpts = '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes';
    const pods = (await cluster.kubectl(['get', 'sftpservers,pods', '-A', '-o', 'wide'])).stdout;
    process.stdout.write(
      [
        '',
        'sftpgate demo — a real single-node cluster (kubelet, containerd, kube-proxy), the chart installed by helm',
        `  connect:   sftp -i ${keyPath} -P ${port} ${sftpOpts} ${demo.user}@${cluster.nodeIp}`,
        `  files in:  s3://${demo.bucket}/${demo.prefix}/${demo.user}/  (MinIO ${minio.endpoint})`,
        `  kubectl:   export KUBECONFIG=${cluster.kube.kubeconfigPath}`,
        '             kubectl get sftpservers,sftpusers,pods -A -o wide',
        `             kubectl logs -n ${SYSTEM_NAMESPACE} deploy/sftpgate-operator`,
        `  metrics:   ${connection.metrics.sftp}   ${connection.metrics.operator}`,
        `  prometheus: ${prometheus.url}  (the chart's alert rules loaded: ${prometheus.url}/alerts)`,
        `  for scripts: ${connectionFile}`,
        '',
        pods,
      ].join('\n'),
    );
    return { cluster, minio, connectionFile, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
