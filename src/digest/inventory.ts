// Where the fleet stands: nodes by architecture, and every workload resolved from its pods through
// ownerReferences (Pod → ReplicaSet → Deployment, Pod → Job → CronJob, ...), with the arch its pods run
// on, its requests, its images' arm64 support and its status. A cluster that cannot be read is
// reported as such, never as an empty one; anything we cannot tell is `unknown`, never `ready`.
import type { V1Container, V1ObjectMeta, V1OwnerReference, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import type { KubeCluster, Kubernetes } from '../adapters/kubernetes.ts';
import type { ImageInspector, ImageResult } from '../images/types.ts';
import { ARCH_LABEL, pinnedToArm64, type SchedulingSpec } from '../scheduling/arm64.ts';
import type { Taint } from '../scheduling/taints.ts';
import { daemonSetPlacement, effectiveTaint, type NodeLike } from '../nodes/analyse.ts';

const INSTANCE_TYPE_LABELS = ['node.kubernetes.io/instance-type', 'beta.kubernetes.io/instance-type'];
/** Pseudo-arch of pods that are not on a node yet, or whose node is gone or unlabelled. */
export const UNSCHEDULED = 'unscheduled';

export type WorkloadStatus = 'arm64' | 'mixed' | 'ready' | 'blocked' | 'unknown';

export interface NodeInfo {
  name: string;
  /** `kubernetes.io/arch`, or `unknown` when the label is missing. */
  arch: string;
  instanceType?: string;
  cpuMillis: number;
  memoryBytes: number;
}

export interface WorkloadImage {
  image: string;
  /** An injected or native sidecar: lacking arm64, it holds back every workload it is injected into. */
  sidecar: boolean;
  arm64: 'yes' | 'no' | 'unknown';
  /** Why `no` or `unknown`, in words a user can act on. */
  reason?: string;
}

export interface Workload {
  cluster: string;
  kind: string;
  namespace: string;
  name: string;
  team?: string;
  /** The catalog service this workload is, when known: the PR flow works on services. */
  service?: string;
  pods: number;
  /** Pods per node arch (`arm64`, `amd64`, ..., or `unscheduled`). */
  podsByArch: Record<string, number>;
  /** Sum of the pods' CPU requests, per node arch. */
  cpuMillisByArch: Record<string, number>;
  memoryBytes: number;
  /** Pods whose containers request no CPU: they are left out of the CPU share and shown as unknown. */
  podsWithoutRequests: number;
  /** CPU requests as a fraction of their node's allocatable CPU, per amd64 instance type (for cost). */
  amd64NodeShare: Record<string, number>;
  images: WorkloadImage[];
  status: WorkloadStatus;
  reason?: string;
  /** A DaemonSet or sidecar without arm64: arm64 node groups cannot run everything until it is fixed. */
  blocksNodeGroups: boolean;
  /** DaemonSets: whether their pods can go to the cluster's arm64 nodes (src/nodes/analyse.ts), and how many do. */
  arm64Placement?: DaemonSetArm64;
}

export interface DaemonSetArm64 {
  /** The cluster's arm64 taint (learned from its arm64 nodes, else configured, else the default). */
  taint: Taint;
  toleratesArm64Taint: boolean;
  selectsArm64: boolean;
  arm64Nodes: number;
  /** arm64 nodes running one of its pods. */
  arm64WithPod: number;
}

export type ClusterInventory =
  { cluster: string; ok: true; nodes: NodeInfo[]; workloads: Workload[] } | { cluster: string; ok: false; error: string };

export interface Inventory {
  takenAt: string;
  clusters: ClusterInventory[];
}

export interface OwnerInfo {
  team?: string;
  service?: string;
}

/** Why an image cannot run on arm64 whatever its manifest says (e.g. "fluent-bit < 1.7.8 garbles UTF-8"). */
export type BlockReason = (image: string) => string | undefined;

export interface InventoryOptions {
  kubernetes: Kubernetes;
  /** Without a registry client every image is unresolved, so its workload is "unknown". */
  images?: ImageInspector;
  /** Catalog lookup: the service and team of a workload. */
  owner?: (w: { cluster: string; kind: string; namespace: string; name: string; labels: Record<string, string> }) => OwnerInfo | undefined;
  /** Labels/annotations naming the team, first found wins (after the catalog). */
  teamLabels?: string[];
  /** kubernetes.clusters.<name>.arm64Taint: used when the cluster has no arm64 node to learn it from. */
  configuredTaint?(cluster: string): Taint | undefined;
  /** Container names that are sidecars (native sidecars are detected from restartPolicy: Always). */
  sidecarContainers?: string[];
  blockReason?: BlockReason;
  /** Only these contexts; default: every configured cluster. */
  clusters?: string[];
  now?: () => Date;
}

interface Template {
  kind: string;
  meta: V1ObjectMeta;
  spec?: V1PodSpec;
}

/** A workload while its pods are being counted. */
interface Acc extends Pick<
  Workload,
  'kind' | 'namespace' | 'name' | 'pods' | 'podsByArch' | 'cpuMillisByArch' | 'memoryBytes' | 'podsWithoutRequests' | 'amd64NodeShare'
> {
  meta?: V1ObjectMeta;
  spec?: V1PodSpec;
  unresolvedOwner?: string;
  /** image → sidecar? */
  images: Map<string, boolean>;
}

export async function takeInventory(o: InventoryOptions): Promise<Inventory> {
  const names = o.clusters ?? [...o.kubernetes.clusters.keys()];
  const now = (o.now ?? (() => new Date()))();
  const raw = await Promise.all(
    names.map(async (name) => {
      try {
        return { name, ok: true as const, data: await readCluster(o.kubernetes.cluster(name), o.configuredTaint?.(name)) };
      } catch (err) {
        return { name, ok: false as const, error: (err as Error).message };
      }
    }),
  );
  const partial = raw.map((r) =>
    r.ok ? { name: r.name, acc: accumulate(r.data, o.sidecarContainers ?? []), nodes: r.data.nodes, placements: r.data.placements } : r,
  );

  // Each distinct image is looked up once for all clusters; the registry adapter caches and dedupes.
  const distinct = new Set<string>();
  for (const p of partial) if ('acc' in p) for (const a of p.acc) for (const image of a.images.keys()) distinct.add(image);
  const verdicts = new Map<string, ImageResult>();
  await Promise.all(
    [...distinct].map(async (image) => {
      try {
        if (!o.images) throw new Error('no registry client is configured');
        verdicts.set(image, await o.images.inspect(image));
      } catch (err) {
        verdicts.set(image, { reference: image, normalized: image, status: 'error', platforms: [], reason: (err as Error).message });
      }
    }),
  );

  return {
    takenAt: now.toISOString(),
    clusters: partial.map((p): ClusterInventory =>
      'acc' in p
        ? {
            cluster: p.name,
            ok: true,
            nodes: p.nodes,
            workloads: p.acc.map((a) => finish(p.name, a, verdicts, o, p.placements)).sort(byKey),
          }
        : { cluster: p.name, ok: false, error: p.error },
    ),
  };
}

interface ClusterData {
  nodes: NodeInfo[];
  pods: V1Pod[];
  owners: Map<string, { kind: string; meta: V1ObjectMeta }>;
  templates: Template[];
  /** DaemonSets by `namespace/name`: whether their pods can go to arm64 nodes (arm64WithPod counted later). */
  placements: Map<string, Omit<DaemonSetArm64, 'arm64WithPod'>>;
}

/** Every list at once (each paginated by the adapter); one failure fails the cluster, loudly. */
async function readCluster(c: KubeCluster, configuredTaint?: Taint): Promise<ClusterData> {
  const [nodes, pods, replicaSets, deployments, statefulSets, daemonSets, jobs, cronJobs] = await Promise.all([
    c.listNodes(),
    c.listPods(),
    c.listReplicaSets(),
    c.listDeployments(),
    c.listStatefulSets(),
    c.listDaemonSets(),
    c.listJobs(),
    c.listCronJobs(),
  ]);
  const owners = new Map<string, { kind: string; meta: V1ObjectMeta }>();
  for (const rs of replicaSets) if (rs.metadata?.uid) owners.set(rs.metadata.uid, { kind: 'ReplicaSet', meta: rs.metadata });
  for (const j of jobs) if (j.metadata?.uid) owners.set(j.metadata.uid, { kind: 'Job', meta: j.metadata });
  const templates: Template[] = [
    ...deployments.map((d) => ({ kind: 'Deployment', meta: d.metadata!, spec: d.spec?.template?.spec })),
    ...statefulSets.map((s) => ({ kind: 'StatefulSet', meta: s.metadata!, spec: s.spec?.template?.spec })),
    ...daemonSets.map((d) => ({ kind: 'DaemonSet', meta: d.metadata!, spec: d.spec?.template?.spec })),
    ...cronJobs.map((cj) => ({ kind: 'CronJob', meta: cj.metadata!, spec: cj.spec?.jobTemplate?.spec?.template?.spec })),
  ];
  const taint = effectiveTaint(nodes as NodeLike[], configuredTaint).taint;
  const placements = new Map(
    daemonSets.map((d) => {
      const { toleratesArm64Taint, selectsArm64, arm64Nodes } = daemonSetPlacement(
        d.spec?.template?.spec ?? {},
        nodes as NodeLike[],
        taint,
      );
      return [`${d.metadata?.namespace}/${d.metadata?.name}`, { taint, toleratesArm64Taint, selectsArm64, arm64Nodes }];
    }),
  );
  return {
    placements,
    nodes: nodes.map((n) => ({
      name: n.metadata?.name ?? '',
      arch: n.metadata?.labels?.[ARCH_LABEL] ?? n.status?.nodeInfo?.architecture ?? 'unknown',
      instanceType: INSTANCE_TYPE_LABELS.map((l) => n.metadata?.labels?.[l]).find(Boolean),
      cpuMillis: Math.round(quantity(n.status?.allocatable?.cpu ?? n.status?.capacity?.cpu) * 1000),
      memoryBytes: quantity(n.status?.allocatable?.memory ?? n.status?.capacity?.memory),
    })),
    pods,
    owners,
    templates,
  };
}

function controllerOf(meta: V1ObjectMeta | undefined): V1OwnerReference | undefined {
  const refs = meta?.ownerReferences ?? [];
  return refs.find((r) => r.controller) ?? refs[0];
}

/** Groups pods under their top-level workload; also keeps workloads that have no pod right now. */
function accumulate(data: ClusterData, sidecarNames: string[]): Acc[] {
  const nodes = new Map(data.nodes.map((n) => [n.name, n]));
  const byKey = new Map<string, Acc>();
  const get = (kind: string, namespace: string, name: string): Acc => {
    const key = `${kind}/${namespace}/${name}`;
    let a = byKey.get(key);
    if (!a) {
      a = {
        kind,
        namespace,
        name,
        pods: 0,
        podsByArch: {},
        cpuMillisByArch: {},
        memoryBytes: 0,
        podsWithoutRequests: 0,
        amd64NodeShare: {},
        images: new Map(),
      };
      byKey.set(key, a);
    }
    return a;
  };
  for (const t of data.templates) {
    const a = get(t.kind, t.meta.namespace ?? '', t.meta.name ?? '');
    a.meta = t.meta;
    a.spec = t.spec;
  }
  for (const pod of data.pods) {
    const meta = pod.metadata ?? {};
    const namespace = meta.namespace ?? '';
    // Finished Job pods hold no capacity and may be long gone from the node.
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    const ref = controllerOf(meta);
    let a: Acc;
    if (!ref) {
      a = get('Pod', namespace, meta.name ?? '');
      a.meta = meta;
    } else if (ref.kind === 'ReplicaSet' || ref.kind === 'Job') {
      const parent = data.owners.get(ref.uid);
      if (!parent) {
        a = get(ref.kind, namespace, ref.name);
        a.unresolvedOwner = `its ${ref.kind} ${namespace}/${ref.name} was not found`;
      } else {
        const top = controllerOf(parent.meta);
        const known = top && ((ref.kind === 'ReplicaSet' && top.kind === 'Deployment') || (ref.kind === 'Job' && top.kind === 'CronJob'));
        if (top && !known) {
          a = get(top.kind, namespace, top.name);
          a.unresolvedOwner = `owned by ${top.kind} ${top.name}, a kind archshift does not read`;
        } else {
          a = top ? get(top.kind, namespace, top.name) : get(ref.kind, namespace, ref.name);
          a.meta ??= parent.meta;
        }
      }
    } else if (ref.kind === 'StatefulSet' || ref.kind === 'DaemonSet') {
      a = get(ref.kind, namespace, ref.name);
    } else {
      a = get(ref.kind, namespace, ref.name);
      a.unresolvedOwner = `owned by ${ref.kind} ${ref.name}, a kind archshift does not read`;
    }
    a.spec ??= pod.spec;
    a.meta ??= meta;
    addPod(a, pod, nodes, sidecarNames);
  }
  return [...byKey.values()];
}

function addPod(a: Acc, pod: V1Pod, nodes: Map<string, NodeInfo>, sidecarNames: string[]): void {
  const node = pod.spec?.nodeName ? nodes.get(pod.spec.nodeName) : undefined;
  const arch = node ? node.arch : UNSCHEDULED;
  a.pods++;
  a.podsByArch[arch] = (a.podsByArch[arch] ?? 0) + 1;
  const { cpuMillis, memoryBytes } = podRequests(pod.spec);
  if (cpuMillis === 0) a.podsWithoutRequests++;
  else {
    a.cpuMillisByArch[arch] = (a.cpuMillisByArch[arch] ?? 0) + cpuMillis;
    if (node && arch === 'amd64' && node.instanceType && node.cpuMillis > 0) {
      a.amd64NodeShare[node.instanceType] = (a.amd64NodeShare[node.instanceType] ?? 0) + cpuMillis / node.cpuMillis;
    }
  }
  a.memoryBytes += memoryBytes;
  for (const [image, sidecar] of imagesOf(pod.spec, sidecarNames)) a.images.set(image, (a.images.get(image) ?? false) || sidecar);
}

/** Kubernetes' effective request: the sum of app containers and native sidecars, or the largest init container if more. */
function podRequests(spec: V1PodSpec | undefined): { cpuMillis: number; memoryBytes: number } {
  let cpu = 0;
  let mem = 0;
  let initCpu = 0;
  let initMem = 0;
  const req = (c: V1Container) => ({ cpu: quantity(c.resources?.requests?.cpu) * 1000, mem: quantity(c.resources?.requests?.memory) });
  for (const c of spec?.containers ?? []) {
    const r = req(c);
    cpu += r.cpu;
    mem += r.mem;
  }
  for (const c of spec?.initContainers ?? []) {
    const r = req(c);
    if (c.restartPolicy === 'Always') {
      cpu += r.cpu;
      mem += r.mem;
    } else {
      initCpu = Math.max(initCpu, r.cpu);
      initMem = Math.max(initMem, r.mem);
    }
  }
  return { cpuMillis: Math.round(Math.max(cpu, initCpu)), memoryBytes: Math.max(mem, initMem) };
}

function imagesOf(spec: V1PodSpec | undefined, sidecarNames: string[]): Map<string, boolean> {
  const out = new Map<string, boolean>();
  const app = spec?.containers ?? [];
  for (const c of app) if (c.image) out.set(c.image, (out.get(c.image) ?? false) || (app.length > 1 && sidecarNames.includes(c.name)));
  for (const c of spec?.initContainers ?? []) {
    if (c.image) out.set(c.image, (out.get(c.image) ?? false) || c.restartPolicy === 'Always' || sidecarNames.includes(c.name));
  }
  return out;
}

function finish(
  cluster: string,
  a: Acc,
  verdicts: Map<string, ImageResult>,
  o: InventoryOptions,
  placements: ClusterData['placements'],
): Workload {
  if (a.pods === 0 && a.spec) for (const [image, sidecar] of imagesOf(a.spec, o.sidecarContainers ?? [])) a.images.set(image, sidecar);
  const images: WorkloadImage[] = [...a.images]
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([image, sidecar]) => imageVerdict(image, sidecar, verdicts.get(image), o.blockReason));
  const labels = { ...(a.meta?.annotations ?? {}), ...(a.meta?.labels ?? {}) };
  const owner = o.owner?.({ cluster, kind: a.kind, namespace: a.namespace, name: a.name, labels });
  const team = owner?.team ?? (o.teamLabels ?? []).map((l) => labels[l]).find(Boolean);
  const { status, reason } = statusOf(a, images);
  const placement = a.kind === 'DaemonSet' ? placements.get(`${a.namespace}/${a.name}`) : undefined;
  const arm64Placement = placement ? { ...placement, arm64WithPod: a.podsByArch.arm64 ?? 0 } : undefined;
  // A multi-arch DaemonSet that selects arm64 nodes but does not tolerate their taint misses them (all of the
  // tainted ones now; every one once there are arm64 nodes).
  const p = arm64Placement;
  const untolerated =
    !!p &&
    p.selectsArm64 &&
    !p.toleratesArm64Taint &&
    (p.arm64Nodes === 0 || p.arm64WithPod < p.arm64Nodes) &&
    images.length > 0 &&
    images.every((i) => i.arm64 === 'yes');
  return {
    cluster,
    kind: a.kind,
    namespace: a.namespace,
    name: a.name,
    ...(team ? { team } : {}),
    ...(owner?.service ? { service: owner.service } : {}),
    pods: a.pods,
    podsByArch: a.podsByArch,
    cpuMillisByArch: a.cpuMillisByArch,
    memoryBytes: a.memoryBytes,
    podsWithoutRequests: a.podsWithoutRequests,
    amd64NodeShare: a.amd64NodeShare,
    images,
    status,
    ...(reason ? { reason } : {}),
    blocksNodeGroups: untolerated || images.some((i) => i.arm64 === 'no' && (i.sidecar || a.kind === 'DaemonSet')),
    ...(arm64Placement ? { arm64Placement } : {}),
  };
}

