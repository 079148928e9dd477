// The profile's pod-template allow-lists, one row per rule (same semantics as the chart's admissionPolicy.sftpPods).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SftpServer, SftpStorageProfilePodTemplate } from '../../api/types.generated.ts';
import { serverFixture } from '../testing/fixtures.ts';
import { disallowedPodField } from './pod-fields.ts';

const controlPlane = {
  key: 'node-role.kubernetes.io/control-plane',
  operator: 'Exists',
  effect: 'NoSchedule',
} as const;
const dedicated = { key: 'dedicated', value: 'sftp', effect: 'NoSchedule' } as const;
const zoneAffinity = (key: string) => ({
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchExpressions: [{ key, operator: 'In', values: ['a'] }] }],
    },
  },
});

const rows: {
  name: string;
  spec: (s: SftpServer['spec']) => void;
  allowed: SftpStorageProfilePodTemplate | undefined;
  refused?: RegExp;
}[] = [
  { name: 'no pod fields, empty lists', spec: () => {}, allowed: {} },
  { name: 'no pod fields, no podTemplate', spec: () => {}, allowed: undefined },
  {
    name: 'allowed annotation, label, node key, toleration (operator defaults to Equal), priority class',
    spec: (s) => {
      s.podAnnotations = { 'example.com/team': 'x' };
      s.podLabels = { team: 'x' };
      s.nodeSelector = { 'topology.kubernetes.io/zone': 'a' };
      s.affinity = zoneAffinity('topology.kubernetes.io/zone');
      s.tolerations = [{ ...dedicated, operator: 'Equal' }];
      s.priorityClassName = 'sftp';
    },
    allowed: {
      allowedAnnotations: ['example.com/team'],
      allowedLabels: ['team'],
      allowedNodeSelectorKeys: ['topology.kubernetes.io/zone'],
      allowedTolerations: [dedicated],
      allowedPriorityClassNames: ['sftp'],
    },
  },
  {
    name: 'annotation not in the list (value never echoed)',
    spec: (s) => (s.podAnnotations = { 'iam.amazonaws.com/role': 'arn:aws:iam::1:role/admin' }),
    allowed: { allowedAnnotations: ['example.com/*'] },
    refused: /^podAnnotations\[iam\.amazonaws\.com\/role\] .*allowedAnnotations/,
  },
  {
    name: 'prefix wildcard allows keys under it',
    spec: (s) => (s.podAnnotations = { 'example.com/a': '1', 'example.com/b/c': '2' }),
    allowed: { allowedAnnotations: ['example.com/*'] },
  },
  {
    name: 'prefix wildcard does not allow a look-alike outside it',
    spec: (s) => (s.podAnnotations = { 'example.community/a': '1' }),
    allowed: { allowedAnnotations: ['example.com/*'] },
    refused: /podAnnotations\[example\.community\/a\]/,
  },
  {
    name: 'label not in the list',
    spec: (s) => (s.podLabels = { 'azure.workload.identity/use': 'true' }),
    allowed: {},
    refused: /podLabels\[azure\.workload\.identity\/use\]/,
  },
  {
    name: 'toleration differing only in effect',
    spec: (s) => (s.tolerations = [{ ...dedicated, effect: 'NoExecute' }]),
    allowed: { allowedTolerations: [dedicated] },
    refused: /tolerations\[0\] \(key dedicated\)/,
  },
  {
    name: 'control-plane toleration under empty lists',
    spec: (s) => (s.tolerations = [controlPlane]),
    allowed: {},
    refused: /tolerations\[0\] \(key node-role\.kubernetes\.io\/control-plane\)/,
  },
  {
    name: 'match-everything toleration (no key, Exists) is not a wildcard allow',
    spec: (s) => (s.tolerations = [{ operator: 'Exists' }]),
    allowed: { allowedTolerations: [dedicated] },
    refused: /tolerations\[0\] \(key <any>\)/,
  },
  {
    name: 'nodeSelector key not in the list',
    spec: (s) => (s.nodeSelector = { 'kubernetes.io/hostname': 'cp-1' }),
    allowed: { allowedNodeSelectorKeys: ['topology.kubernetes.io/zone'] },
    refused: /nodeSelector\[kubernetes\.io\/hostname\]/,
  },
  {
    name: 'node affinity key not in the list',
    spec: (s) => (s.affinity = zoneAffinity('node-role.kubernetes.io/control-plane')),
    allowed: { allowedNodeSelectorKeys: ['topology.kubernetes.io/zone'] },
    refused: /affinity\.nodeAffinity\.required\.nodeSelectorTerms\[0\]\[node-role/,
  },
  {
    name: 'preferred node affinity matchFields (metadata.name pins a node)',
    spec: (s) =>
      (s.affinity = {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 1, preference: { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['cp'] }] } },
          ],
        },
      }),
    allowed: { allowedNodeSelectorKeys: ['metadata.name'] },
    refused: /preferred\[0\]\.preference\.matchFields/,
  },
  {
    name: 'pod anti-affinity alone needs no node key',
    spec: (s) => (s.affinity = { podAntiAffinity: {} }),
    allowed: {},
  },
  {
    name: 'priority class not in the list',
    spec: (s) => (s.priorityClassName = 'system-node-critical'),
    allowed: { allowedPriorityClassNames: ['sftp'] },
    refused: /priorityClassName system-node-critical .*allowedPriorityClassNames/,
  },
  {
    name: 'empty lists refuse every field',
    spec: (s) => (s.priorityClassName = 'sftp'),
    allowed: {
      allowedAnnotations: [],
      allowedLabels: [],
      allowedNodeSelectorKeys: [],
      allowedTolerations: [],
      allowedPriorityClassNames: [],
    },
    refused: /priorityClassName sftp/,
  },
];

describe('disallowedPodField', () => {
  for (const row of rows) {
    it(row.name, () => {
      const got = disallowedPodField(serverFixture(row.spec).spec, row.allowed);
      if (!row.refused) return assert.equal(got, undefined);
      assert.match(got?.message ?? '', row.refused);
      assert.doesNotMatch(got?.message ?? '', /arn:aws/, 'never a value');
    });
  }
});
