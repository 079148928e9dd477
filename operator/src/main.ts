// sftpgate operator entry point: wiring only (config, kube client, manager, controllers, signals). The only place
// that exits the process.
import { IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createIamIntegration } from './cloud/iam/integration.ts';
import { runMultipartSweeper } from './cloud/s3/multipart-sweeper.ts';
import { ConfigError, type OperatorConfig, parseConfig, USAGE } from './config.ts';
import { allottedPlacement, bucketFor } from './controllers/placement-of.ts';
import { setupControllers } from './controllers/setup.ts';
import { runUsageMeasurer } from './controllers/usage/measurer.ts';
import { KubeClient, loadKubeAccess } from './runtime/kube-client.ts';
import { createLogger } from './runtime/logger.ts';
import { Manager } from './runtime/manager.ts';
import { OperatorMetrics } from './runtime/metrics.ts';

export async function runOperator(config: OperatorConfig, signal: AbortSignal): Promise<void> {
  const logger = createLogger({ level: config.logLevel, base: { component: 'operator' } });
  const client = new KubeClient(await loadKubeAccess(config.kubeconfig), { userAgent: 'sftpgate-operator' });
  const manager = new Manager({
    client,
    metrics: new OperatorMetrics({ defaultMetrics: true }),
    logger,
    http: { host: config.metricsHost, port: config.metricsPort },
    ...(config.leaderElect
      ? {
          leaderElection: {
            namespace: config.leaderElectionNamespace,
            name: config.leaderElectionId,
            identity: config.identity,
          },
        }
      : {}),
  });
  if (config.namespaces.length > 1) {
    logger.warn('several --namespace values: watching all namespaces (RBAC must allow it)', {
      namespaces: config.namespaces,
    });
  }
  let aws: Parameters<typeof createIamIntegration>[0] = {};
  if (config.awsIam) {
    // The account and partition the roles live in: read once (docs/iam.md).
    const sts = new STSClient({ region: config.awsRegion });
    const me = await sts.send(new GetCallerIdentityCommand({}), { abortSignal: signal });
    sts.destroy();
    const partition = (me.Arn ?? 'arn:aws').split(':')[1] ?? 'aws';
    aws = {
      aws: {
        iam: new IAMClient({ region: config.awsRegion }),
        account: { accountId: me.Account ?? '', partition, region: config.awsRegion },
      },
    };
    logger.info('AWS IAM management on', { account: me.Account, partition, region: config.awsRegion });
  }
  const controllers = setupControllers({
    iam: createIamIntegration(aws),
    manager,
    logger,
    workload: { image: config.sftpImage, imagePullPolicy: config.sftpImagePullPolicy },
    namespace: config.namespaces.length === 1 ? config.namespaces[0] : undefined,
    operatorNamespace: config.operatorNamespace,
    workers: config.workers,
    instance: config.identity,
  });
  logger.info('starting', {
    identity: config.identity,
    leaderElect: config.leaderElect,
    namespaces: config.namespaces,
  });
  if (config.usageIntervalSeconds > 0) {
    manager.addRunnable((leader) =>
      runUsageMeasurer(
        {
          ctx: controllers.context,
          client,
          logger,
          intervalMs: config.usageIntervalSeconds * 1000,
          concurrency: config.usageConcurrency,
          requestLimits: {
            userIntervalMs: config.usageRequestIntervalSeconds * 1000,
            perMinute: config.usageRequestRatePerMinute,
            burst: config.usageRequestBurst,
          },
          registry: manager.metrics.registry,
        },
        leader,
      ),
    );
  }
  const sweeper =
    config.multipartSweepAgeSeconds > 0 ? startSweeper(config, controllers.context, logger, signal) : undefined;
  try {
    await manager.run(signal);
  } finally {
    await sweeper;
    controllers.context.storage.close();
    client.close();
    logger.info('stopped');
  }
}

/** Orphaned multipart uploads under every server prefix (pods killed mid-upload), on every replica: idempotent. */
function startSweeper(
  config: OperatorConfig,
  ctx: ReturnType<typeof setupControllers>['context'],
  logger: ReturnType<typeof createLogger>,
  signal: AbortSignal,
): Promise<void> {
  return runMultipartSweeper({
    maxAgeMs: config.multipartSweepAgeSeconds * 1000,
    signal,
    targets: () =>
      ctx.servers
        .list()
        .filter((s) => !s.metadata.deletionTimestamp && s.metadata.uid)
        .flatMap((s) => {
          try {
            const placement = allottedPlacement(ctx, s);
            if (!placement) return [];
            const manager = bucketFor(ctx, s, placement);
            const sweep = manager.sweepIncompleteUploads?.bind(manager);
            const name = `${s.metadata.namespace}/${s.metadata.name}`;
            return sweep ? [{ name, prefix: placement.prefix, sweep }] : [];
          } catch {
            return []; // No usable credentials yet: the reconciler reports that on the server.
          }
        }),
    onResult: (server, r) => {
      if ('error' in r) logger.warn('multipart sweep failed', { server, error: String(r.error) });
      else if (r.aborted > 0 || (r.statesDeleted ?? 0) > 0) {
        logger.info('aborted stale multipart uploads', { server, aborted: r.aborted, states: r.statesDeleted ?? 0 });
      }
    },
  });
}

/** Runs the operator until SIGTERM/SIGINT; resolves the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let config: OperatorConfig | 'help';
  try {
    config = parseConfig(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sftpgate-operator: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (config === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (name: string): void => {
    signals++;
    if (signals > 1) process.exit(130); // second Ctrl-C: don't wait for the graceful shutdown
    process.stderr.write(`sftpgate-operator: ${name}, shutting down\n`);
    stop.abort(new Error(name));
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  try {
    await runOperator(config, stop.signal);
    return 0;
  } catch (err) {
    process.stderr.write(`sftpgate-operator: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
