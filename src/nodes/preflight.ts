// The `nodes` use case: reads one or every cluster's nodes, Karpenter NodePools, DaemonSets and the pods
// that carry injected sidecars, the AWS node groups when AWS is configured, and the registry's answer for
// DaemonSet and sidecar images, then judges them (analyse.ts). It never lists every pod of the cluster: a
// DaemonSet's status tells where its pods are, and only a DaemonSet whose status does not (short of pods,
// misscheduled) has its own pods listed, by its selector. Reads run concurrently; a read that fails becomes
// an `unreadable` fact.
import type { KubeCluster, Kubernetes } from '../adapters/kubernetes.ts';
import { AwsError, type AwsNodeGroups, type RawAutoscalingGroup } from '../adapters/aws.ts';
import type { ImageInspector } from '../images/types.ts';
import { hasArm64 } from '../images/types.ts';
import {
  analysePreflight,
  ARCH_LABEL_TAG,
  daemonSetNeedsPods,
  imagesToCheck,
  type DaemonSetLike,
  type KarpenterPoolLike,
  type NodeLike,
  type PodLike,
  type PreflightInput,
} from './analyse.ts';
import { mapLimit } from '../readiness/scan.ts';
import type { AutoscalingGroup, ClusterPreflight, ImageArch, NodesIssue, NodesReport, Source } from './model.ts';
import type { Taint } from '../scheduling/taints.ts';

export interface NodesDeps {
  kube: Kubernetes;
  registry?: ImageInspector;
  aws?: AwsNodeGroups;
  /** kubernetes.clusters.<name>.arm64Taint */
  configuredTaint(cluster: string): Taint | undefined;
  now(): Date;
}

type Unreadable = Extract<NodesIssue, { kind: 'unreadable' }>;

const KARPENTER_VERSIONS = ['v1', 'v1beta1'];
/** Labels the injectors put on every pod they inject: Istio's sidecar injector and Linkerd's proxy injector. */
const INJECTED_POD_LABELS = ['security.istio.io/tlsMode', 'linkerd.io/control-plane-ns'];
/** DaemonSets whose pods are listed at once. */
const DAEMONSET_READS = 8;
const TAINT_TAG_PREFIX = 'k8s.io/cluster-autoscaler/node-template/taint/';

export async function preflightNodes(deps: NodesDeps, cluster?: string): Promise<NodesReport> {
  const clusters = cluster ? [deps.kube.cluster(cluster)] : [...deps.kube.clusters.values()];
  return {
    schemaVersion: 1,
    checkedAt: deps.now().toISOString(),
    clusters: await Promise.all(clusters.map((c) => preflightCluster(deps, c))),
  };
}

async function preflightCluster(deps: NodesDeps, cluster: KubeCluster): Promise<ClusterPreflight> {
  const unreadable: Unreadable[] = [];
  const read = reader(unreadable);
  // Each later step starts as soon as what it needs is read: DaemonSet images once the DaemonSets are known,
  // a DaemonSet's own pods once the nodes are too, sidecar images once the injected pods are.
  const nodesRead = read('nodes', () => cluster.listNodes() as Promise<NodeLike[]>);
  const daemonSetsRead = read('daemonsets', () => cluster.listDaemonSets() as Promise<DaemonSetLike[]>);
  const podsRead = read('pods', () => injectedPods(cluster));
  const [nodes, nodePools, daemonSets, pods, aws, daemonSetPods, dsImages, sidecarImages] = await Promise.all([
    nodesRead,
    read('nodepools', () => karpenterPools(cluster)),
    daemonSetsRead,
    podsRead,
    deps.aws ? awsGroups(deps.aws, cluster.name, unreadable) : undefined,
    Promise.all([nodesRead, daemonSetsRead]).then(([n, ds]) =>
      read('pods', () =>
        podsOfDaemonSets(
          cluster,
          (ds ?? []).filter((d) => daemonSetNeedsPods(d, n ?? [])),
        ),
      ),
    ),
    daemonSetsRead.then((ds) => imageAnswers(deps.registry, imagesToCheck(ds ?? [], []))),
    podsRead.then((p) => imageAnswers(deps.registry, imagesToCheck([], p ?? []))),
  ]);
  const images = dsImages;
  for (const [k, v] of sidecarImages) images.set(k, v);
  const input: PreflightInput = {
    cluster: cluster.name,
    configuredTaint: deps.configuredTaint(cluster.name),
    nodes,
    nodePools: nodePools ?? [],
    ...(aws ?? {}),
    daemonSets: daemonSets ?? [],
    pods: pods ?? [],
    ...(daemonSetPods ? { daemonSetPods } : {}),
    images,
    unreadable,
  };
  return analysePreflight(input);
}

