// Which pod-template fields of an SftpServer its profile lets through (SftpStorageProfile.spec.podTemplate): the
// per-profile allow-lists under the chart's platform-wide ceiling (admissionPolicy.sftpPods), with the same shapes
// and semantics. Pure. Messages name the field and key, never a value (annotation values may carry anything).
import type { SftpServerSpec, SftpStorageProfilePodTemplate } from '../../api/types.generated.ts';

export interface PodFieldRefusal {
  /** The spec field, e.g. `podAnnotations[iam.amazonaws.com/role]`. */
  readonly field: string;
  readonly message: string;
}

type Toleration = { key?: string; operator?: string; value?: string; effect?: string };
type NodeTerm = { matchExpressions?: { key?: string }[]; matchFields?: unknown[] };

/** `key` is in `allowed`, where an entry ending in `*` allows every key with that prefix. */
export function keyAllowed(allowed: readonly string[], key: string): boolean {
  return allowed.some((a) => a === key || (a.endsWith('*') && key.startsWith(a.slice(0, -1))));
}

/** Tolerations compare on key, operator (default Equal), value and effect, absent fields as ''. */
function sameToleration(a: Toleration, b: Toleration): boolean {
  return (
    (a.key ?? '') === (b.key ?? '') &&
    (a.operator ?? 'Equal') === (b.operator ?? 'Equal') &&
    (a.value ?? '') === (b.value ?? '') &&
    (a.effect ?? '') === (b.effect ?? '')
  );
}

/** The node affinity terms of `affinity` (required and preferred), with the spec path of each. */
function nodeTerms(affinity: unknown): { path: string; term: NodeTerm }[] {
  const node = (
    affinity as
      | {
          nodeAffinity?: {
            requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeTerm[] };
            preferredDuringSchedulingIgnoredDuringExecution?: { preference?: NodeTerm }[];
          };
        }
      | undefined
  )?.nodeAffinity;
  if (!node) return [];
  const required = node.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const preferred = node.preferredDuringSchedulingIgnoredDuringExecution;
  return [
    ...(required ?? []).map((term, i) => ({ path: `required.nodeSelectorTerms[${i}]`, term })),
    ...(preferred ?? []).map((p, i) => ({ path: `preferred[${i}].preference`, term: p.preference ?? {} })),
  ];
}

/**
 * The first pod-template field of `spec` that `allowed` does not let through, or undefined when every one passes.
 * Checks in order: annotations, labels, nodeSelector, node affinity, tolerations, priorityClassName.
 */
export function disallowedPodField(
  spec: SftpServerSpec,
  allowed: SftpStorageProfilePodTemplate | undefined,
): PodFieldRefusal | undefined {
  const a = allowed ?? {};
  const refuse = (field: string, what: string): PodFieldRefusal => ({
    field,
    message: `${field} is not allowed by the storage profile (podTemplate.${what})`,
  });
  for (const key of Object.keys(spec.podAnnotations ?? {})) {
    if (!keyAllowed(a.allowedAnnotations ?? [], key)) return refuse(`podAnnotations[${key}]`, 'allowedAnnotations');
  }
  for (const key of Object.keys(spec.podLabels ?? {})) {
    if (!keyAllowed(a.allowedLabels ?? [], key)) return refuse(`podLabels[${key}]`, 'allowedLabels');
  }
  const nodeKeys = a.allowedNodeSelectorKeys ?? [];
  for (const key of Object.keys(spec.nodeSelector ?? {})) {
    if (!nodeKeys.includes(key)) return refuse(`nodeSelector[${key}]`, 'allowedNodeSelectorKeys');
  }
  for (const { path, term } of nodeTerms(spec.affinity)) {
    if ((term.matchFields ?? []).length > 0) {
      return refuse(`affinity.nodeAffinity.${path}.matchFields`, 'allowedNodeSelectorKeys: keys only');
    }
    for (const e of term.matchExpressions ?? []) {
      const key = e.key ?? '';
      if (!nodeKeys.includes(key)) return refuse(`affinity.nodeAffinity.${path}[${key}]`, 'allowedNodeSelectorKeys');
    }
  }
  const tolerations = (spec.tolerations ?? []) as Toleration[];
  for (const [i, t] of tolerations.entries()) {
    if (!(a.allowedTolerations ?? []).some((x) => sameToleration(x, t))) {
      return refuse(`tolerations[${i}] (key ${t.key ?? '<any>'})`, 'allowedTolerations');
    }
  }
  const pc = spec.priorityClassName ?? '';
  if (pc !== '' && !(a.allowedPriorityClassNames ?? []).includes(pc)) {
    return refuse(`priorityClassName ${pc}`, 'allowedPriorityClassNames');
  }
  return undefined;
}
