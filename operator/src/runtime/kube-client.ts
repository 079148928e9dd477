// The typed Kubernetes client lives in common/ (the sftp pod reads its users Secrets with it too). The operator's
// client applies with the operator's single field manager.
import { type KubeClientOptions, KubeClient as SharedKubeClient } from '../../../common/src/kube/kube-client.ts';
import type { KubeAccess } from '../../../common/src/kube/kube-config.ts';
import { fieldManager } from '../api/resources.ts';

export {
  apiVersionOf,
  type KubeClientOptions,
  type KubeObject,
  type ListOptions,
  type ObjectList,
  type OwnerReference,
  type RequestHook,
  Resources,
  type ResourceType,
  type WatchEvent,
  type WatchEventType,
  type WatchOptions,
} from '../../../common/src/kube/kube-client.ts';
export { type KubeAccess, loadKubeAccess } from '../../../common/src/kube/kube-config.ts';

/** The shared client with the operator's field manager and user agent as defaults. */
export class KubeClient extends SharedKubeClient {
  constructor(kubeConfig: KubeAccess, options: KubeClientOptions = {}) {
    super(kubeConfig, { fieldManager, userAgent: 'sftpgate-operator', ...options });
  }
}
