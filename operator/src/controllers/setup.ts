// Builds both controllers on a runtime Manager: informers, the shared context, secondary watches. main.ts and the
// tests call this, so the operator under test is wired exactly like the shipped one.
import type { V1Deployment, V1Namespace, V1Secret } from '@kubernetes/client-node';
import type { Condition, SftpServer, SftpStorageProfile, SftpUser } from '../api/types.generated.ts';
import { isConditionTrue } from '../runtime/conditions.ts';
import { Controller, generationChangedPredicate, watchSecondary } from '../runtime/controller.ts';
import { EventRecorder } from '../runtime/events.ts';
import { type KubeObject, Resources } from '../runtime/kube-client.ts';
import type { Logger } from '../runtime/logger.ts';
import type { Manager } from '../runtime/manager.ts';
import { PasswordHasher, type ScryptParams } from '../secrets/password-hash.ts';
import { type ControllerContext, type IamIntegration, kube, type StorageFactory, StorageRegistry } from './context.ts';
import { PasswordSecrets } from './password-secrets.ts';
import {
  credentialsServerKeys,
  namespaceServerKeys,
  ownerServerKeys,
  profileServerKeys,
  secretServerKeys,
  siblingServerKeys,
  userServerKeys,
} from './sftp-server/checks.ts';
import type { WorkloadSettings } from './sftp-server/desired.ts';
import { SftpServerReconciler } from './sftp-server/reconciler.ts';
import { secretUserKeys, serverUserKeys } from './sftp-user/checks.ts';
import { SftpUserReconciler } from './sftp-user/reconciler.ts';
import { SftpStorageProfileReconciler } from './storage-profile/reconciler.ts';
import { UserIndex } from './user-index.ts';

/** Coalescing window for users-table rebuilds after user events. */
export const USERS_TABLE_BATCH_MS = 200;

export interface SetupOptions {
  manager: Manager;
  logger: Logger;
  workload: WorkloadSettings;
  /** Limit to one namespace; undefined watches all. */
  namespace?: string | undefined;
  /** The operator's own namespace: where profiles' credentials Secrets live. */
  operatorNamespace: string;
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
  profiles: Controller<SftpStorageProfile & KubeObject>;
  serverReconciler: SftpServerReconciler;
  userReconciler: SftpUserReconciler;
}

