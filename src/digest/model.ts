// The digest model: what the daily digest says, as facts (shares, trend, cost, ready workloads,
// blockers, unknowns, open PRs), built from one inventory. Every surface renders it as is: Block Kit
// and mrkdwn in src/render/digest-*.ts, the terminal, Markdown/HTML exports. Pure: no I/O here.
import type { CanaryMeasurement } from '../canary/cost.ts';
import type { DigestConfig } from './config.ts';
import { estimateCost, type CostEstimate, type PriceTable } from './cost.ts';
import { sharesOf, totalsOf, type Changes, type HistoryPoint, type Shares, type Totals, type Trend } from './history.ts';
import { workloadKey, type Inventory, type Workload } from './inventory.ts';
import type { FoundProblem, MoveTrigger } from '../nodes/move-watch.ts';

export interface ClusterLine {
  name: string;
  ok: boolean;
  error?: string;
  workloads?: number;
  shares?: Shares;
  nodes?: Record<string, number>;
}

export interface Group {
  name: string;
  remaining: number;
  total: number;
  remainingCpuMillis: number;
}

export interface ReadyItem {
  key: string;
  cluster: string;
  kind: string;
  namespace: string;
  name: string;
  service?: string;
  team?: string;
  monthlySaving: number;
  /** `measured`: the service's canary measured it (CPU used × node prices); `estimated`: list prices of its node share. */
  savingBasis: 'measured' | 'estimated';
}

export interface BlockerGroup {
  cause: string;
  /** The image without arm64; absent for a DaemonSet that does not tolerate the arm64 taint. */
  image: string;
  /** DaemonSets and sidecars: they keep arm64 node groups from running everything. */
  nodeGroups: boolean;
  workloads: string[];
  /** What it is, in the order the list leads with: DaemonSets first, then sidecars, then the rest. */
  source?: 'daemonset' | 'sidecar' | 'workload';
  /** A multi-arch DaemonSet that does not tolerate the cluster's arm64 taint (kubectl notation). */
  untoleratedTaint?: string;
  /** DaemonSets: the arm64 nodes, and how many of them miss their pod (summed over the group). */
  arm64Nodes?: { total: number; missing: number };
}

const SOURCE_ORDER = ['daemonset', 'sidecar', 'workload'];

export interface UnknownSummary {
  workloads: { key: string; reason: string }[];
  podsWithoutRequests: number;
}

export interface OpenPr {
  service: string;
  url: string;
  kind: string;
  number: number;
}

/** A problem the watch after a move found (src/nodes/move-watch.ts), recently. */
export interface MoveProblemItem {
  service: string;
  cluster?: string;
  namespace: string;
  deployment: string;
  trigger: MoveTrigger;
  problem: FoundProblem;
}

export interface DigestModel {
  day: string;
  generatedAt: string;
  /** Set for a team's own digest. */
  team?: string;
  clusters: ClusterLine[];
  totals: Totals;
  shares: Shares;
  trend: Trend;
  changes: Changes;
  cost: CostEstimate;
  namespaces: Group[];
  teams: Group[];
  ready: ReadyItem[];
  readyCount: number;
  blockers: BlockerGroup[];
  unknown: UnknownSummary;
  prs: OpenPr[];
  /** Problems found after moves in the last days, newest first. */
  moveProblems?: MoveProblemItem[];
  /** Daily points for the burn-down (empty for team digests, whose history is not kept apart). */
  series: HistoryPoint[];
  topN: number;
  /** The catalog's discovery label (`catalog.discovery.label`): a workload carrying it is tied to a catalog service. */
  discoveryLabel: string;
}

export type ModelBase = Pick<
  DigestModel,
  'day' | 'generatedAt' | 'prs' | 'moveProblems' | 'topN' | 'changes' | 'trend' | 'series' | 'discoveryLabel'
> & { team?: string };

