// The daily digest use case: inventory → cost → history → one model that the Block Kit and text
// renderers print as is, plus the burn-down chart. Posting (channel, team channels, chart upload)
// lives here too so the schedule, `/arm64 digest` and the CLI share one path.
import type { Deps } from '../deps.ts';
import { NotConfiguredError } from '../errors.ts';
import type { SlackPoster, PostedMessage } from '../adapters/slack.ts';
import type { ImageInspector } from '../readiness/image-types.ts';
import { prsSection } from '../prs/records.ts';
import { analyseSystemImages } from '../readiness/analysers/system.ts';
import { loadKnowledgeBase, type KnowledgeBase } from '../readiness/knowledge/load.ts';
import { renderDigestBlocks } from '../render/digest-blocks.ts';
import { renderStatusLine } from '../render/digest-text.ts';
import { renderBurndownPng } from './chart.ts';
import { DigestSchedule } from './schedule.ts';
import { estimateCost, PriceTable, type CostEstimate } from './cost.ts';
import { History, dayOf, sharesOf, totalsOf, type Changes, type HistoryPoint, type Shares, type Totals, type Trend } from './history.ts';
import { takeInventory, workloadKey, type BlockReason, type Inventory, type OwnerInfo, type Workload } from './inventory.ts';

export interface DigestDeps extends Pick<Deps, 'config' | 'catalog' | 'store' | 'logger' | 'clock' | 'kube'> {
  /** The registry adapter; built from config when absent. */
  registry?: ImageInspector;
  /** Known-broken system components; default: the knowledge base (built-in plus `knowledge.files`). */
  blockReason?: BlockReason;
}

/** System components the knowledge base knows to fail on arm64 at a given tag (floating tags are not judged). */
export function knownBrokenComponents(kb: KnowledgeBase): BlockReason {
  const seen = new Map<string, string | undefined>();
  return (image) => {
    if (!seen.has(image)) {
      const f = analyseSystemImages([{ image, evidence: { image } }], kb).find((x) => x.severity !== 'warning' && x.severity !== 'info');
      seen.set(image, f ? `${f.title}. ${f.fix ?? ''}`.trim() : undefined);
    }
    return seen.get(image);
  };
}

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
}

export interface BlockerGroup {
  cause: string;
  image: string;
  /** DaemonSets and sidecars: they keep arm64 node groups from running everything. */
  nodeGroups: boolean;
  workloads: string[];
}

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
  /** Daily points for the burn-down (empty for team digests, whose history is not kept apart). */
  series: HistoryPoint[];
  topN: number;
}

export interface DigestRun {
  inventory: Inventory;
  model: DigestModel;
  /** Team name → that team's digest and channel, for teams whose channel the catalog names. */
  teams: { team: string; channel: string; model: DigestModel }[];
}

const SERIES_DAYS = 90;

