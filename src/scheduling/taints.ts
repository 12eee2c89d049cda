// Kubernetes scheduling rules, as the scheduler applies them: taints against
// tolerations (NoSchedule/NoExecute block, PreferNoSchedule does not) and node selection by labels
// (nodeSelector plus required node affinity). Pure: objects in, answers out.

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

interface MatchExpression {
  key: string;
  operator: string;
  values?: string[];
}

export interface PodPlacement {
  nodeSelector?: Record<string, string>;
  affinity?: {
    nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchExpressions?: MatchExpression[] }[] } };
  };
  tolerations?: Toleration[];
}

/** A toleration matches a taint as in the scheduler: empty key + Exists matches every key, empty effect every effect. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  const op = t.operator ?? 'Equal';
  if (t.effect && t.effect !== taint.effect) return false;
  if (!t.key) return op === 'Exists';
  if (t.key !== taint.key) return false;
  return op === 'Exists' || (t.value ?? '') === (taint.value ?? '');
}

/** The taints that keep these pods off the node (PreferNoSchedule only discourages). */
export function blockingTaints(tolerations: Toleration[] | undefined, taints: Taint[] | undefined): Taint[] {
  return (taints ?? []).filter(
    (taint) => taint.effect !== 'PreferNoSchedule' && !(tolerations ?? []).some((t) => toleratesTaint(t, taint)),
  );
}

function matchesExpression(labels: Record<string, string>, e: MatchExpression): boolean {
  const v = labels[e.key];
  const values = e.values ?? [];
  switch (e.operator) {
    case 'In':
      return v !== undefined && values.includes(v);
    case 'NotIn':
      return v === undefined || !values.includes(v);
    case 'Exists':
      return v !== undefined;
    case 'DoesNotExist':
      return v === undefined;
    case 'Gt':
      return v !== undefined && Number(v) > Number(values[0]);
    case 'Lt':
      return v !== undefined && Number(v) < Number(values[0]);
    default:
      return false;
  }
}

/** Whether a node with these labels satisfies the pod's nodeSelector and required node affinity. */
export function selectsNode(p: PodPlacement, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(p.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const terms = p.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms?.length) return true;
  return terms.some((term) => (term.matchExpressions ?? []).every((e) => matchesExpression(labels, e)));
}

export const sameTaint = (a: Taint, b: Taint): boolean => a.key === b.key && (a.value ?? '') === (b.value ?? '') && a.effect === b.effect;

/** kubectl's notation, `key=value:Effect` (or `key:Effect`). */
export const formatTaint = (t: Taint): string => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;

const EFFECTS = new Set(['NoSchedule', 'NoExecute', 'PreferNoSchedule']);

export function parseTaint(text: string | undefined): Taint | undefined {
  const m = /^([^=:\s]+)(?:=([^:\s]*))?:(\w+)$/.exec(text ?? '');
  if (!m || !EFFECTS.has(m[3]!)) return undefined;
  return { key: m[1]!, ...(m[2] ? { value: m[2] } : {}), effect: m[3]! };
}
