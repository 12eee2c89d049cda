// What the amd64 capacity costs per month and what moving the ready workloads would save. Estimates
// from a price table (built-in on-demand list prices, overridable per instance type); nodes whose
// type has no price are counted and named, never priced at zero silently. Services a canary measured
// are priced from the measurement instead (CPU used per unit of work on each side, times the price of
// that side's nodes), and kept apart from the estimates.
import { pricePerVcpuHour, type CanaryMeasurement } from '../canary/cost.ts';
import { DEFAULT_ARM64_EQUIVALENTS, defaultPrices, type DigestConfig } from './config.ts';
import type { Inventory, Workload } from './inventory.ts';

export interface CostEstimate {
  currency: string;
  pricesAsOf: string;
  /** Monthly cost of the amd64 nodes that have a price. */
  amd64MonthlyCost: number;
  arm64MonthlyCost: number;
  /** Monthly saving (estimated) if every ready-to-move workload without a measurement ran on the arm64 equivalent of its node type. */
  readySaving: number;
  /** What finished canaries measured, per service (promoted first, then by saving). */
  measured: MeasuredSaving[];
  /** The measured monthly saving of the promoted services that could be priced (negative: arm64 costs more). */
  measuredSaving: number;
  /** Instance types of nodes with no price (their cost is missing from the totals). */
  unpricedNodes: { instanceType: string; nodes: number }[];
}

/** One service as its canary measured it. */
export interface MeasuredSaving {
  service: string;
  result: 'promoted' | 'rolled-back';
  unit: 'request' | 'message';
  at: string;
  cpuMsPerUnit: { amd64?: number; arm64?: number };
  p99Ms: { amd64?: number; arm64?: number };
  /** arm64's CPU per unit over amd64's (0.6: arm64 needs 40 % less). */
  cpuRatio?: number;
  /** The measured load priced on each side's nodes per month, and the difference (negative: arm64 costs more). */
  monthly?: { amd64: number; arm64: number; saving: number };
  /** What kept the measurement from being priced. */
  missing: Array<'throughput' | 'amd64 CPU' | 'arm64 CPU' | 'amd64 node price' | 'arm64 node price'>;
  /** arm64 measured worse: it costs more, or (unpriced) needs more CPU per unit. */
  worse: boolean;
}

/** Prices each recorded measurement: CPU cores the load keeps busy on a side × that side's price per vCPU-hour. */
export function measuredSavings(measurements: Record<string, CanaryMeasurement>, hoursPerMonth: number): MeasuredSaving[] {
  const out: MeasuredSaving[] = [];
  for (const [service, m] of Object.entries(measurements)) {
    const cpu = { amd64: m.amd64.cpuMsPerUnit, arm64: m.arm64.cpuMsPerUnit };
    const price = { amd64: pricePerVcpuHour(m.amd64.nodes), arm64: pricePerVcpuHour(m.arm64.nodes) };
    const missing: MeasuredSaving['missing'] = [];
    if (m.unitsPerSecond === undefined) missing.push('throughput');
    for (const arch of ['amd64', 'arm64'] as const) {
      if (cpu[arch] === undefined) missing.push(`${arch} CPU`);
      if (price[arch] === undefined) missing.push(`${arch} node price`);
    }
    const cpuRatio = cpu.amd64 && cpu.arm64 !== undefined ? cpu.arm64 / cpu.amd64 : undefined;
    let monthly: MeasuredSaving['monthly'];
    if (missing.length === 0) {
      const cost = (arch: 'amd64' | 'arm64') => (cpu[arch]! / 1000) * m.unitsPerSecond! * price[arch]! * hoursPerMonth;
      monthly = { amd64: cost('amd64'), arm64: cost('arm64'), saving: cost('amd64') - cost('arm64') };
    }
    out.push({
      service,
      result: m.result,
      unit: m.unit,
      at: m.at,
      cpuMsPerUnit: cpu,
      p99Ms: { amd64: m.amd64.p99Ms, arm64: m.arm64.p99Ms },
      ...(cpuRatio !== undefined ? { cpuRatio } : {}),
      ...(monthly ? { monthly } : {}),
      missing,
      worse: monthly ? monthly.saving < 0 : cpuRatio !== undefined && cpuRatio > 1,
    });
  }
  return out.sort(
    (a, b) =>
      Number(a.result !== 'promoted') - Number(b.result !== 'promoted') ||
      (b.monthly?.saving ?? -Infinity) - (a.monthly?.saving ?? -Infinity) ||
      (a.service < b.service ? -1 : 1),
  );
}