/** Takes the inventory, records today's point, and builds the digest (and the team digests). */
export async function runDigest(deps: DigestDeps): Promise<DigestRun> {
  const cfg = deps.config.digest;
  if (!deps.kube || deps.kube.clusters.size === 0) {
    throw new NotConfiguredError('No Kubernetes cluster is configured: set kubernetes.contexts (or a kubeconfig) so the digest has a fleet to count.');
  }
  const owners = ownerIndex(deps);
  const inventory = await takeInventory({
    kubernetes: deps.kube,
    images: deps.registry,
    owner: owners.lookup,
    teamLabels: cfg.teamLabels,
    sidecarContainers: cfg.sidecarContainers,
    blockReason: deps.blockReason ?? knownBrokenComponents(await loadKnowledgeBase(deps.config.knowledge.files)),
    now: () => deps.clock.now(),
  });
  const prices = new PriceTable(cfg);
  const day = dayOf(deps.clock.now(), cfg.timezone);
  const costs: Record<string, number> = {};
  for (const c of inventory.clusters) {
    if (c.ok) costs[c.cluster] = estimateCost({ ...inventory, clusters: [c] }, prices, cfg).amd64MonthlyCost;
  }
  const history = new History(deps.store, cfg.historyDays);
  const changesByCluster = await history.record(inventory, day, costs);
  const okClusters = inventory.clusters.filter((c) => c.ok).map((c) => c.cluster);
  const changes: Changes = { migrated: [], regressed: [] };
  for (const [cluster, ch] of Object.entries(changesByCluster)) {
    const prefix = okClusters.length > 1 || inventory.clusters.length > 1 ? `${cluster}: ` : '';
    changes.migrated.push(...ch.migrated.map((k) => prefix + k));
    changes.regressed.push(...ch.regressed.map((k) => prefix + k));
    changes.since ??= ch.since;
  }
  const base = {
    day,
    generatedAt: deps.clock.now().toISOString(),
    prs: readOpenPrs(deps),
    topN: cfg.topN,
  };
  const model = buildModel(inventory, prices, cfg, {
    ...base,
    changes,
    trend: history.trend(okClusters, day),
    series: history.series(okClusters, SERIES_DAYS),
  });
  const teams: DigestRun['teams'] = [];
  if (cfg.teamDigests) {
    for (const [team, channel] of owners.teamChannels) {
      const mine = (w: Workload) => w.team === team;
      const keys = new Set(inventory.clusters.flatMap((c) => (c.ok ? c.workloads.filter(mine).map((w) => (inventory.clusters.length > 1 ? `${c.cluster}: ` : '') + workloadKey(w)) : [])));
      if (keys.size === 0) continue;
      const teamChanges = { ...changes, migrated: changes.migrated.filter((k) => keys.has(k)), regressed: changes.regressed.filter((k) => keys.has(k)) };
      teams.push({
        team,
        channel,
        model: buildModel(inventory, prices, cfg, { ...base, team, changes: teamChanges, trend: {}, series: [], prs: base.prs.filter((p) => owners.teamOfService.get(p.service) === team) }, mine),
      });
    }
  }
  return { inventory, model, teams };
}

type Base = Pick<DigestModel, 'day' | 'generatedAt' | 'prs' | 'topN' | 'changes' | 'trend' | 'series'> & { team?: string };

export function buildModel(inv: Inventory, prices: PriceTable, cfg: Deps['config']['digest'], base: Base, filter: (w: Workload) => boolean = () => true): DigestModel {
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
  const cost = estimateCost(scoped, prices, cfg);
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
      monthlySaving: prices.workload(w).saving,
    }))
    // Catalog services first (one click opens their PRs), then the largest saving.
    .sort((a, b) => Number(Boolean(b.service)) - Number(Boolean(a.service)) || b.monthlySaving - a.monthlySaving || (a.key < b.key ? -1 : 1));

  const blockers = new Map<string, BlockerGroup>();
  for (const w of all) {
    if (w.status !== 'blocked' && !w.blocksNodeGroups) continue;
    for (const i of w.images) {
      if (i.arm64 !== 'no') continue;
      const nodeGroups = i.sidecar || w.kind === 'DaemonSet';
      const g = blockers.get(i.image) ?? { cause: i.reason ?? `${i.image} has no linux/arm64`, image: i.image, nodeGroups: false, workloads: [] };
      g.nodeGroups ||= nodeGroups;
      g.workloads.push(label(w));
      blockers.set(i.image, g);
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
    blockers: [...blockers.values()].sort((a, b) => Number(b.nodeGroups) - Number(a.nodeGroups) || b.workloads.length - a.workloads.length || (a.image < b.image ? -1 : 1)),
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
  return [...groups.values()].filter((g) => g.remaining > 0).sort((a, b) => b.remaining - a.remaining || b.remainingCpuMillis - a.remainingCpuMillis || (a.name < b.name ? -1 : 1));
}

interface OwnerIndex {
  lookup: (w: { cluster: string; kind: string; namespace: string; name: string; labels: Record<string, string> }) => OwnerInfo | undefined;
  teamChannels: Map<string, string>;
  teamOfService: Map<string, string>;
}

/** Catalog services by their Deployment, and by the discovery label on any workload. */
function ownerIndex(deps: DigestDeps): OwnerIndex {
  const byDeployment = new Map<string, OwnerInfo & { cluster?: string }>();
  const byName = new Map<string, OwnerInfo>();
  const teamChannels = new Map<string, string>();
  const teamOfService = new Map<string, string>();
  for (const s of deps.catalog.list()) {
    if ('error' in s) continue;
    const info = { service: s.name, ...(s.team ? { team: s.team } : {}) };
    byDeployment.set(`${s.namespace}/${s.deployment}`, { ...info, cluster: s.cluster });
    byName.set(s.name, info);
    if (s.team) {
      teamOfService.set(s.name, s.team);
      if (s.channel && !teamChannels.has(s.team)) teamChannels.set(s.team, s.channel);
    }
  }
  const label = deps.config.catalog.discovery.label;
  return {
    lookup: (w) => {
      const named = w.labels[label] ? byName.get(w.labels[label]) : undefined;
      if (named) return named;
      if (w.kind !== 'Deployment') return undefined;
      const hit = byDeployment.get(`${w.namespace}/${w.name}`);
      return hit && (!hit.cluster || hit.cluster === w.cluster) ? { service: hit.service, ...(hit.team ? { team: hit.team } : {}) } : undefined;
    },
    teamChannels,
    teamOfService,
  };
}

/** Open PRs as the PR flow records them (store section `prs`); a section not yet written means none. */
export function readOpenPrs(deps: Pick<Deps, 'store'>): OpenPr[] {
  const out: OpenPr[] = [];
  for (const [service, byKind] of Object.entries(prsSection(deps.store).get().services ?? {})) {
    for (const r of Object.values(byKind ?? {})) if (r?.state === 'open' && r.url) out.push({ service, url: r.url, kind: r.kind, number: r.number });
  }
  return out.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : a.number - b.number));
}

