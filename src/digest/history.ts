// Daily points per cluster in the store (section `history`): totals for the trend and the burn-down,
// and the arch of every workload for the latest two days, enough to say what moved since yesterday
// and what went back. Bounded: `historyDays` points plus two maps per cluster, whatever the age.
import type { Section, Store } from '../adapters/store.ts';
import { UNSCHEDULED, workloadKey, type Inventory, type Workload, type WorkloadStatus } from './inventory.ts';

export const HISTORY_SECTION = 'history';

export interface Totals {
  workloads: Record<WorkloadStatus, number> & { total: number };
  pods: { total: number; arm64: number };
  cpuMillis: { total: number; arm64: number };
}

export interface HistoryPoint extends Totals {
  day: string;
  amd64MonthlyCost?: number;
}

/** a: all pods on arm64, m: some, x: none, -: no pod scheduled. */
export type ArchCode = 'a' | 'm' | 'x' | '-';

interface ArchMap {
  day: string;
  arch: Record<string, ArchCode>;
}

interface ClusterHistory {
  points: HistoryPoint[];
  latest?: ArchMap;
  previous?: ArchMap;
}

export interface HistoryData {
  version: 1;
  clusters: Record<string, ClusterHistory>;
}

export interface Changes {
  /** Workloads now fully on arm64 that were not yesterday. */
  migrated: string[];
  /** Workloads that went back towards amd64 (arm64 → mixed/amd64, mixed → amd64). */
  regressed: string[];
  /** The day compared against, when there is one. */
  since?: string;
}

export interface Trend {
  /** Share of workloads, pods and CPU on arm64 at the reference day, by label. */
  yesterday?: Shares & { day: string };
  week?: Shares & { day: string };
  month?: Shares & { day: string };
}

export interface Shares {
  workloads: number;
  pods: number;
  cpu: number;
}

export function emptyTotals(): Totals {
  return {
    workloads: { total: 0, arm64: 0, mixed: 0, ready: 0, blocked: 0, unknown: 0 },
    pods: { total: 0, arm64: 0 },
    cpuMillis: { total: 0, arm64: 0 },
  };
}

export function addTotals(into: Totals, t: Totals): Totals {
  for (const k of Object.keys(into.workloads) as (keyof Totals['workloads'])[]) into.workloads[k] += t.workloads[k];
  into.pods.total += t.pods.total;
  into.pods.arm64 += t.pods.arm64;
  into.cpuMillis.total += t.cpuMillis.total;
  into.cpuMillis.arm64 += t.cpuMillis.arm64;
  return into;
}

export function totalsOf(workloads: Workload[]): Totals {
  const t = emptyTotals();
  for (const w of workloads) {
    t.workloads.total++;
    t.workloads[w.status]++;
    t.pods.total += w.pods;
    t.pods.arm64 += w.podsByArch.arm64 ?? 0;
    for (const [arch, cpu] of Object.entries(w.cpuMillisByArch)) {
      t.cpuMillis.total += cpu;
      if (arch === 'arm64') t.cpuMillis.arm64 += cpu;
    }
  }
  return t;
}

export function sharesOf(t: Totals): Shares {
  const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
  return {
    workloads: ratio(t.workloads.arm64, t.workloads.total),
    pods: ratio(t.pods.arm64, t.pods.total),
    cpu: ratio(t.cpuMillis.arm64, t.cpuMillis.total),
  };
}

export function archCode(w: Pick<Workload, 'podsByArch'>): ArchCode {
  let arm = 0;
  let other = 0;
  for (const [arch, n] of Object.entries(w.podsByArch)) {
    if (arch === 'arm64') arm += n;
    else if (arch !== UNSCHEDULED) other += n;
  }
  return arm === 0 ? (other === 0 ? '-' : 'x') : other === 0 ? 'a' : 'm';
}

/** YYYY-MM-DD of `date` in `timeZone`: a day is the team's day, not UTC's. */
export function dayOf(date: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(date);
}

function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

export class History {
  private readonly section: Section<HistoryData>;

  constructor(
    store: Store,
    private readonly maxDays: number,
  ) {
    this.section = store.section<HistoryData>(HISTORY_SECTION, () => ({ version: 1, clusters: {} }));
  }

  /**
   * Records today's point for every cluster that answered (an unreachable one keeps its past and gets
   * no point: a gap, not a zero) and returns what changed per cluster since the previous day.
   */
  async record(inv: Inventory, day: string, costs: Record<string, number | undefined> = {}): Promise<Record<string, Changes>> {
    return this.section.update((data) => {
      const changes: Record<string, Changes> = {};
      for (const c of inv.clusters) {
        if (!c.ok) continue;
        const h = (data.clusters[c.cluster] ??= { points: [] });
        const point: HistoryPoint = { day, ...totalsOf(c.workloads) };
        if (costs[c.cluster] !== undefined) point.amd64MonthlyCost = Math.round(costs[c.cluster]! * 100) / 100;
        h.points = [...h.points.filter((p) => p.day !== day), point].sort((a, b) => (a.day < b.day ? -1 : 1)).slice(-this.maxDays);
        const arch: Record<string, ArchCode> = {};
        for (const w of c.workloads) arch[workloadKey(w)] = archCode(w);
        // A second run on the same day replaces today's map and still compares with yesterday's.
        if (h.latest && h.latest.day !== day && h.latest.day < day) h.previous = h.latest;
        h.latest = { day, arch };
        changes[c.cluster] = compare(h.previous, h.latest);
      }
      return changes;
    });
  }

  /** Daily points of the given clusters summed per day (days where any of them is missing are skipped). */
  series(clusters: string[], days: number): HistoryPoint[] {
    const data = this.section.get();
    const byDay = new Map<string, { point: HistoryPoint; seen: number }>();
    for (const name of clusters) {
      for (const p of data.clusters[name]?.points ?? []) {
        const e = byDay.get(p.day) ?? { point: { day: p.day, ...emptyTotals(), amd64MonthlyCost: 0 }, seen: 0 };
        addTotals(e.point, p);
        e.point.amd64MonthlyCost! += p.amd64MonthlyCost ?? 0;
        e.seen++;
        byDay.set(p.day, e);
      }
    }
    return [...byDay.values()]
      .filter((e) => e.seen === clusters.length)
      .map((e) => e.point)
      .sort((a, b) => (a.day < b.day ? -1 : 1))
      .slice(-days);
  }

  /** Shares yesterday, a week and a month before `day` (the latest point on or before each). */
  trend(clusters: string[], day: string): Trend {
    const points = this.series(clusters, this.maxDays).filter((p) => p.day < day);
    const at = (limit: string) => {
      const p = points.filter((q) => q.day <= limit).at(-1);
      return p ? { day: p.day, ...sharesOf(p) } : undefined;
    };
    return { yesterday: at(addDays(day, -1)), week: at(addDays(day, -7)), month: at(addDays(day, -30)) };
  }
}

function compare(previous: ArchMap | undefined, latest: ArchMap): Changes {
  if (!previous) return { migrated: [], regressed: [] };
  const migrated: string[] = [];
  const regressed: string[] = [];
  for (const [key, now] of Object.entries(latest.arch)) {
    const before = previous.arch[key];
    if (before === undefined) continue;
    if (now === 'a' && before !== 'a' && before !== '-') migrated.push(key);
    else if ((before === 'a' && (now === 'm' || now === 'x')) || (before === 'm' && now === 'x')) regressed.push(key);
  }
  return { migrated: migrated.sort(), regressed: regressed.sort(), since: previous.day };
}
