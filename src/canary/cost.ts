// What a canary measured the move to cost, per architecture: the CPU one unit of work takes (an HTTP
// request, or a consumed message for a replica-stepped consumer), p99 latency, and the price of the nodes
// that side's pods ran on. Sampled while the canary runs and recorded when it ends, so the digest can put
// measured savings beside its list-price estimates.
import type { V1Node } from '@kubernetes/client-node';
import type { KubeCluster } from '../adapters/kubernetes.ts';
import type { Store } from '../adapters/store.ts';
import { upgradeMeasurement, type Measurement } from './analysis.ts';
import type { CanaryTarget } from './target.ts';

const INSTANCE_TYPE_LABELS = ['node.kubernetes.io/instance-type', 'beta.kubernetes.io/instance-type'];

/** The nodes one side's pods ran on, by instance type, with the hourly price of that type (when the price table has it). */
export interface NodeSample {
  at: string;
  types: Record<string, { pods: number; vcpus: number; hourlyPrice?: number }>;
}

export interface MeasuredSide {
  cpuMsPerUnit?: number;
  p99Ms?: number;
  nodes?: NodeSample;
}

/** A finished canary's measurement: the same load priced on each side. */
export interface CanaryMeasurement {
  at: string;
  result: 'promoted' | 'rolled-back';
  unit: 'request' | 'message';
  /** Units of work per second over both sides, at the last check that measured both. */
  unitsPerSecond?: number;
  amd64: MeasuredSide;
  arm64: MeasuredSide;
}

/** Hourly list price of an instance type (the digest's price table), or undefined. */
export type HourlyPrice = (instanceType: string) => number | undefined;

/** Allocatable (else capacity) CPU of a node, in cores. */
function vcpusOf(n: V1Node): number {
  const q = String(n.status?.allocatable?.cpu ?? n.status?.capacity?.cpu ?? '0');
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}

/**
 * The instance types a Deployment's running pods are on. Pods are matched by name (`<deployment>-<hash>-<id>`,
 * as the CPU query does), so the arm64 copy's pods never count for the amd64 Deployment. Undefined when no
 * pod of it runs.
 */
export async function sampleNodes(
  cluster: KubeCluster,
  namespace: string,
  deployment: string,
  price: HourlyPrice,
  at: Date,
): Promise<NodeSample | undefined> {
  const own = new RegExp(`^${deployment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[a-z0-9]+-[a-z0-9]+$`);
  const pods = (await cluster.listPods({ namespace })).filter(
    (p) => own.test(p.metadata?.name ?? '') && p.status?.phase === 'Running' && p.spec?.nodeName,
  );
  if (pods.length === 0) return undefined;
  const nodes = new Map((await cluster.listNodes()).map((n) => [n.metadata?.name ?? '', n]));
  const types: NodeSample['types'] = {};
  for (const p of pods) {
    const node = nodes.get(p.spec!.nodeName!);
    const type = INSTANCE_TYPE_LABELS.map((l) => node?.metadata?.labels?.[l]).find(Boolean) ?? '(no instance-type label)';
    const entry = (types[type] ??= {
      pods: 0,
      vcpus: node ? vcpusOf(node) : 0,
      ...(price(type) !== undefined ? { hourlyPrice: price(type) } : {}),
    });
    entry.pods++;
  }
  return { at: at.toISOString(), types };
}

/** The pod-weighted price of one vCPU-hour on a side's nodes; undefined when any of its types has no price or no CPU. */
export function pricePerVcpuHour(s: NodeSample | undefined): number | undefined {
  if (!s) return undefined;
  let pods = 0;
  let sum = 0;
  for (const t of Object.values(s.types)) {
    if (t.hourlyPrice === undefined || t.vcpus <= 0) return undefined;
    pods += t.pods;
    sum += t.pods * (t.hourlyPrice / t.vcpus);
  }
  return pods ? sum / pods : undefined;
}

/** The measurements finished canaries recorded, by service (store section `canaries`, read only). */
export function recordedMeasurements(store: Pick<Store, 'section'>): Record<string, CanaryMeasurement> {
  const out: Record<string, CanaryMeasurement> = {};
  for (const [service, r] of Object.entries(
    store.section<Record<string, { measured?: CanaryMeasurement }>>('canaries', () => ({})).get(),
  )) {
    if (r?.measured) out[service] = r.measured;
  }
  return out;
}

/**
 * The measurement of a canary that is ending: CPU per unit and p99 from the last check that measured arm64's
 * CPU (amd64 from the same check, or its last measurement with traffic), the load of both sides at that
 * check, and the sampled nodes. Undefined when no check measured arm64's CPU.
 */
/** What measurementOf reads of a canary record (src/canary/controller.ts). */
export interface MeasuredCanary {
  target: Pick<CanaryTarget, 'mode'>;
  checks: Array<{ amd64: Measurement; arm64: Measurement; storedBaseline: boolean }>;
  baseline?: Measurement;
  nodes?: { amd64?: NodeSample; arm64?: NodeSample };
  weight: number;
}

export function measurementOf(r: MeasuredCanary, now: Date): CanaryMeasurement | undefined {
  const unit = r.target.mode === 'replicas' ? 'message' : 'request';
  const cpu = unit === 'message' ? 'CPU per message' : 'CPU per request';
  const last = [...r.checks].reverse().find((c) => upgradeMeasurement(c.arm64)?.values[cpu] !== undefined);
  if (!last) return undefined;
  const arm = upgradeMeasurement(last.arm64)!;
  const amd = upgradeMeasurement(last.storedBaseline ? r.baseline : last.amd64);
  const rates = [arm.requestRate, last.storedBaseline ? 0 : amd?.requestRate];
  const side = (m: typeof arm | undefined, nodes: NodeSample | undefined): MeasuredSide => ({
    ...(m?.values[cpu] !== undefined ? { cpuMsPerUnit: m.values[cpu] } : {}),
    ...(m?.values['p99 latency'] !== undefined ? { p99Ms: m.values['p99 latency'] } : {}),
    ...(nodes ? { nodes } : {}),
  });
  return {
    at: now.toISOString(),
    result: r.weight === 100 ? 'promoted' : 'rolled-back',
    unit,
    ...(rates.every((x) => x !== undefined) ? { unitsPerSecond: rates[0]! + rates[1]! } : {}),
    amd64: side(amd, r.nodes?.amd64),
    arm64: side(arm, r.nodes?.arm64),
  };
}
