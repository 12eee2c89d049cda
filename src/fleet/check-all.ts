// The fleet check: every catalog service (or one team's, one cluster's) through the same readiness use
// case as `check <service>`, a bounded number at a time. All checks share the one registry client, so a
// base image used by 100 services is asked about once (its cache and in-flight lookups are shared), and
// each cluster's nodes are listed once for the run.
// Returns facts for the surfaces: per service the report (or why there is none) and a summary.
import type { Logger } from '../logger.ts';
import { discoverServices } from '../config/discover.ts';
import type { Service } from '../config/catalog.ts';
import { checkService, type CheckNeeds } from '../readiness/check.ts';
import type { Finding, Report, Verdict } from '../readiness/report.ts';
import { CHANGE_KINDS, type ChangeKind } from '../prs/planner.ts';
import { isUserError } from '../errors.ts';

/** What the fleet check uses: the check's needs and the log. */
export interface FleetNeeds extends CheckNeeds {
  readonly logger: Logger;
}

export interface FleetFilter {
  team?: string;
  cluster?: string;
  /** Only these catalog services (the digest's ready ones). */
  services?: readonly string[];
}

export interface FleetEntry {
  service: string;
  team?: string;
  cluster?: string;
  /** Where the evidence files live, so reports can link to them. */
  repos?: { code: string; branch?: string; pipeline: { repo: string; file: string }; manifests: { repo: string; files: string[] } };
  /** `unknown` when there is no report (the entry is incomplete, the check failed). */
  verdict: Verdict;
  report?: Report;
  /** Why there is no report. */
  error?: string;
}

export interface FindingCount {
  id: string;
  /** One of the findings' titles, as an example. */
  title: string;
  services: string[];
}

export interface FleetSummary {
  total: number;
  /** The worst verdict: blocked, else unknown, else needs-changes, else ready (as one report of all findings). */
  verdict: Verdict;
  verdicts: Record<Verdict, number>;
  /** Blocker findings by id, the ones affecting most services first. */
  topBlockers: FindingCount[];
  /** Unknown findings by id (what evidence is missing most often). */
  topUnknowns: FindingCount[];
  /** Per PR kind, the services it would change. */
  prs: Array<{ kind: ChangeKind; services: string[] }>;
  /** Services whose every change- and blocker-level finding a PR fixes: ready once the PRs merge. */
  readyAfterPrs: string[];
}

export interface FleetResult {
  checkedAt: string;
  filter: FleetFilter;
  entries: FleetEntry[];
  summary: FleetSummary;
}

export interface FleetOptions {
  filter?: FleetFilter;
  /** At most this many checks at once (default 8). */
  concurrency?: number;
  onProgress?: (done: number, total: number, service: string) => void;
}

export const DEFAULT_FLEET_CONCURRENCY = 8;

/** Runs `work` over `items`, at most `limit` at once, results in input order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/**
 * The catalog (discovered services included) narrowed to a team or a cluster (a service without one
 * runs in the first configured cluster). An incomplete entry has no team or cluster to match: it is
 * kept only when nothing filters, so it is reported instead of silently dropped.
 */
export async function selectServices(
  deps: Pick<FleetNeeds, 'config' | 'catalog' | 'kube'>,
  filter: FleetFilter = {},
): Promise<Array<Service | { name: string; error: string }>> {
  await discoverServices(deps);
  const defaultCluster = deps.kube?.clusters.keys().next().value;
  return deps.catalog
    .list()
    .map((s) => ('error' in s ? s : { ...s, cluster: s.cluster ?? defaultCluster }))
    .filter(
      (s) =>
        (!filter.services || filter.services.includes(s.name)) &&
        ('error' in s
          ? !filter.team && !filter.cluster
          : (!filter.team || s.team === filter.team) && (!filter.cluster || s.cluster === filter.cluster)),
    );
}

export async function checkFleet(deps: FleetNeeds, opts: FleetOptions = {}): Promise<FleetResult> {
  const filter = opts.filter ?? {};
  const chosen = (await selectServices(deps, filter)).map((s): Omit<FleetEntry, 'verdict'> =>
    'error' in s
      ? { service: s.name, error: s.error }
      : {
          service: s.name,
          team: s.team,
          cluster: s.cluster,
          repos: {
            code: s.repo,
            branch: s.branch,
            pipeline: s.pipeline,
            manifests: { repo: s.manifests.repo, files: [...s.manifests.files, ...s.manifests.helmValues] },
          },
        },
  );
  let done = 0;
  const run = () =>
    mapBounded(chosen, opts.concurrency ?? DEFAULT_FLEET_CONCURRENCY, async (c): Promise<FleetEntry> => {
      let entry: FleetEntry;
      if (c.error) entry = { ...c, verdict: 'unknown' };
      else {
        try {
          const report = await checkService(deps, c.service);
          entry = { ...c, verdict: report.verdict, report };
        } catch (err) {
          if (!isUserError(err)) deps.logger.error({ err, service: c.service }, 'fleet check failed');
          entry = { ...c, verdict: 'unknown', error: isUserError(err) ? err.message : `the check failed: ${(err as Error).message}` };
        }
      }
      opts.onProgress?.(++done, chosen.length, c.service);
      return entry;
    });
  // Every service's check reads its cluster's nodes: one list per cluster serves the whole run.
  const entries = deps.kube ? await deps.kube.withNodesReadOnce(run) : await run();
  return { checkedAt: deps.clock.now().toISOString(), filter, entries, summary: summarize(entries) };
}

function countBy(entries: FleetEntry[], pick: (f: Finding) => boolean): FindingCount[] {
  const byId = new Map<string, FindingCount>();
  for (const e of entries) {
    for (const f of e.report?.findings ?? []) {
      if (!pick(f)) continue;
      const c = byId.get(f.id) ?? { id: f.id, title: f.title, services: [] };
      if (!c.services.includes(e.service)) c.services.push(e.service);
      byId.set(f.id, c);
    }
  }
  return [...byId.values()].sort((a, b) => b.services.length - a.services.length || a.id.localeCompare(b.id));
}

export function summarize(entries: FleetEntry[]): FleetSummary {
  const verdicts: Record<Verdict, number> = { ready: 0, 'needs-changes': 0, blocked: 0, unknown: 0 };
  for (const e of entries) verdicts[e.verdict]++;
  const prs = CHANGE_KINDS.map((kind) => ({
    kind,
    services: entries.filter((e) => e.report?.findings.some((f) => f.autofix?.kind === kind)).map((e) => e.service),
  })).filter((p) => p.services.length);
  const readyAfterPrs = entries
    .filter(
      (e) =>
        e.verdict === 'needs-changes' &&
        e.report!.findings.every((f) => (f.severity !== 'change' && f.severity !== 'blocker') || f.autofix),
    )
    .map((e) => e.service);
  const verdict = (['blocked', 'unknown', 'needs-changes'] as const).find((v) => verdicts[v] > 0) ?? 'ready';
  return {
    total: entries.length,
    verdict,
    verdicts,
    topBlockers: countBy(entries, (f) => f.severity === 'blocker'),
    topUnknowns: countBy(entries, (f) => f.severity === 'unknown'),
    prs,
    readyAfterPrs,
  };
}