export function buildModel(
  inv: Inventory,
  prices: PriceTable,
  cfg: DigestConfig,
  base: ModelBase,
  filter: (w: Workload) => boolean = () => true,
  measurements: Record<string, CanaryMeasurement> = {},
): DigestModel {
  const all: Workload[] = [];
  const clusters: ClusterLine[] = [];
  const multi = inv.clusters.length > 1;
  for (const c of inv.clusters) {
    if (!c.ok) {
      clusters.push({ name: c.cluster, ok: false, error: c.error });
      continue;
    }
    const mine = c.workloads.filter(filter);
    all.push(...mine);
    const nodes: Record<string, number> = {};
    for (const n of c.nodes) nodes[n.arch] = (nodes[n.arch] ?? 0) + 1;
    clusters.push({ name: c.cluster, ok: true, workloads: mine.length, shares: sharesOf(totalsOf(mine)), nodes });
  }
  const totals = totalsOf(all);
  const label = (w: Workload) => (multi ? `${w.cluster}: ` : '') + workloadKey(w);
  const scoped: Inventory = { ...inv, clusters: inv.clusters.map((c) => (c.ok ? { ...c, workloads: c.workloads.filter(filter) } : c)) };
  const cost = estimateCost(scoped, prices, cfg, measurements);
  const measured = new Map(cost.measured.filter((m) => m.monthly).map((m) => [m.service, m.monthly!.saving]));
  if (base.team) {
    // A team pays for its workloads' share of the nodes, not for the whole fleet.
    cost.amd64MonthlyCost = all.reduce((sum, w) => sum + prices.workload(w).monthly, 0);
    cost.arm64MonthlyCost = 0;
    cost.unpricedNodes = [];
  }

  const ready = all
    .filter((w) => w.status === 'ready')
    .map((w): ReadyItem => ({
      key: label(w),
      cluster: w.cluster,
      kind: w.kind,
      namespace: w.namespace,
      name: w.name,
      ...(w.service ? { service: w.service } : {}),
      ...(w.team ? { team: w.team } : {}),
      monthlySaving: (w.service ? measured.get(w.service) : undefined) ?? prices.workload(w).saving,
      savingBasis: w.service && measured.has(w.service) ? 'measured' : 'estimated',
    }))
    // Catalog services first (one click opens their PRs), then the largest saving.
    .sort(
      (a, b) => Number(Boolean(b.service)) - Number(Boolean(a.service)) || b.monthlySaving - a.monthlySaving || (a.key < b.key ? -1 : 1),
    );

  const blockers = new Map<string, BlockerGroup>();
  const add = (key: string, fresh: BlockerGroup, w: Workload): void => {
    const g = blockers.get(key) ?? fresh;
    g.nodeGroups ||= fresh.nodeGroups;
    if (SOURCE_ORDER.indexOf(fresh.source!) < SOURCE_ORDER.indexOf(g.source!)) g.source = fresh.source;
    g.workloads.push(label(w));
    const p = w.arm64Placement;
    if (p)
      g.arm64Nodes = {
        total: (g.arm64Nodes?.total ?? 0) + p.arm64Nodes,
        missing: (g.arm64Nodes?.missing ?? 0) + Math.max(0, p.arm64Nodes - p.arm64WithPod),
      };
    blockers.set(key, g);
  };
  for (const w of all) {
    if (w.status !== 'blocked' && !w.blocksNodeGroups) continue;
    const p = w.arm64Placement;
    if (p && w.blocksNodeGroups && !p.toleratesArm64Taint && w.images.every((i) => i.arm64 === 'yes')) {
      const taint = `${p.taint.key}${p.taint.value ? `=${p.taint.value}` : ''}:${p.taint.effect}`;
      add(
        `taint:${label(w)}`,
        {
          cause: `multi-arch, but does not tolerate the arm64 taint ${taint}`,
          image: '',
          nodeGroups: true,
          workloads: [],
          source: 'daemonset',
          untoleratedTaint: taint,
        },
        w,
      );
      continue;
    }
    for (const i of w.images) {
      if (i.arm64 !== 'no') continue;
      const source = w.kind === 'DaemonSet' ? 'daemonset' : i.sidecar ? 'sidecar' : 'workload';
      add(
        i.image,
        { cause: i.reason ?? `${i.image} has no linux/arm64`, image: i.image, nodeGroups: source !== 'workload', workloads: [], source },
        w,
      );
    }
  }

  return {
    ...base,
    clusters,
    totals,
    shares: sharesOf(totals),
    cost,
    namespaces: groupRemaining(all, (w) => (multi ? `${w.cluster}/${w.namespace}` : w.namespace)),
    teams: groupRemaining(all, (w) => w.team ?? '(no team)'),
    ready,
    readyCount: ready.length,
    blockers: [...blockers.values()].sort(
      (a, b) =>
        SOURCE_ORDER.indexOf(a.source!) - SOURCE_ORDER.indexOf(b.source!) ||
        Number(!!a.untoleratedTaint) - Number(!!b.untoleratedTaint) ||
        b.workloads.length - a.workloads.length ||
        (a.cause < b.cause ? -1 : 1),
    ),
    unknown: {
      workloads: all.filter((w) => w.status === 'unknown').map((w) => ({ key: label(w), reason: w.reason ?? 'unknown' })),
      podsWithoutRequests: all.reduce((n, w) => n + w.podsWithoutRequests, 0),
    },
  };
}

function groupRemaining(ws: Workload[], by: (w: Workload) => string): Group[] {
  const groups = new Map<string, Group>();
  for (const w of ws) {
    const name = by(w);
    const g = groups.get(name) ?? { name, remaining: 0, total: 0, remainingCpuMillis: 0 };
    g.total++;
    if (w.status !== 'arm64') {
      g.remaining++;
      for (const [arch, cpu] of Object.entries(w.cpuMillisByArch)) if (arch !== 'arm64') g.remainingCpuMillis += cpu;
    }
    groups.set(name, g);
  }
  return [...groups.values()]
    .filter((g) => g.remaining > 0)
    .sort((a, b) => b.remaining - a.remaining || b.remainingCpuMillis - a.remainingCpuMillis || (a.name < b.name ? -1 : 1));
}
