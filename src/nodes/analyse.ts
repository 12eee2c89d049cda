// The preflight's judgement, pure: the cluster's objects (and AWS node groups) in, a ClusterPreflight out.
// "Would an arm64 pod get a node?" is asked for the pod archshift writes: nodeSelector kubernetes.io/arch=arm64
// plus a toleration of the effective arm64 taint, and nothing else.
import type {
  AutoscalingGroup,
  ClusterPreflight,
  DaemonSetCoverage,
  EffectiveTaint,
  ImageArch,
  KarpenterPool,
  ManagedNodeGroup,
  NodeArchGroup,
  NodesIssue,
  NodesVerdict,
  SidecarCoverage,
} from './model.ts';
import { blockingTaints, selectsNode, sameTaint, type PodPlacement, type Taint } from '../scheduling/taints.ts';
import { ARCH_LABEL, arm64Toleration, DEFAULT_ARM64_TAINT } from '../scheduling/arm64.ts';

export interface NodeLike {
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { taints?: Taint[]; unschedulable?: boolean };
  status?: { nodeInfo?: { architecture?: string } };
}

interface ContainerLike {
  name: string;
  image?: string;
}

export interface PodLike {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string>; ownerReferences?: { kind: string; uid: string }[] };
  spec?: { nodeName?: string; containers?: ContainerLike[]; initContainers?: ContainerLike[] };
}

export interface DaemonSetLike {
  metadata?: { name?: string; namespace?: string; uid?: string };
  spec?: {
    selector?: { matchLabels?: Record<string, string> };
    template?: { spec?: PodPlacement & { containers?: ContainerLike[]; initContainers?: ContainerLike[] } };
  };
  status?: { desiredNumberScheduled?: number; currentNumberScheduled?: number; numberMisscheduled?: number };
}

export interface KarpenterPoolLike {
  apiVersion?: string;
  metadata?: { name?: string };
  spec?: {
    template?: { spec?: { requirements?: { key: string; operator: string; values?: string[] }[]; taints?: Taint[] } };
    limits?: Record<string, string | number>;
  };
}

export interface PreflightInput {
  cluster: string;
  /** kubernetes.clusters.<name>.arm64Taint, when set. */
  configuredTaint?: Taint;
  nodes?: NodeLike[];
  nodePools?: KarpenterPoolLike[];
  autoscalingGroups?: Omit<AutoscalingGroup, 'canScaleFromZero' | 'blockingTaints'>[];
  managedNodeGroups?: Omit<ManagedNodeGroup, 'blockingTaints'>[];
  daemonSets?: DaemonSetLike[];
  /** Pods that carry injected sidecars (the use case lists only those). */
  pods?: PodLike[];
  /**
   * The pods of the DaemonSets whose status does not show where they run (see daemonSetNeedsPods), by
   * DaemonSet uid; every other DaemonSet's arm64 coverage follows from its status and the nodes.
   */
  daemonSetPods?: Map<string, PodLike[]>;
  /** Architecture answers for every image of DaemonSets and sidecars. */
  images: Map<string, ImageArch>;
  /** What could not be read (nodes undefined means they could not). */
  unreadable: Extract<NodesIssue, { kind: 'unreadable' }>[];
}

export const archOf = (n: NodeLike): string => n.metadata?.labels?.[ARCH_LABEL] ?? n.status?.nodeInfo?.architecture ?? 'unknown';

/** A taint that marks a node's architecture: keyed by the arch label, or valued `arm64`. */
const isArchTaint = (t: Taint): boolean => t.key === ARCH_LABEL || t.value === 'arm64';