function imageVerdict(image: string, sidecar: boolean, r: ImageResult | undefined, blockReason?: BlockReason): WorkloadImage {
  // A known-broken release (old fluent-bit garbles UTF-8 on arm64) blocks even with an arm64 image.
  const known = blockReason?.(image);
  if (known) return { image, sidecar, arm64: 'no', reason: known };
  if (!r) return { image, sidecar, arm64: 'unknown', reason: 'not looked up' };
  if (r.status === 'multi-arch-with-arm64') return { image, sidecar, arm64: 'yes' };
  if (r.status === 'amd64-only') {
    const archs = r.platforms.map((p) => p.architecture).join(', ') || 'amd64';
    return { image, sidecar, arm64: 'no', reason: `${image} is built for ${archs} only` };
  }
  return { image, sidecar, arm64: 'unknown', reason: r.reason ?? `${image}: ${r.status}` };
}

function statusOf(a: Acc, images: WorkloadImage[]): { status: WorkloadStatus; reason?: string } {
  const scheduled = Object.entries(a.podsByArch).filter(([arch]) => arch !== UNSCHEDULED);
  const onArm = scheduled.filter(([arch]) => arch === 'arm64').reduce((n, [, c]) => n + c, 0);
  const elsewhere = scheduled.reduce((n, [, c]) => n + c, 0) - onArm;
  if (a.unresolvedOwner) return { status: 'unknown', reason: `owner unknown: ${a.unresolvedOwner}` };
  if (onArm > 0 && elsewhere === 0) return { status: 'arm64' };
  if (onArm > 0) return { status: 'mixed', reason: `${onArm} of ${onArm + elsewhere} pods on arm64` };
  // Nothing runs now (scaled to zero, CronJob between runs): its template says where it would go.
  if (scheduled.length === 0 && pinnedToArm64(a.spec as SchedulingSpec | undefined)) return { status: 'arm64' };
  const blocking = images.find((i) => i.arm64 === 'no');
  if (blocking) return { status: 'blocked', reason: blocking.reason };
  const unknown = images.find((i) => i.arm64 === 'unknown');
  if (unknown) return { status: 'unknown', reason: `image not resolved: ${unknown.reason}` };
  if (images.length === 0) return { status: 'unknown', reason: 'no container image found' };
  const otherArch = scheduled.find(([arch]) => arch !== 'amd64');
  if (otherArch) return { status: 'unknown', reason: `pods on nodes with arch "${otherArch[0]}"` };
  return { status: 'ready' };
}

function byKey(x: Workload, y: Workload): number {
  const a = `${x.namespace}/${x.kind}/${x.name}`;
  const b = `${y.namespace}/${y.kind}/${y.name}`;
  return a < b ? -1 : a > b ? 1 : 0;
}

const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A Kubernetes resource quantity (`500m`, `2`, `1.5Gi`, `1e3`) as a number; 0 when absent or unreadable. */
export function quantity(q: string | number | undefined): number {
  if (q === undefined || q === null) return 0;
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return 0;
  const factor = binary[m[2]] ?? decimal[m[2]];
  return factor === undefined ? 0 : Number(m[1]) * factor;
}

/** Stable identity of a workload across days. */
export function workloadKey(w: Pick<Workload, 'kind' | 'namespace' | 'name'>): string {
  return `${w.namespace}/${w.kind}/${w.name}`;
}