export function setupControllers(o: SetupOptions): Controllers {
  const ns = o.namespace !== undefined ? { namespace: o.namespace } : {};
  const servers = o.manager.informer<SftpServer & KubeObject>(Resources.SftpServer, ns);
  const users = o.manager.informer<SftpUser & KubeObject>(Resources.SftpUser, ns);
  const profiles = o.manager.informer<SftpStorageProfile & KubeObject>(Resources.SftpStorageProfile);
  // Namespaces for their labels (profiles select on them). One namespace watched: that namespace only.
  const namespaces = o.manager.informer<V1Namespace & KubeObject>(
    Resources.Namespace,
    o.namespace !== undefined ? { fieldSelector: `metadata.name=${o.namespace}` } : {},
  );
  // Only the operator's own Secrets are cached (its children carry this label); tenants' password Secrets are
  // read by name (PasswordSecrets), the profiles' credentials from the operator's namespace.
  const secrets = o.manager.informer<V1Secret & KubeObject>(Resources.Secret, {
    ...ns,
    labelSelector: 'app.kubernetes.io/managed-by=sftpgate',
  });
  const operatorSecrets = o.manager.informer<V1Secret & KubeObject>(Resources.Secret, {
    namespace: o.operatorNamespace,
  });
  const deployments = o.manager.informer<V1Deployment & KubeObject>(Resources.Deployment, {
    ...ns,
    labelSelector: 'app.kubernetes.io/managed-by=sftpgate',
  });
  const userIndex = new UserIndex();
  users.on((type, u) => userIndex.observe(type, u));
  // Set once the controllers exist: a changed password Secret requeues its users and their servers.
  let onPasswordChange: (namespace: string, name: string) => void = () => {};
  const context: ControllerContext = {
    userIndex,
    client: o.manager.client,
    servers,
    users,
    profiles,
    namespaces,
    secrets,
    operatorSecrets,
    operatorNamespace: o.operatorNamespace,
    passwords: new PasswordSecrets(o.manager.client, (n, s) => onPasswordChange(n, s)),
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
  const profileReconciler = new SftpStorageProfileReconciler(context);
  const serverController = new Controller<SftpServer & KubeObject>({
    name: 'sftpserver',
    informer: servers,
    reconcile: (key, signal) => serverReconciler.reconcile(key, signal),
    predicate: (t, o, old) => generationChangedPredicate(t, o, old),
    watches: [
      watchSecondary(secrets, secretServerKeys()),
      watchSecondary(deployments, (d) => ownerServerKeys(kube(d))),
      watchSecondary(profiles, profileServerKeys(servers, profiles)),
      watchSecondary(namespaces, namespaceServerKeys(servers)),
      watchSecondary(operatorSecrets, credentialsServerKeys(servers, profiles)),
      watchSecondary(servers, (s, type) => (type === 'update' ? [] : siblingServerKeys(servers)(s))),
    ],
    workers: o.workers ?? 4,
    metrics: o.manager.metrics,
    logger: o.logger,
  });
  // User changes reach the server through a short delay: a burst of applies becomes one users-table pass per
  // server instead of one per user (the queue keeps the earliest deadline). Revocation stays well under a second.
  users.on((type, u, old) => {
    for (const key of userServerKeys(u, type, old)) {
      serverController.enqueueAfter(key, serverReconciler.usersTableDelayMs(key, USERS_TABLE_BATCH_MS));
    }
  });
  const userController = new Controller<SftpUser & KubeObject>({
    name: 'sftpuser',
    informer: users,
    reconcile: (key, signal) => userReconciler.reconcile(key, signal),
    predicate: (t, o, old) => generationChangedPredicate(t, o, old),
    watches: [
      watchSecondary(servers, serverUserKeys(users)),
      watchSecondary(secrets, secretUserKeys(users, servers, secrets)),
      // A user that goes frees a place under its profile's per-namespace cap: the users refused for the cap try
      // again (first come keeps its place, so an added user displaces nobody; requeueing every user of the
      // namespace on every add would make a bulk apply quadratic).
      watchSecondary(users, (u, type) => (type !== 'delete' ? [] : userIndex.overCapIn(u.metadata.namespace))),
    ],
    // User passes mostly wait on S3 (home marker) and the API (status): more of them in flight. 8 per --workers
    // (32 by default; 16 until session 19): during a bulk create the user passes then keep closer to the creates,
    // so fewer users are left to make Ready after the last one (docs/decisions.md, "Operator at 10,000 users,
    // session 19").
    workers: (o.workers ?? 4) * 8,
    metrics: o.manager.metrics,
    logger: o.logger,
  });
  const profileController = new Controller<SftpStorageProfile & KubeObject>({
    name: 'sftpstorageprofile',
    informer: profiles,
    reconcile: (key, signal) => profileReconciler.reconcile(key, signal),
    predicate: (t, o, old) => generationChangedPredicate(t, o, old),
    watches: [
      // Usage counts: a server that comes or goes; overlaps: any other profile.
      watchSecondary(servers, (s, type) => (type === 'update' ? [] : [s.spec.storage.profile])),
      watchSecondary(profiles, (p) =>
        profiles
          .list()
          .filter((o) => o.metadata.name !== p.metadata.name && o.spec.bucket === p.spec.bucket)
          .map((o) => o.metadata.name ?? ''),
      ),
    ],
    workers: 1,
    metrics: o.manager.metrics,
    logger: o.logger,
  });
  // Password rotation without a Secret watch: referenced Secrets are re-read by name (password-secrets.ts).
  o.manager.addRunnable((signal) =>
    context.passwords.poll(signal, () =>
      users
        .list()
        .filter((u) => u.spec.passwordSecretRef !== undefined)
        .map((u) => `${u.metadata.namespace}/${u.spec.passwordSecretRef?.name}`),
    ),
  );
  onPasswordChange = (namespace, name) => {
    for (const u of users.list()) {
      if (u.metadata.namespace !== namespace || u.spec.passwordSecretRef?.name !== name) continue;
      userController.enqueue(`${namespace}/${u.metadata.name}`);
      const key = `${namespace}/${u.spec.serverRef.name}`;
      serverController.enqueueAfter(key, serverReconciler.usersTableDelayMs(key, USERS_TABLE_BATCH_MS));
    }
  };
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
  o.manager.addController(profileController);
  return {
    context,
    servers: serverController,
    users: userController,
    profiles: profileController,
    serverReconciler,
    userReconciler,
  };
}
