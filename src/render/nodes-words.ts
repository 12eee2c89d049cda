// Words for the node preflight, shared by the terminal and Slack renderers (which only add their markup).
import type { ClusterPreflight, DaemonSetCoverage, NodesIssue, NodesVerdict } from '../nodes/model.ts';
import { formatTaint } from '../scheduling/taints.ts';
import { AWS_ACTIONS } from '../adapters/aws.ts';

export const verdictWords: Record<NodesVerdict, string> = {
  'arm64-ready': 'arm64-ready: an arm64 pod with archshift’s selector and toleration gets a node',
  'no-capacity': 'no-capacity: no arm64 node, NodePool or node group could run an arm64 pod',
  'cannot-scale-from-zero': 'cannot-scale-from-zero: arm64 node groups exist at 0 nodes, but cluster-autoscaler cannot scale them up',
  'taint-mismatch': 'taint-mismatch: the arm64 taint is not where it should be',
  unknown: 'unknown: evidence is missing (see below)',
};

const problemWords: Record<DaemonSetCoverage['problems'][number], string> = {
  'image-without-arm64': 'an image has no linux/arm64',
  'image-unknown': 'an image could not be checked',
  'does-not-tolerate-taint': 'does not tolerate the arm64 taint',
  'excluded-by-selector': 'its nodeSelector/affinity excludes arm64 nodes',
};

const list = (names: string[], max = 5): string =>
  names.length > max ? `${names.slice(0, max).join(', ')} and ${names.length - max} more` : names.join(', ');

export function issueLine(i: NodesIssue): string {
  switch (i.kind) {
    case 'arm64-node-untainted':
      return `${i.nodes.length} arm64 node(s) without the arm64 taint (${list(i.nodes)}): amd64-only pods can be scheduled there and fail with exec format error. Taint them.`;
    case 'amd64-node-tainted':
      return `${i.nodes.length} amd64 node(s) carry the arm64 taint (${list(i.nodes)}): remove it there.`;
    case 'mixed-taints':
      return `arm64 nodes carry different arm64 taints (${i.taints.map((t) => `${formatTaint(t.taint)} on ${t.nodes}`).join(', ')}): pick one, or pods tolerating one cannot use the others.`;
    case 'config-taint-mismatch':
      return `config says the arm64 taint is ${formatTaint(i.configured)}, the nodes carry ${formatTaint(i.observed)}: archshift uses the nodes' taint; fix kubernetes.clusters.<name>.arm64Taint.`;
    case 'arm64-nodes-blocked':
      return `all ${i.nodes} arm64 node(s) carry other taints an arm64 pod does not tolerate: ${i.taints.map(formatTaint).join(', ')}.`;
    case 'cannot-scale-from-zero':
      return `node group ${i.group} is arm64 at 0 nodes without the tag ${i.missingTag}=arm64: cluster-autoscaler cannot scale it up for arm64 pods. Add the tag.`;
    case 'unreadable':
      if (i.cause === 'credentials')
        return `${i.source} not read: AWS refused the credentials (${i.reason}). Give archshift working credentials (IRSA role, instance profile or AWS_PROFILE) allowed ${AWS_ACTIONS.join(', ')}.`;
      if (i.cause === 'access-denied') return `${i.source} not read: access denied. Grant ${i.grant} to archshift's role.`;
      if (i.cause === 'throttled') return `${i.source} not read: AWS kept throttling ${i.grant} (retried); try again later.`;
      return `${i.source} not read: ${i.reason}`;
  }
}

export function daemonSetLine(d: DaemonSetCoverage): string {
  const missing = d.arm64Nodes - d.arm64Scheduled;
  const where = `${d.namespace}/${d.name}`;
  if (!d.problems.length) return `${where}: on ${d.arm64Scheduled}/${d.arm64Nodes} arm64 nodes`;
  return `${where}: ${d.problems.map((p) => problemWords[p]).join('; ')}${d.arm64Nodes ? `: missing on ${missing} of ${d.arm64Nodes} arm64 nodes` : ''}`;
}

export function capacityLines(c: ClusterPreflight): string[] {
  const lines: string[] = [];
  lines.push(
    `Nodes: ${c.nodes.map((n) => `${n.count} ${n.arch}`).join(', ') || 'none'}; ${c.schedulableArm64Nodes} arm64 node(s) take an archshift-moved pod`,
  );
  for (const n of c.nodes) {
    const taints = n.taints.map((t) => `${formatTaint(t.taint)} ×${t.nodes}`).join(', ');
    lines.push(
      `  ${n.arch}: ${Object.entries(n.instanceTypes)
        .map(([t, k]) => `${t} ×${k}`)
        .join(', ')}${taints ? `; taints ${taints}` : ''}`,
    );
  }
  for (const p of c.nodePools) {
    const arch = p.architectures === 'any' ? 'any arch' : p.architectures.join('/') || 'no arch';
    const blocked = p.blockingTaints.length ? `; blocked by ${p.blockingTaints.map(formatTaint).join(', ')}` : '';
    const limits = p.limits
      ? `; limits ${Object.entries(p.limits)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}`
      : '';
    lines.push(`Karpenter NodePool ${p.name} (${p.apiVersion}): ${arch}${p.allowsArm64 ? '' : ' (no arm64)'}${limits}${blocked}`);
  }
  if (!c.autoscalingGroups && !c.managedNodeGroups)
    lines.push('Node groups: not checked (set aws.region to read Auto Scaling and EKS node groups)');
  for (const g of c.autoscalingGroups ?? []) {
    const from0 = g.arch === 'arm64' ? (g.canScaleFromZero ? '; scales from zero' : '; cannot scale from zero (no arch label tag)') : '';
    lines.push(
      `Auto Scaling group ${g.name}${g.managedNodeGroup ? ` (EKS ${g.managedNodeGroup})` : ''}: ${g.arch} [${g.instanceTypes.join(', ')}] min ${g.min} / desired ${g.desired} / max ${g.max}${from0}`,
    );
  }
  for (const g of c.managedNodeGroups ?? []) {
    const taints = g.taints.length ? `; taints ${g.taints.map(formatTaint).join(', ')}` : '';
    lines.push(`EKS node group ${g.name}: ${g.arch} (${g.amiType}) min ${g.min} / desired ${g.desired} / max ${g.max}${taints}`);
  }
  return lines;
}

export function taintLine(c: ClusterPreflight): string {
  const from = { nodes: 'read from the arm64 nodes', config: 'from the config', default: 'the default; no arm64 node to read it from' }[
    c.taint.source
  ];
  return `arm64 taint: ${formatTaint(c.taint.taint)} (${from})`;
}