/** The arm64 taint as the arm64 nodes carry it (the most common one), else the configured one, else the default. */
export function effectiveTaint(nodes: NodeLike[], configured?: Taint): EffectiveTaint {
  const counts = countTaints(
    nodes.filter((n) => archOf(n) === 'arm64'),
    isArchTaint,
  );
  const observed = counts.sort((a, b) => b.nodes - a.nodes)[0]?.taint;
  if (observed) return { taint: observed, source: 'nodes', ...(configured && !sameTaint(configured, observed) ? { configured } : {}) };
  return configured ? { taint: configured, source: 'config' } : { taint: DEFAULT_ARM64_TAINT, source: 'default' };
}

function countTaints(nodes: NodeLike[], keep: (t: Taint) => boolean = () => true): { taint: Taint; nodes: number }[] {
  const out: { taint: Taint; nodes: number }[] = [];
  for (const n of nodes) {
    for (const t of n.spec?.taints ?? []) {
      if (!keep(t)) continue;
      const seen = out.find((o) => sameTaint(o.taint, t));
      if (seen) seen.nodes++;
      else out.push({ taint: { key: t.key, ...(t.value ? { value: t.value } : {}), effect: t.effect }, nodes: 1 });
    }
  }
  return out;
}

function groupByArch(nodes: NodeLike[]): NodeArchGroup[] {
  const groups = new Map<string, NodeLike[]>();
  for (const n of nodes) groups.set(archOf(n), [...(groups.get(archOf(n)) ?? []), n]);
  return [...groups].map(([arch, list]) => {
    const instanceTypes: Record<string, number> = {};
    for (const n of list) {
      const t = n.metadata?.labels?.['node.kubernetes.io/instance-type'] ?? 'unknown';
      instanceTypes[t] = (instanceTypes[t] ?? 0) + 1;
    }
    return { arch, count: list.length, instanceTypes, taints: countTaints(list) };
  });
}

function poolArchitectures(p: KarpenterPoolLike): string[] | 'any' {
  const reqs = (p.spec?.template?.spec?.requirements ?? []).filter((r) => r.key === ARCH_LABEL);
  if (!reqs.length) return 'any';
  let allowed: string[] | 'any' = 'any';
  for (const r of reqs) {
    const values = r.values ?? [];
    if (r.operator === 'In') allowed = allowed === 'any' ? values : allowed.filter((v) => values.includes(v));
    else if (r.operator === 'NotIn') allowed = (allowed === 'any' ? ['amd64', 'arm64'] : allowed).filter((v) => !values.includes(v));
    else if (r.operator === 'DoesNotExist') allowed = [];
  }
  return allowed;
}

/** Tolerations the DaemonSet controller adds to every DaemonSet pod (node conditions and cordons). */
const DAEMONSET_TOLERATIONS = [
  'not-ready',
  'unreachable',
  'disk-pressure',
  'memory-pressure',
  'pid-pressure',
  'unschedulable',
  'network-unavailable',
].map((c) => ({ key: `node.kubernetes.io/${c}`, operator: 'Exists' }));

/** Whether the DaemonSet controller places one of its pods on this node: selector and affinity, and every taint tolerated. */
function admits(spec: PodPlacement, n: NodeLike): boolean {
  return (
    selectsNode(spec, n.metadata?.labels ?? {}) &&
    blockingTaints([...(spec.tolerations ?? []), ...DAEMONSET_TOLERATIONS], n.spec?.taints).length === 0
  );
}

/**
 * True when a DaemonSet's status does not prove where its pods are, so its own pods must be read: it is
 * short of pods, has pods where it should not, or wants a number of nodes other than the nodes it admits.
 * Otherwise it runs one pod on every node it admits, and its arm64 coverage follows from the nodes.
 */
export function daemonSetNeedsPods(ds: DaemonSetLike, nodes: NodeLike[]): boolean {
  const st = ds.status ?? {};
  const spec = ds.spec?.template?.spec ?? {};
  if ((st.numberMisscheduled ?? 0) > 0 || st.currentNumberScheduled !== st.desiredNumberScheduled) return true;
  return nodes.filter((n) => admits(spec, n)).length !== st.desiredNumberScheduled;
}

