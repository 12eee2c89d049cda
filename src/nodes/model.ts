// The node-side preflight of one cluster, as facts: where arm64 capacity can come from, whether a pod with
// archshift's selector and toleration would get a node, and which DaemonSets and sidecars would be missing
// there. Renderers (src/render/nodes-*.ts) pick the words; nothing here is text for a person.
import type { Taint } from '../scheduling/taints.ts';

export type NodesVerdict = 'arm64-ready' | 'no-capacity' | 'cannot-scale-from-zero' | 'taint-mismatch' | 'unknown';

/** Where the arm64 taint archshift writes (toleration) and expects (nodes) comes from. */
export interface EffectiveTaint {
  taint: Taint;
  /** `nodes`: read from the cluster's arm64 nodes; `config`: kubernetes.clusters.<name>.arm64Taint; `default`: neither. */
  source: 'nodes' | 'config' | 'default';
  /** The configured taint, when it differs from what the nodes carry. */
  configured?: Taint;
}

export interface NodeArchGroup {
  arch: string;
  count: number;
  /** Instance types (node.kubernetes.io/instance-type) with their node counts. */
  instanceTypes: Record<string, number>;
  /** Distinct taints on these nodes with how many nodes carry each. */
  taints: { taint: Taint; nodes: number }[];
}

export type Source = 'nodes' | 'nodepools' | 'daemonsets' | 'pods' | 'autoscaling' | 'ec2' | 'eks' | 'registry';

export type NodesIssue =
  /** arm64 nodes without the arm64 taint: amd64-only pods can be scheduled there and crash (exec format error). */
  | { kind: 'arm64-node-untainted'; nodes: string[] }
  /** amd64 nodes carrying the arm64 taint. */
  | { kind: 'amd64-node-tainted'; nodes: string[] }
  /** arm64 nodes disagree on the arm64 taint (e.g. some NoExecute, some NoSchedule). */
  | { kind: 'mixed-taints'; taints: { taint: Taint; nodes: number }[] }
  /** The configured taint is not the one the arm64 nodes carry; archshift follows the nodes. */
  | { kind: 'config-taint-mismatch'; configured: Taint; observed: Taint }
  /** arm64 nodes exist, but other taints keep an archshift-moved pod off every one of them. */
  | { kind: 'arm64-nodes-blocked'; nodes: number; taints: Taint[] }
  /** An arm64 Auto Scaling group at 0 nodes lacks the node-template label tag: cluster-autoscaler cannot scale it up. */
  | { kind: 'cannot-scale-from-zero'; group: string; missingTag: string }
  /** Evidence that could not be read; `grant` names the permission that would let archshift read it. */
  | { kind: 'unreadable'; source: Source; reason: string; cause?: 'throttled' | 'access-denied' | 'credentials'; grant?: string };

export interface KarpenterPool {
  name: string;
  apiVersion: string;
  /** The arch values its requirements allow (`any` when it does not constrain kubernetes.io/arch). */
  architectures: string[] | 'any';
  allowsArm64: boolean;
  taints: Taint[];
  limits?: Record<string, string | number>;
  /** Taints of the pool that an archshift-moved pod does not tolerate. */
  blockingTaints: Taint[];
}

export interface AutoscalingGroup {
  name: string;
  /** The EKS managed node group behind it (tag eks:nodegroup-name), if any. */
  managedNodeGroup?: string;
  arch: 'arm64' | 'amd64' | 'mixed' | 'unknown';
  instanceTypes: string[];
  min: number;
  max: number;
  desired: number;
  /** Value of k8s.io/cluster-autoscaler/node-template/label/kubernetes.io/arch, when tagged. */
  archLabelTag?: string;
  taintTags: Taint[];
  /** True when cluster-autoscaler can build an arm64 node template for it at 0 nodes. */
  canScaleFromZero: boolean;
  blockingTaints: Taint[];
}

export interface ManagedNodeGroup {
  name: string;
  amiType: string;
  arch: 'arm64' | 'amd64' | 'unknown';
  instanceTypes: string[];
  labels: Record<string, string>;
  taints: Taint[];
  min: number;
  max: number;
  desired: number;
  blockingTaints: Taint[];
}

export type ImageArch = { image: string; status: 'arm64' | 'amd64-only' | 'unknown'; reason?: string };

export interface DaemonSetCoverage {
  namespace: string;
  name: string;
  images: ImageArch[];
  toleratesArm64Taint: boolean;
  /** Whether its nodeSelector/affinity admits arm64 nodes. */
  selectsArm64: boolean;
  /** arm64 nodes, and how many of them run one of its pods. */
  arm64Nodes: number;
  arm64Scheduled: number;
  desired: number;
  scheduled: number;
  /** Why it is missing on arm64 nodes, most serious first; empty when it covers them. */
  problems: ('image-without-arm64' | 'image-unknown' | 'does-not-tolerate-taint' | 'excluded-by-selector')[];
}

export interface SidecarCoverage {
  /** The injected container (istio-proxy, linkerd-proxy, …). */
  container: string;
  image: string;
  status: ImageArch['status'];
  reason?: string;
  /** Pods carrying it, and on which node architectures they run. */
  pods: number;
  architectures: string[];
}

export interface ClusterPreflight {
  cluster: string;
  verdict: NodesVerdict;
  taint: EffectiveTaint;
  nodes: NodeArchGroup[];
  /** arm64 nodes on which an archshift-moved pod would be scheduled (all its taints tolerated). */
  schedulableArm64Nodes: number;
  nodePools: KarpenterPool[];
  /** undefined: AWS is not configured (`aws.region`), so node groups were not read. */
  autoscalingGroups?: AutoscalingGroup[];
  managedNodeGroups?: ManagedNodeGroup[];
  daemonSets: DaemonSetCoverage[];
  sidecars: SidecarCoverage[];
  issues: NodesIssue[];
}

export interface NodesReport {
  schemaVersion: 1;
  checkedAt: string;
  clusters: ClusterPreflight[];
}
