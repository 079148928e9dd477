import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cniConfig,
  containerdConfig,
  kubeletConfig,
  kubeProxyConfig,
  type NodeLayout,
  paths,
} from './cluster-config.ts';
import { slotAddresses } from './cluster-host.ts';

const layout: NodeLayout = {
  dir: '/tmp/sftpgate-cluster-x',
  nodeName: 'node-7',
  ...slotAddresses(7),
  cgroupRoot: '/sftpgate-c7',
  sandboxImage: 'localhost/sftpgate-pause:v1',
  kubeconfig: '/tmp/k/admin.kubeconfig',
  clusterCaFile: '/tmp/k/pki/ca.crt',
};

describe('test cluster configuration', () => {
  it('slots get disjoint addresses', () => {
    assert.deepEqual(slotAddresses(7), { hostIp: '10.243.7.1', nodeIp: '10.243.7.2', podCidr: '10.244.7.0/24' });
    assert.notEqual(slotAddresses(8).podCidr, slotAddresses(7).podCidr);
  });

  it('containerd keeps every path and socket inside the cluster dir', () => {
    const toml = containerdConfig(layout);
    for (const line of toml.split('\n').filter((l) => /(root|state|address|_dir) = "\//.test(l))) {
      assert.ok(line.includes(layout.dir) || line.includes('/usr/lib/cni'), line);
    }
    assert.match(toml, /SystemdCgroup = false/);
    assert.match(toml, /sandbox_image = "localhost\/sftpgate-pause:v1"/);
  });

  it('the pod network never masquerades and keeps its IPAM state in the cluster dir', () => {
    const cni = JSON.parse(cniConfig(layout)) as {
      plugins: { type: string; ipMasq?: boolean; ipam?: { dataDir: string } }[];
    };
    const bridge = cni.plugins.find((p) => p.type === 'bridge');
    assert.equal(bridge?.ipMasq, false);
    assert.equal(bridge?.ipam?.dataDir, paths(layout.dir).cniDataDir);
  });

  it('kubelet: cgroupfs under the cluster root, empty resolv.conf, no evictions', () => {
    const k = JSON.parse(kubeletConfig(layout)) as Record<string, unknown>;
    assert.equal(k['cgroupDriver'], 'cgroupfs');
    assert.equal(k['cgroupRoot'], '/sftpgate-c7');
    assert.equal(k['resolvConf'], paths(layout.dir).resolvConf);
    assert.equal(k['containerRuntimeEndpoint'], `unix://${paths(layout.dir).containerdSocket}`);
  });

  it('kube-proxy leaves machine-wide conntrack settings alone and serves NodePorts on the node address only', () => {
    const p = JSON.parse(kubeProxyConfig(layout)) as {
      conntrack: Record<string, unknown>;
      nodePortAddresses: string[];
    };
    assert.deepEqual(p.conntrack, { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' });
    assert.deepEqual(p.nodePortAddresses, ['10.243.7.2/32']);
  });
});
