import { Informer } from './common/src/kube/informer.ts';
import { KubeClient, Resources } from './common/src/kube/kube-client.ts';
import { startControlPlane } from './test/infra/index.ts';
const cp = await startControlPlane();
try {
  const client = new KubeClient(cp.kubeConfig());
  const seen: Record<string, string[]> = {};
  const mk = (name: string, opts: object) => {
    seen[name] = [];
    return new Informer({ client, type: Resources.ConfigMap, resyncPeriodMs: 0, ...opts, hooks: { event: (t) => seen[name]?.push(`${Math.round(performance.now() / 1000)}:${t}`) } });
  };
  const ac = new AbortController();
  void mk('all-namespaces', {}).run(ac.signal);
  void mk('one-namespace', { namespace: 'default' }).run(ac.signal);
  void mk('field-selector', { namespace: 'default', fieldSelector: 'metadata.name=x' }).run(ac.signal);
  await new Promise((r) => setTimeout(r, 130_000));
  console.log(JSON.stringify(seen));
  ac.abort();
  client.close();
} finally { await cp.stop(); }
