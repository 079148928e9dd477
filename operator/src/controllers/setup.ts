// Builds both controllers on a runtime Manager: informers, the shared context, secondary watches. main.ts and the
// tests call this, so the operator under test is wired exactly like the shipped one.
import type { V1Deployment, V1Secret } from '@kubernetes/client-node';
import type { Condition, SftpServer, SftpUser } from '../api/types.generated.ts';
import { isConditionTrue } from '../runtime/conditions.ts';
import { Controller, generationChangedPredicate, watchSecondary } from '../runtime/controller.ts';
import { EventRecorder } from '../runtime/events.ts';
import { type KubeObject, Resources } from '../runtime/kube-client.ts';
import type { Logger } from '../runtime/logger.ts';
import type { Manager } from '../runtime/manager.ts';
import { PasswordHasher, type ScryptParams } from '../secrets/password-hash.ts';
import { type ControllerContext, type IamIntegration, kube, type StorageFactory, StorageRegistry } from './context.ts';
import { ownerServerKeys, secretServerKeys, userServerKeys } from './sftp-server/checks.ts';
import type { WorkloadSettings } from './sftp-server/desired.ts';
import { SftpServerReconciler } from './sftp-server/reconciler.ts';
import { secretUserKeys, serverUserKeys } from './sftp-user/checks.ts';
import { SftpUserReconciler } from './sftp-user/reconciler.ts';
import { UserIndex } from './user-index.ts';

/** Coalescing window for users-table rebuilds after user events. */
export const USERS_TABLE_BATCH_MS = 200;

export interface SetupOptions {
  manager: Manager;
  logger: Logger;
  workload: WorkloadSettings;
  /** Limit to one namespace; undefined watches all. */
  namespace?: string | undefined;
  workers?: number;
  iam?: IamIntegration | undefined;
  storageFactory?: StorageFactory;
  scrypt?: ScryptParams;
  /** Reported as the Event source instance (pod name). */
  instance?: string;
}

export interface Controllers {
  context: ControllerContext;
  servers: Controller<SftpServer & KubeObject>;
  users: Controller<SftpUser & KubeObject>;
  serverReconciler: SftpServerReconciler;
  userReconciler: SftpUserReconciler;
}

export function setupControllers(o: SetupOptions): Controllers {
  const ns = o.namespace !== undefined ? { namespace: o.namespace } : {};
  const servers = o.manager.informer<SftpServer & KubeObject>(Resources.SftpServer, ns);
  const users = o.manager.informer<SftpUser & KubeObject>(Resources.SftpUser, ns);
  // Every Secret: credentials and password Secrets are the users' own and carry no label we could select on.
  const secrets = o.manager.informer<V1Secret & KubeObject>(Resources.Secret, ns);
  const deployments = o.manager.informer<V1Deployment & KubeObject>(Resources.Deployment, {
    ...ns,
    labelSelector: 'app.kubernetes.io/managed-by=sftpgate',
  });
  const userIndex = new UserIndex();
  users.on((type, u) => userIndex.observe(type, u));
  const context: ControllerContext = {
    userIndex,
    client: o.manager.client,
    servers,
    users,
    secrets,
    deployments,
    events: new EventRecorder({
      client: o.manager.client,
      logger: o.logger,
      ...(o.instance ? { instance: o.instance } : {}),
    }),
    logger: o.logger,
    hasher: new PasswordHasher(o.scrypt ? { params: o.scrypt } : {}),
    workload: o.workload,
    storage: new StorageRegistry(o.storageFactory),
    iam: o.iam,
  };
  const serverReconciler = new SftpServerReconciler(context);
  const userReconciler = new SftpUserReconciler(context);
  const serverController = new Controller<SftpServer & KubeObject>({
    name: 'sftpserver',
    informer: servers,
    reconcile: (key, signal) => serverReconciler.reconcile(key, signal),
    predicate: (t, o, old) => generationChangedPredicate(t, o, old),
    watches: [
      watchSecondary(secrets, secretServerKeys(servers, users)),
      watchSecondary(deployments, (d) => ownerServerKeys(kube(d))),
    ],
    workers: o.workers ?? 4,
    metrics: o.manager.metrics,
    logger: o.logger,
  });
  // User changes reach the server through a short delay: a burst of applies becomes one users-table pass per
  // server instead of one per user (the queue keeps the earliest deadline). Revocation stays well under a second.
  users.on((type, u, old) => {
    for (const key of userServerKeys(u, type, old)) serverController.enqueueAfter(key, USERS_TABLE_BATCH_MS);
  });
  const userController = new Controller<SftpUser & KubeObject>({
    name: 'sftpuser',
    informer: users,
    reconcile: (key, signal) => userReconciler.reconcile(key, signal),
    predicate: (t, o, old) => generationChangedPredicate(t, o, old),
    watches: [
      watchSecondary(servers, serverUserKeys(users)),
      watchSecondary(secrets, secretUserKeys(users, servers, secrets)),
    ],
    // User passes mostly wait on S3 (home marker) and the API (status): more of them in flight.
    workers: (o.workers ?? 4) * 4,
    metrics: o.manager.metrics,
    logger: o.logger,
  });
  // sftpgate_operator_resources{kind,ready}: read from the caches at scrape time.
  const readiness = (list: () => { status?: { conditions?: Condition[] } }[]) => () => {
    let ready = 0;
    let notReady = 0;
    for (const obj of list()) {
      if (isConditionTrue(obj.status?.conditions, 'Ready')) ready++;
      else notReady++;
    }
    return { ready, notReady };
  };
  o.manager.metrics.trackReadiness(
    'SftpServer',
    readiness(() => servers.list()),
  );
  o.manager.metrics.trackReadiness(
    'SftpUser',
    readiness(() => users.list()),
  );
  o.manager.addController(serverController);
  o.manager.addController(userController);
  return { context, servers: serverController, users: userController, serverReconciler, userReconciler };
}
