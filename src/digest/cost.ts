// What the amd64 capacity costs per month and what moving the ready workloads would save. Estimates
// from a price table (built-in on-demand list prices, overridable per instance type); nodes whose
// type has no price are counted and named, never priced at zero silently.
import { DEFAULT_ARM64_EQUIVALENTS, defaultPrices, type DigestConfig } from './config.ts';
import type { Inventory, Workload } from './inventory.ts';

export interface CostEstimate {
  currency: string;
  pricesAsOf: string;
  /** Monthly cost of the amd64 nodes that have a price. */
  amd64MonthlyCost: number;
  arm64MonthlyCost: number;
  /** Monthly saving if every ready-to-move workload ran on the arm64 equivalent of its node type. */
  readySaving: number;
  /** Instance types of nodes with no price (their cost is missing from the totals). */
  unpricedNodes: { instanceType: string; nodes: number }[];
}

export class PriceTable {
  private readonly prices: Record<string, number>;
  private readonly equivalents: Record<string, string>;

  constructor(private readonly config: Pick<DigestConfig, 'prices' | 'arm64Equivalents' | 'hoursPerMonth'>) {
    this.prices = { ...defaultPrices(), ...config.prices };
    this.equivalents = { ...DEFAULT_ARM64_EQUIVALENTS, ...config.arm64Equivalents };
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

export function estimateCost(inv: Inventory, prices: PriceTable, config: Pick<DigestConfig, 'currency' | 'pricesAsOf'>): CostEstimate {
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
    for (const w of c.workloads) if (w.status === 'ready') saving += prices.workload(w).saving;
  }
  return {
    currency: config.currency,
    pricesAsOf: config.pricesAsOf,
    amd64MonthlyCost: amd64,
    arm64MonthlyCost: arm64,
    readySaving: saving,
    unpricedNodes: [...unpriced].map(([instanceType, nodes]) => ({ instanceType, nodes })).sort((a, b) => b.nodes - a.nodes),
  };
}