/**
 * Whether a DaemonSet's pods can go to arm64 nodes: it tolerates the arm64 taint, and its selector or
 * affinity admits the arm64 nodes (the arm64 label when there are none yet); `arm64Admitting`: the arm64
 * nodes that take one of its pods. Shared with the digest's blocker list.
 */
export function daemonSetPlacement(
  spec: PodPlacement,
  nodes: NodeLike[],
  taint: Taint,
): { toleratesArm64Taint: boolean; selectsArm64: boolean; arm64Nodes: number; arm64Admitting: number } {
  const arm64 = nodes.filter((n) => archOf(n) === 'arm64');
  return {
    toleratesArm64Taint: blockingTaints(spec.tolerations, [taint]).length === 0,
    selectsArm64: arm64.length
      ? arm64.some((n) => selectsNode(spec, n.metadata?.labels ?? {}))
      : selectsNode(spec, { [ARCH_LABEL]: 'arm64' }),
    arm64Nodes: arm64.length,
    arm64Admitting: arm64.filter((n) => admits(spec, n)).length,
  };
}

function coverage(
  ds: DaemonSetLike,
  nodes: NodeLike[],
  ownPods: Map<string, PodLike[]> | undefined,
  images: Map<string, ImageArch>,
  taint: Taint,
): DaemonSetCoverage {
  const spec = ds.spec?.template?.spec ?? {};
  const refs = [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c) => c.image).filter((i): i is string => !!i);
  const dsImages = [...new Set(refs)].map((image) => images.get(image) ?? { image, status: 'unknown' as const, reason: 'not checked' });
  const arm64 = nodes.filter((n) => archOf(n) === 'arm64');
  const uid = ds.metadata?.uid ?? '';
  const own = ownPods?.get(uid)?.filter((p) => p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet' && o.uid === uid));
  let arm64Scheduled: number;
  if (own) {
    const byName = new Map(nodes.map((n) => [n.metadata?.name, n]));
    const onArm64 = new Set(
      own.filter((p) => byName.get(p.spec?.nodeName) && archOf(byName.get(p.spec?.nodeName)!) === 'arm64').map((p) => p.spec?.nodeName),
    );
    arm64Scheduled = onArm64.size;
  } else arm64Scheduled = arm64.filter((n) => admits(spec, n)).length;
  const { toleratesArm64Taint: tolerates, selectsArm64 } = daemonSetPlacement(spec, nodes, taint);
  const problems: DaemonSetCoverage['problems'] = [];
  if (dsImages.some((i) => i.status === 'amd64-only')) problems.push('image-without-arm64');
  else if (dsImages.some((i) => i.status === 'unknown')) problems.push('image-unknown');
  if (!tolerates) problems.push('does-not-tolerate-taint');
  if (!selectsArm64) problems.push('excluded-by-selector');
  return {
    namespace: ds.metadata?.namespace ?? '',
    name: ds.metadata?.name ?? '',
    images: dsImages,
    toleratesArm64Taint: tolerates,
    selectsArm64,
    arm64Nodes: arm64.length,
    arm64Scheduled,
    desired: ds.status?.desiredNumberScheduled ?? 0,
    scheduled: ds.status?.currentNumberScheduled ?? 0,
    problems,
  };
}

/** Containers a mesh or agent injected, read from the injector's own annotation (Istio) or its fixed names. */
function injectedContainers(p: PodLike): string[] {
  const names: string[] = [];
  const status = p.metadata?.annotations?.['sidecar.istio.io/status'];
  if (status) {
    try {
      const s = JSON.parse(status) as { containers?: string[]; initContainers?: string[] };
      names.push(...(s.containers ?? []), ...(s.initContainers ?? []));
    } catch {
      names.push('istio-proxy');
    }
  }
  if (p.metadata?.annotations?.['linkerd.io/proxy-version']) names.push('linkerd-proxy', 'linkerd-init');
  return names;
}