export class PriceTable {
  private readonly prices: Record<string, number>;
  private readonly equivalents: Record<string, string>;

  constructor(private readonly config: Pick<DigestConfig, 'prices' | 'arm64Equivalents' | 'hoursPerMonth'>) {
    this.prices = { ...defaultPrices(), ...config.prices };
    this.equivalents = { ...DEFAULT_ARM64_EQUIVALENTS, ...config.arm64Equivalents };
  }

  hourly(instanceType: string): number | undefined {
    return this.prices[instanceType];
  }

  monthly(instanceType: string | undefined): number | undefined {
    const hourly = instanceType ? this.prices[instanceType] : undefined;
    return hourly === undefined ? undefined : hourly * this.config.hoursPerMonth;
  }

  /** `m6i.2xlarge` → `m7g.2xlarge` when the family has an arm64 equivalent with a price. */
  arm64Equivalent(instanceType: string): string | undefined {
    const [family, size] = instanceType.split('.');
    const arm = this.equivalents[family];
    const type = arm && size ? `${arm}.${size}` : undefined;
    return type && this.prices[type] !== undefined ? type : undefined;
  }

  /** Monthly cost of a workload's share of amd64 nodes, and the saving on the arm64 equivalent. */
  workload(w: Pick<Workload, 'amd64NodeShare'>): { monthly: number; saving: number } {
    let monthly = 0;
    let saving = 0;
    for (const [type, share] of Object.entries(w.amd64NodeShare)) {
      const now = this.monthly(type);
      if (now === undefined) continue;
      monthly += share * now;
      const arm = this.arm64Equivalent(type);
      if (arm) saving += share * (now - this.monthly(arm)!);
    }
    return { monthly, saving };
  }
}

/**
 * The estimates, and the measurements beside them: a ready workload of a service whose canary measured
 * a price is left out of the estimated saving (the measurement stands for it).
 */
export function estimateCost(
  inv: Inventory,
  prices: PriceTable,
  config: Pick<DigestConfig, 'currency' | 'pricesAsOf' | 'hoursPerMonth'>,
  measurements: Record<string, CanaryMeasurement> = {},
): CostEstimate {
  const measured = measuredSavings(measurements, config.hoursPerMonth);
  const priced = new Set(measured.filter((m) => m.monthly).map((m) => m.service));
  let amd64 = 0;
  let arm64 = 0;
  let saving = 0;
  const unpriced = new Map<string, number>();
  for (const c of inv.clusters) {
    if (!c.ok) continue;
    for (const n of c.nodes) {
      const m = prices.monthly(n.instanceType);
      if (m === undefined) {
        const t = n.instanceType ?? '(no instance-type label)';
        unpriced.set(t, (unpriced.get(t) ?? 0) + 1);
      } else if (n.arch === 'arm64') arm64 += m;
      else if (n.arch === 'amd64') amd64 += m;
    }
    for (const w of c.workloads) if (w.status === 'ready' && !(w.service && priced.has(w.service))) saving += prices.workload(w).saving;
  }
  return {
    currency: config.currency,
    pricesAsOf: config.pricesAsOf,
    amd64MonthlyCost: amd64,
    arm64MonthlyCost: arm64,
    readySaving: saving,
    measured,
    measuredSaving: measured.reduce((sum, m) => sum + (m.result === 'promoted' && m.monthly ? m.monthly.saving : 0), 0),
    unpricedNodes: [...unpriced].map(([instanceType, nodes]) => ({ instanceType, nodes })).sort((a, b) => b.nodes - a.nodes),
  };
}
