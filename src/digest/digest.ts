// The daily digest use case: inventory → cost → history → the digest model (src/digest/model.ts), for
// the schedule, `/arm64 digest` and the CLI alike. It returns facts only: each surface renders and
// delivers them (Slack: commands/notify/digest-post.ts; terminal: src/cli/digest.ts).
import type { Kubernetes } from '../adapters/kubernetes.ts';
import type { Store } from '../adapters/store.ts';
import type { Clock } from '../clock.ts';
import type { Catalog } from '../config/catalog.ts';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import { NotConfiguredError } from '../errors.ts';
import type { ImageInspector } from '../images/types.ts';
import { prsSection } from '../prs/records.ts';
import { recordedMeasurements } from '../canary/cost.ts';
import { analyseSystemImages } from '../readiness/analysers/system.ts';
import { loadKnowledgeBase, type KnowledgeBase } from '../readiness/knowledge/load.ts';
import { estimateCost, PriceTable } from './cost.ts';
import { History, dayOf, type Changes } from './history.ts';
import { takeInventory, workloadKey, type BlockReason, type Inventory, type OwnerInfo, type Workload } from './inventory.ts';
import { buildModel, type DigestModel, type MoveProblemItem, type OpenPr } from './model.ts';
import { recentMoveProblems } from '../nodes/move-watch.ts';

/** What the digest uses. */
export interface DigestDeps {
  readonly config: Config;
  readonly catalog: Catalog;
  readonly store: Store;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Absent: no digest (it needs a cluster to count). */
  readonly kube?: Kubernetes;
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

export interface DigestRun {
  inventory: Inventory;
  model: DigestModel;
  /** Team name → that team's digest and channel, for teams whose channel the catalog names. */
  teams: { team: string; channel: string; model: DigestModel }[];
}

const SERIES_DAYS = 90;
/** Problems after a move stay in the digest this long. */
const MOVE_PROBLEM_DAYS = 7;

/** Takes the inventory, records today's point, and builds the digest (and the team digests). */
export async function runDigest(deps: DigestDeps): Promise<DigestRun> {
  const cfg = deps.config.digest;
  if (!deps.kube || deps.kube.clusters.size === 0) {
    throw new NotConfiguredError(
      'No Kubernetes cluster is configured: set kubernetes.contexts (or a kubeconfig) so the digest has a fleet to count.',
    );
  }
  const owners = ownerIndex(deps);
  const inventory = await takeInventory({
    kubernetes: deps.kube,
    images: deps.registry,
    owner: owners.lookup,
    teamLabels: cfg.teamLabels,
    sidecarContainers: cfg.sidecarContainers,
    configuredTaint: (cluster) => deps.config.kubernetes.clusters[cluster]?.arm64Taint,
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
    moveProblems: readMoveProblems(deps),
    topN: cfg.topN,
    discoveryLabel: deps.config.catalog.discovery.label,
  };
  // What finished canaries measured replaces the list-price estimate for their services.
  const measurements = recordedMeasurements(deps.store);
  const model = buildModel(
    inventory,
    prices,
    cfg,
    { ...base, changes, trend: history.trend(okClusters, day), series: history.series(okClusters, SERIES_DAYS) },
    undefined,
    measurements,
  );
  const teams: DigestRun['teams'] = [];
  if (cfg.teamDigests) {
    for (const [team, channel] of owners.teamChannels) {
      const mine = (w: Workload) => w.team === team;
      const keys = new Set(
        inventory.clusters.flatMap((c) =>
          c.ok ? c.workloads.filter(mine).map((w) => (inventory.clusters.length > 1 ? `${c.cluster}: ` : '') + workloadKey(w)) : [],
        ),
      );
      if (keys.size === 0) continue;
      const teamChanges = {
        ...changes,
        migrated: changes.migrated.filter((k) => keys.has(k)),
        regressed: changes.regressed.filter((k) => keys.has(k)),
      };
      teams.push({
        team,
        channel,
        model: buildModel(
          inventory,
          prices,
          cfg,
          {
            ...base,
            team,
            changes: teamChanges,
            trend: {},
            series: [],
            prs: base.prs.filter((p) => owners.teamOfService.get(p.service) === team),
            moveProblems: base.moveProblems?.filter((p) => owners.teamOfService.get(p.service) === team),
          },
          mine,
          Object.fromEntries(Object.entries(measurements).filter(([service]) => owners.teamOfService.get(service) === team)),
        ),
      });
    }
  }
  return { inventory, model, teams };
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
      return hit && (!hit.cluster || hit.cluster === w.cluster)
        ? { service: hit.service, ...(hit.team ? { team: hit.team } : {}) }
        : undefined;
    },
    teamChannels,
    teamOfService,
  };
}

/** Open PRs as the PR flow records them (store section `prs`); a section not yet written means none. */
export function readOpenPrs(deps: Pick<DigestDeps, 'store'>): OpenPr[] {
  const out: OpenPr[] = [];
  for (const [service, byKind] of Object.entries(prsSection(deps.store).get().services ?? {})) {
    for (const r of Object.values(byKind ?? {}))
      if (r?.state === 'open' && r.url) out.push({ service, url: r.url, kind: r.kind, number: r.number });
  }
  return out.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : a.number - b.number));
}

/** What the watch after a move found in the last MOVE_PROBLEM_DAYS (store section `moveWatches`). */
function readMoveProblems(deps: Pick<DigestDeps, 'store' | 'clock'>): MoveProblemItem[] {
  const since = new Date(deps.clock.now().getTime() - MOVE_PROBLEM_DAYS * 86_400_000);
  return recentMoveProblems(deps.store, since).map((w) => ({ ...w.target, trigger: w.trigger, problem: w.problem! }));
}