function sidecars(pods: PodLike[], nodes: NodeLike[], images: Map<string, ImageArch>): SidecarCoverage[] {
  const byName = new Map(nodes.map((n) => [n.metadata?.name, n]));
  const out = new Map<string, SidecarCoverage>();
  for (const p of pods) {
    const injected = new Set(injectedContainers(p));
    if (!injected.size) continue;
    const node = byName.get(p.spec?.nodeName);
    const arch = node ? archOf(node) : 'unscheduled';
    for (const c of [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])]) {
      if (!injected.has(c.name) || !c.image) continue;
      const key = `${c.name}|${c.image}`;
      const answer = images.get(c.image) ?? { image: c.image, status: 'unknown' as const, reason: 'not checked' };
      const s = out.get(key) ?? {
        container: c.name,
        image: c.image,
        status: answer.status,
        ...(answer.reason ? { reason: answer.reason } : {}),
        pods: 0,
        architectures: [],
      };
      s.pods++;
      if (!s.architectures.includes(arch)) s.architectures.push(arch);
      out.set(key, s);
    }
  }
  return [...out.values()];
}

/** Every image the DaemonSets and injected sidecars use: the use case asks the registry about these. */
export function imagesToCheck(daemonSets: DaemonSetLike[], pods: PodLike[]): string[] {
  const refs = new Set<string>();
  for (const ds of daemonSets) {
    const spec = ds.spec?.template?.spec;
    for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) if (c.image) refs.add(c.image);
  }
  for (const p of pods) {
    const injected = new Set(injectedContainers(p));
    for (const c of [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])])
      if (injected.has(c.name) && c.image) refs.add(c.image);
  }
  return [...refs];
}

export const ARCH_LABEL_TAG = `k8s.io/cluster-autoscaler/node-template/label/${ARCH_LABEL}`;

