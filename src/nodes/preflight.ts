// The `nodes` use case: reads one or every cluster's nodes, Karpenter NodePools, DaemonSets and pods, the
// AWS node groups when AWS is configured, and the registry's answer for DaemonSet and sidecar images, then
// judges them (analyse.ts). Reads run concurrently; a read that fails becomes an `unreadable` fact.
import type { KubeCluster, Kubernetes } from '../adapters/kubernetes.ts';
import { AwsError, type AwsNodeGroups, type RawAutoscalingGroup } from '../adapters/aws.ts';
import type { ImageInspector } from '../readiness/image-types.ts';
import { hasArm64 } from '../readiness/image-types.ts';
import { analysePreflight, ARCH_LABEL_TAG, imagesToCheck, type DaemonSetLike, type KarpenterPoolLike, type NodeLike, type PodLike, type PreflightInput } from './analyse.ts';
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
const TAINT_TAG_PREFIX = 'k8s.io/cluster-autoscaler/node-template/taint/';

export async function preflightNodes(deps: NodesDeps, cluster?: string): Promise<NodesReport> {
  const clusters = cluster ? [deps.kube.cluster(cluster)] : [...deps.kube.clusters.values()];
  return { schemaVersion: 1, checkedAt: deps.now().toISOString(), clusters: await Promise.all(clusters.map((c) => preflightCluster(deps, c))) };
}

async function preflightCluster(deps: NodesDeps, cluster: KubeCluster): Promise<ClusterPreflight> {
  const unreadable: Unreadable[] = [];
  const read = reader(unreadable);
  const [nodes, nodePools, daemonSets, pods, aws] = await Promise.all([
    read('nodes', () => cluster.listNodes() as Promise<NodeLike[]>),
    read('nodepools', () => karpenterPools(cluster)),
    read('daemonsets', () => cluster.listDaemonSets() as Promise<DaemonSetLike[]>),
    read('pods', () => cluster.listPods() as Promise<PodLike[]>),
    deps.aws ? awsGroups(deps.aws, cluster.name, unreadable) : undefined,
  ]);
  const images = await imageAnswers(deps.registry, imagesToCheck(daemonSets ?? [], pods ?? []));
  const input: PreflightInput = {
    cluster: cluster.name,
    configuredTaint: deps.configuredTaint(cluster.name),
    nodes,
    nodePools: nodePools ?? [],
    ...(aws ?? {}),
    daemonSets: daemonSets ?? [],
    pods: pods ?? [],
    images,
    unreadable,
  };
  return analysePreflight(input);
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
      if (r.status === 'multi-arch-with-arm64' || (r.status === 'amd64-only' && hasArm64(r.platforms))) out.set(image, { image, status: 'arm64' });
      else if (r.status === 'amd64-only') out.set(image, { image, status: 'amd64-only' });
      else out.set(image, { image, status: 'unknown', ...(r.reason ? { reason: r.reason } : {}) });
    }),
  );
  return out;
}

function archOfTypes(types: string[], arches: Map<string, string[]>): AutoscalingGroup['arch'] {
  const kinds = new Set(types.map((t) => arches.get(t)).map((a) => (a?.includes('arm64') ? 'arm64' : a?.includes('x86_64') ? 'amd64' : 'unknown')));
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

async function awsGroups(aws: AwsNodeGroups, context: string, unreadable: Unreadable[]): Promise<Pick<PreflightInput, 'autoscalingGroups' | 'managedNodeGroups'>> {
  const name = aws.clusterName(context);
  const capture = reader(unreadable);
  const [raw, managed] = await Promise.all([capture('autoscaling', () => aws.autoscalingGroups(name)), capture('eks', () => aws.managedNodeGroups(name))]);
  let groups: PreflightInput['autoscalingGroups'];
  if (raw) {
    const typed = await Promise.all(raw.map(async (g) => ({ g, types: g.instanceTypes.length ? g.instanceTypes : await launchTemplateType(aws, g, unreadable) })));
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
  if (err instanceof AwsError) return { kind: 'unreadable', source, reason, ...(err.kind === 'other' ? {} : { cause: err.kind }), grant: err.action };
  return { kind: 'unreadable', source, reason };
}

/** What `nodes` needs, taken from the bot's or the CLI's dependencies. */
export function nodesDeps(d: { kube?: Kubernetes; registry?: ImageInspector; aws?: AwsNodeGroups; config: { kubernetes: { clusters: Record<string, { arm64Taint?: Taint }> } }; clock: { now(): Date } }): NodesDeps | undefined {
  if (!d.kube) return undefined;
  return { kube: d.kube, registry: d.registry, aws: d.aws, configuredTaint: (c) => d.config.kubernetes.clusters[c]?.arm64Taint, now: () => d.clock.now() };
}