export interface PostResult {
  main: PostedMessage;
  chartUploaded: boolean;
  teams: { team: string; channel: string; ok: boolean; error?: string }[];
}

export interface PostOptions {
  /** Default: `digest.channel`, else `slack.channel`. */
  channel?: string;
  /** Also post each team's digest to its channel (the scheduled run does; `/arm64 digest` does not). */
  teams?: boolean;
}

/** Posts the digest (chart in its thread) and, when asked, each team's digest to its channel. */
export async function postDigest(deps: DigestDeps, slack: SlackPoster, run: DigestRun, o: PostOptions = {}): Promise<PostResult> {
  const target = o.channel ?? deps.config.digest.channel ?? deps.config.slack.channel;
  const main = await slack.post(target, { text: renderStatusLine(run.model), blocks: renderDigestBlocks(run.model) });
  let chartUploaded = false;
  if (run.model.series.length > 0) {
    try {
      const png = renderBurndownPng(run.model.series, { title: 'arm64 burn-down: workloads left on amd64', fontFiles: deps.config.digest.chartFonts });
      await slack.uploadFile(main.channel, { filename: `arm64-burndown-${run.model.day}.png`, data: png, title: `arm64 burn-down ${run.model.day}`, threadTs: main.ts });
      chartUploaded = true;
    } catch (err) {
      // The numbers are already posted; a failed chart must not fail the digest.
      deps.logger.warn({ err: (err as Error).message }, 'digest chart not uploaded');
    }
  }
  const teams: PostResult['teams'] = [];
  for (const t of o.teams ? run.teams : []) {
    try {
      await slack.post(t.channel, { text: renderStatusLine(t.model), blocks: renderDigestBlocks(t.model) });
      teams.push({ team: t.team, channel: t.channel, ok: true });
    } catch (err) {
      deps.logger.warn({ team: t.team, channel: t.channel, err: (err as Error).message }, 'team digest not posted');
      teams.push({ team: t.team, channel: t.channel, ok: false, error: (err as Error).message });
    }
  }
  return { main, chartUploaded, teams };
}

/** The daily schedule as the bot runs it: the full digest to the migration channel, team digests too. */
export function createDigestSchedule(deps: DigestDeps, slack: SlackPoster, shouldRun?: () => boolean | Promise<boolean>): DigestSchedule {
  const cfg = deps.config.digest;
  return new DigestSchedule({
    expression: cfg.schedule,
    timezone: cfg.timezone,
    catchUpHours: cfg.catchUpHours,
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    ...(shouldRun ? { shouldRun } : {}),
    run: async () => {
      await postDigest(deps, slack, await runDigest(deps), { teams: true });
    },
  });
}