export function analysePreflight(input: PreflightInput): ClusterPreflight {
  const nodes = input.nodes ?? [];
  const taint = effectiveTaint(nodes, input.configuredTaint);
  const tolerations = [arm64Toleration(taint.taint)];
  const issues: NodesIssue[] = [...input.unreadable];

  const arm64Nodes = nodes.filter((n) => archOf(n) === 'arm64');
  const untainted = arm64Nodes.filter((n) => !(n.spec?.taints ?? []).some(isArchTaint));
  if (untainted.length) issues.push({ kind: 'arm64-node-untainted', nodes: untainted.map((n) => n.metadata?.name ?? '') });
  const amd64Tainted = nodes.filter((n) => archOf(n) === 'amd64' && (n.spec?.taints ?? []).some((t) => sameTaint(t, taint.taint)));
  if (amd64Tainted.length) issues.push({ kind: 'amd64-node-tainted', nodes: amd64Tainted.map((n) => n.metadata?.name ?? '') });
  const archTaints = countTaints(arm64Nodes, isArchTaint);
  if (archTaints.length > 1) issues.push({ kind: 'mixed-taints', taints: archTaints });
  if (taint.configured) issues.push({ kind: 'config-taint-mismatch', configured: taint.configured, observed: taint.taint });

  const usable = arm64Nodes.filter((n) => !n.spec?.unschedulable && blockingTaints(tolerations, n.spec?.taints).length === 0);
  if (arm64Nodes.length && !usable.length) {
    const blocking = countTaints(arm64Nodes, (t) => blockingTaints(tolerations, [t]).length > 0).map((c) => c.taint);
    issues.push({ kind: 'arm64-nodes-blocked', nodes: arm64Nodes.length, taints: blocking });
  }

  const nodePools: KarpenterPool[] = (input.nodePools ?? []).map((p) => {
    const architectures = poolArchitectures(p);
    const taints = p.spec?.template?.spec?.taints ?? [];
    return {
      name: p.metadata?.name ?? '',
      apiVersion: p.apiVersion ?? '',
      architectures,
      allowsArm64: architectures === 'any' || architectures.includes('arm64'),
      taints,
      ...(p.spec?.limits ? { limits: p.spec.limits } : {}),
      blockingTaints: blockingTaints(tolerations, taints),
    };
  });

  const autoscalingGroups = input.autoscalingGroups?.map((g): AutoscalingGroup => {
    // A managed node group's labels come from EKS itself; a self-managed group needs the tag to be templated at 0.
    const canScaleFromZero = g.arch === 'arm64' && (g.archLabelTag === 'arm64' || !!g.managedNodeGroup);
    return { ...g, canScaleFromZero, blockingTaints: blockingTaints(tolerations, g.taintTags) };
  });
  for (const g of autoscalingGroups ?? []) {
    if (g.arch === 'arm64' && g.desired === 0 && g.max > 0 && !g.canScaleFromZero)
      issues.push({ kind: 'cannot-scale-from-zero', group: g.name, missingTag: ARCH_LABEL_TAG });
  }
  const managedNodeGroups = input.managedNodeGroups?.map((g) => ({ ...g, blockingTaints: blockingTaints(tolerations, g.taints) }));

  const daemonSets = (input.daemonSets ?? []).map((ds) => coverage(ds, nodes, input.daemonSetPods, input.images, taint.taint));
  const verdict = decide({ input, issues, usable: usable.length, nodePools, autoscalingGroups, managedNodeGroups });
  return {
    cluster: input.cluster,
    verdict,
    taint,
    nodes: groupByArch(nodes),
    schedulableArm64Nodes: usable.length,
    nodePools,
    ...(autoscalingGroups ? { autoscalingGroups } : {}),
    ...(managedNodeGroups ? { managedNodeGroups } : {}),
    daemonSets: daemonSets.sort(
      (a, b) => problemRank(a) - problemRank(b) || `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
    ),
    sidecars: sidecars(input.pods ?? [], nodes, input.images),
    issues,
  };
}

const PROBLEM_ORDER: DaemonSetCoverage['problems'] = [
  'image-without-arm64',
  'does-not-tolerate-taint',
  'excluded-by-selector',
  'image-unknown',
];
/** Worst problem first: an image without arm64 can never run there; a missing toleration is one line. */
const problemRank = (d: DaemonSetCoverage): number => Math.min(...d.problems.map((p) => PROBLEM_ORDER.indexOf(p)), PROBLEM_ORDER.length);

interface Decision {
  input: PreflightInput;
  issues: NodesIssue[];
  usable: number;
  nodePools: KarpenterPool[];
  autoscalingGroups?: AutoscalingGroup[];
  managedNodeGroups?: ManagedNodeGroup[];
}

function decide(d: Decision): NodesVerdict {
  if (!d.input.nodes) return 'unknown';
  if (d.issues.some((i) => i.kind === 'arm64-node-untainted' || i.kind === 'amd64-node-tainted' || i.kind === 'mixed-taints'))
    return 'taint-mismatch';
  const scales = (g: { blockingTaints: unknown[]; max: number }) => g.blockingTaints.length === 0 && g.max > 0;
  const capacity =
    d.usable > 0 ||
    d.nodePools.some((p) => p.allowsArm64 && p.blockingTaints.length === 0) ||
    (d.autoscalingGroups ?? []).some((g) => g.arch === 'arm64' && scales(g) && (g.desired > 0 || g.canScaleFromZero)) ||
    (d.managedNodeGroups ?? []).some((g) => g.arch === 'arm64' && scales(g));
  if (capacity) return 'arm64-ready';
  if ((d.autoscalingGroups ?? []).some((g) => g.arch === 'arm64' && scales(g) && !g.canScaleFromZero)) return 'cannot-scale-from-zero';
  // Without proof of capacity, a source we could not read might have held it.
  const capacitySources = new Set(['nodepools', 'autoscaling', 'ec2', 'eks']);
  if (d.issues.some((i) => i.kind === 'unreadable' && capacitySources.has(i.source))) return 'unknown';
  return 'no-capacity';
}
