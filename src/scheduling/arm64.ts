// Where pods may run, by CPU architecture: the node label, the taint arm64 nodes carry and its
// toleration, and the one rule for "this pod spec can only be scheduled on arm64". Readiness, the PR
// editors, the digest and the canary preconditions all read scheduling through here.

import { blockingTaints, type Taint, type Toleration } from './taints.ts';

export type { Toleration } from './taints.ts';

/** The well-known node label (and its pre-1.14 name, still honoured by the scheduler). */
export const ARCH_LABEL = 'kubernetes.io/arch';
export const LEGACY_ARCH_LABEL = 'beta.kubernetes.io/arch';

/** The taint arm64 nodes carry unless the cluster's own is known (learned from its nodes, or configured). */
export const DEFAULT_ARM64_TAINT: Taint = { key: ARCH_LABEL, value: 'arm64', effect: 'NoExecute' };

/** The toleration archshift writes for an arm64 taint. */
export function arm64Toleration(t: Taint = DEFAULT_ARM64_TAINT): Toleration {
  return t.value
    ? { key: t.key, operator: 'Equal', value: t.value, effect: t.effect }
    : { key: t.key, operator: 'Exists', effect: t.effect };
}

// Structural subsets of the Kubernetes types, so both parsed YAML and @kubernetes/client-node objects fit.
export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}
export interface SchedulingSpec {
  nodeSelector?: Record<string, string>;
  affinity?: {
    nodeAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: Array<{ matchExpressions?: NodeSelectorRequirement[] }> };
    };
  };
  tolerations?: Toleration[];
}

/** The architectures a pod spec may be scheduled on: `any`, or the allowed set. */
export function allowedArchitectures(spec: SchedulingSpec): 'any' | Set<string> {
  let allowed: 'any' | Set<string> = 'any';
  const selected = spec.nodeSelector?.[ARCH_LABEL] ?? spec.nodeSelector?.[LEGACY_ARCH_LABEL];
  if (selected) allowed = new Set([selected]);
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms?.length) {
    // Terms are ORed, expressions within a term ANDed.
    let union: 'any' | Set<string> = new Set();
    for (const term of terms) {
      let termSet: 'any' | Set<string> = 'any';
      for (const e of term.matchExpressions ?? []) {
        if (e.key !== ARCH_LABEL && e.key !== LEGACY_ARCH_LABEL) continue;
        if (e.operator === 'In') termSet = intersect(termSet, new Set(e.values ?? []));
        if (e.operator === 'NotIn') termSet = subtract(termSet, new Set(e.values ?? []));
        if (e.operator === 'DoesNotExist') termSet = new Set();
      }
      union = union === 'any' || termSet === 'any' ? 'any' : new Set([...union, ...termSet]);
    }
    allowed = allowed === 'any' ? union : union === 'any' ? allowed : intersect(allowed, union);
  }
  return allowed;
}

const KNOWN_ARCHES = ['amd64', 'arm64', 'arm', 's390x', 'ppc64le'];
function intersect(a: 'any' | Set<string>, b: Set<string>): Set<string> {
  return a === 'any' ? b : new Set([...a].filter((x) => b.has(x)));
}
function subtract(a: 'any' | Set<string>, b: Set<string>): Set<string> {
  return new Set([...(a === 'any' ? KNOWN_ARCHES : a)].filter((x) => !b.has(x)));
}

/** Pinned to arm64: the selector and required affinity leave arm64 as the only architecture. */
export function pinnedToArm64(spec: SchedulingSpec | undefined): boolean {
  const allowed = spec ? allowedArchitectures(spec) : 'any';
  return allowed !== 'any' && allowed.size === 1 && allowed.has('arm64');
}

/** Whether the pods tolerate the arm64 taint (the cluster's own when known; default `kubernetes.io/arch=arm64:NoExecute`). */
export function toleratesArm64Taint(spec: SchedulingSpec, taint: Taint = DEFAULT_ARM64_TAINT): boolean {
  return blockingTaints(spec.tolerations, [taint]).length === 0;
}