/** The pods an injector injected (their label), once each: the sidecars' images and node architectures. */
async function injectedPods(cluster: KubeCluster): Promise<PodLike[]> {
  const lists = await Promise.all(INJECTED_POD_LABELS.map((label) => cluster.listPods({ labelSelector: label }) as Promise<PodLike[]>));
  const seen = new Map<string, PodLike>();
  for (const p of lists.flat()) seen.set(`${p.metadata?.namespace}/${p.metadata?.name}`, p);
  return [...seen.values()];
}

/** `matchLabels` and `matchExpressions` as a label selector string, as kubectl writes it. */
function selectorOf(
  ds: DaemonSetLike & { spec?: { selector?: { matchExpressions?: { key: string; operator: string; values?: string[] }[] } } },
): string {
  const sel = ds.spec?.selector;
  const terms = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    if (e.operator === 'In' || e.operator === 'NotIn') terms.push(`${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') terms.push(e.key);
    else if (e.operator === 'DoesNotExist') terms.push(`!${e.key}`);
  }
  return terms.join(',');
}

/** The pods of these DaemonSets, by their selector in their namespace, a few DaemonSets at a time. */
async function podsOfDaemonSets(cluster: KubeCluster, daemonSets: DaemonSetLike[]): Promise<Map<string, PodLike[]>> {
  const out = new Map<string, PodLike[]>();
  await mapLimit(daemonSets, DAEMONSET_READS, async (ds) => {
    const pods = (await cluster.listPods({ namespace: ds.metadata?.namespace, labelSelector: selectorOf(ds) || undefined })) as PodLike[];
    out.set(ds.metadata?.uid ?? '', pods);
  });
  return out;
}

async function karpenterPools(cluster: KubeCluster): Promise<KarpenterPoolLike[]> {
  // Karpenter serves v1 since 1.0 and v1beta1 before; a cluster without Karpenter serves neither (404).
  for (const version of KARPENTER_VERSIONS) {
    const pools = await cluster.listClusterCustomObjects<KarpenterPoolLike>({ group: 'karpenter.sh', version, plural: 'nodepools' });
    if (pools) return pools.map((p) => ({ ...p, apiVersion: p.apiVersion ?? `karpenter.sh/${version}` }));
  }
  return [];
}

async function imageAnswers(registry: ImageInspector | undefined, refs: string[]): Promise<Map<string, ImageArch>> {
  const out = new Map<string, ImageArch>();
  await Promise.all(
    refs.map(async (image) => {
      if (!registry) return out.set(image, { image, status: 'unknown', reason: 'no registry client' });
      const r = await registry.inspect(image);
      if (r.status === 'multi-arch-with-arm64' || (r.status === 'amd64-only' && hasArm64(r.platforms)))
        out.set(image, { image, status: 'arm64' });
      else if (r.status === 'amd64-only') out.set(image, { image, status: 'amd64-only' });
      else out.set(image, { image, status: 'unknown', ...(r.reason ? { reason: r.reason } : {}) });
    }),
  );
  return out;
}

function archOfTypes(types: string[], arches: Map<string, string[]>): AutoscalingGroup['arch'] {
  const kinds = new Set(
    types.map((t) => arches.get(t)).map((a) => (a?.includes('arm64') ? 'arm64' : a?.includes('x86_64') ? 'amd64' : 'unknown')),
  );
  if (!kinds.size || kinds.has('unknown')) return 'unknown';
  return kinds.size > 1 ? 'mixed' : ([...kinds][0] as 'arm64' | 'amd64');
}

function taintTags(tags: Record<string, string>): Taint[] {
  return Object.entries(tags)
    .filter(([k]) => k.startsWith(TAINT_TAG_PREFIX))
    .map(([k, v]) => {
      const [value, effect] = v.includes(':') ? [v.slice(0, v.lastIndexOf(':')), v.slice(v.lastIndexOf(':') + 1)] : [v, 'NoSchedule'];
      return { key: k.slice(TAINT_TAG_PREFIX.length), ...(value ? { value } : {}), effect };
    });
}

async function awsGroups(
  aws: AwsNodeGroups,
  context: string,
  unreadable: Unreadable[],
): Promise<Pick<PreflightInput, 'autoscalingGroups' | 'managedNodeGroups'>> {
  const name = aws.clusterName(context);
  const capture = reader(unreadable);
  const [raw, managed] = await Promise.all([
    capture('autoscaling', () => aws.autoscalingGroups(name)),
    capture('eks', () => aws.managedNodeGroups(name)),
  ]);
  let groups: PreflightInput['autoscalingGroups'];
  if (raw) {
    const typed = await Promise.all(
      raw.map(async (g) => ({ g, types: g.instanceTypes.length ? g.instanceTypes : await launchTemplateType(aws, g, unreadable) })),
    );
    const arches = (await capture('ec2', () => aws.instanceArchitectures(typed.flatMap((t) => t.types)))) ?? new Map<string, string[]>();
    groups = typed.map(({ g, types }) => ({
      name: g.name,
      ...(g.tags['eks:nodegroup-name'] ? { managedNodeGroup: g.tags['eks:nodegroup-name'] } : {}),
      arch: archOfTypes(types, arches),
      instanceTypes: types,
      min: g.min,
      max: g.max,
      desired: g.desired,
      ...(g.tags[ARCH_LABEL_TAG] ? { archLabelTag: g.tags[ARCH_LABEL_TAG] } : {}),
      taintTags: taintTags(g.tags),
    }));
  }
  const managedNodeGroups = managed?.map((m) => ({
    ...m,
    arch: m.amiType.includes('ARM_64') ? ('arm64' as const) : m.amiType.includes('x86_64') ? ('amd64' as const) : ('unknown' as const),
  }));
  return { ...(groups ? { autoscalingGroups: groups } : {}), ...(managedNodeGroups ? { managedNodeGroups } : {}) };
}

async function launchTemplateType(aws: AwsNodeGroups, g: RawAutoscalingGroup, unreadable: Unreadable[]): Promise<string[]> {
  const lt = g.launchTemplate;
  if (!lt) return [];
  const t = await reader(unreadable)('ec2', () => aws.launchTemplateInstanceType(lt));
  return t ? [t] : [];
}

/** Runs a read; a failure becomes an `unreadable` fact instead of failing the whole report. */
const reader =
  (unreadable: Unreadable[]) =>
  async <T>(source: Source, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      unreadable.push(unreadableFrom(source, err));
      return undefined;
    }
  };

function unreadableFrom(source: Source, err: unknown): Unreadable {
  const reason = err instanceof Error ? err.message : String(err);
  if (err instanceof AwsError)
    return { kind: 'unreadable', source, reason, ...(err.kind === 'other' ? {} : { cause: err.kind }), grant: err.action };
  return { kind: 'unreadable', source, reason };
}

/** What `nodes` needs, taken from the bot's or the CLI's dependencies. */
export function nodesDeps(d: {
  kube?: Kubernetes;
  registry?: ImageInspector;
  aws?: AwsNodeGroups;
  config: { kubernetes: { clusters: Record<string, { arm64Taint?: Taint }> } };
  clock: { now(): Date };
}): NodesDeps | undefined {
  if (!d.kube) return undefined;
  return {
    kube: d.kube,
    registry: d.registry,
    aws: d.aws,
    configuredTaint: (c) => d.config.kubernetes.clusters[c]?.arm64Taint,
    now: () => d.clock.now(),
  };
}
