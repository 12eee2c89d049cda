// What a canary check measures, per architecture, from Istio's standard metrics and cAdvisor's CPU
// counter, and how a measurement is judged against absolute and amd64-relative thresholds. "No data"
// (no traffic, missing series, Prometheus down) is its own outcome, never a pass and never a failure.
import { PrometheusError, type Prometheus } from '../adapters/prometheus.ts';
import type { CanaryThresholds } from './config.ts';

export interface Workload {
  namespace: string;
  /** The Deployment name, which Istio reports as `destination_workload`. */
  deployment: string;
}

export interface Measurement {
  /** Requests per second over the window; undefined = no series at all. */
  requestRate?: number;
  /** Non-5xx share, percent. */
  successRate?: number;
  p99Ms?: number;
  /** CPU milliseconds spent per request (all containers of the Deployment's pods). */
  cpuMsPerRequest?: number;
  /** Why one or more numbers are missing, in words that point at a fix. */
  noData: string[];
}

export type Verdict = 'pass' | 'fail' | 'no-data';

export interface CheckLine {
  metric: 'success rate' | 'p99 latency' | 'CPU per request';
  ok: boolean;
  text: string;
}

export interface CheckResult {
  verdict: Verdict;
  lines: CheckLine[];
  /** Set when verdict is no-data. */
  noData: string[];
}

function sel(w: Workload, extra = ''): string {
  return `reporter="destination",destination_workload_namespace="${w.namespace}",destination_workload="${w.deployment}"${extra}`;
}

/** RE2 escape for a literal inside `=~`. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
}

/** The PromQL the analysis runs, exposed so `status --queries` and tests can show it verbatim. */
export const queries = {
  requestRate: (w: Workload, win: string) => `sum(rate(istio_requests_total{${sel(w)}}[${win}]))`,
  // 5xx share with `or vector(0)`: Flagger's non-5xx numerator vanishes when every response is a 5xx
  // (so a total outage read as "no data"); here only a missing denominator (no traffic) does.
  successRate: (w: Workload, win: string) =>
    `100 * (1 - ((sum(rate(istio_requests_total{${sel(w, ',response_code=~"5.."')}}[${win}])) or on() vector(0)) / sum(rate(istio_requests_total{${sel(w)}}[${win}]))))`,
  p99Ms: (w: Workload, win: string) =>
    `histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{${sel(w)}}[${win}])))`,
  // Pods of Deployment X are X-<replicaset hash>-<suffix>; the anchored regex keeps X-arm64's pods out of X's.
  cpuMsPerRequest: (w: Workload, win: string) =>
    `1000 * sum(rate(container_cpu_usage_seconds_total{namespace="${w.namespace}",pod=~"${literal(w.deployment)}-[a-z0-9]+-[a-z0-9]+",container!="",container!="POD"}[${win}])) / sum(rate(istio_requests_total{${sel(w)}}[${win}]))`,
};

/** Measures one workload at `time`. Prometheus errors become no-data reasons, not exceptions. */
export interface MeasureOptions {
  window: string;
  minRequestRate: number;
  /** False when no CPU threshold is set: CPU is then shown when present but its absence is no gap. */
  needCpu: boolean;
}

export async function measure(prom: Prometheus, w: Workload, time: Date, o: MeasureOptions): Promise<Measurement> {
  const { window, minRequestRate } = o;
  const m: Measurement = { noData: [] };
  const name = `${w.namespace}/${w.deployment}`;
  try {
    const [rate, success, p99, cpu] = await Promise.all([
      prom.value(queries.requestRate(w, window), time),
      prom.value(queries.successRate(w, window), time),
      prom.value(queries.p99Ms(w, window), time),
      prom.value(queries.cpuMsPerRequest(w, window), time),
    ]);
    m.requestRate = rate;
    if (rate === undefined) {
      m.noData.push(`no istio_requests_total{reporter="destination"} series for workload ${name}: is it receiving traffic, and is the sidecar's destination reporter scraped?`);
      return m;
    }
    if (rate < minRequestRate) {
      m.noData.push(`${name} served ${rate.toFixed(3)} req/s over the last ${window}, below the ${minRequestRate} req/s needed for a verdict`);
      return m;
    }
    m.successRate = success;
    m.p99Ms = p99;
    m.cpuMsPerRequest = cpu;
    if (p99 === undefined) m.noData.push(`no istio_request_duration_milliseconds_bucket series for ${name} (histogram disabled in Istio telemetry?)`);
    if (cpu === undefined && o.needCpu) m.noData.push(`no container_cpu_usage_seconds_total for pods ${w.deployment}-* in ${w.namespace} (is cAdvisor / the kubelet scraped?)`);
  } catch (err) {
    if (!(err instanceof PrometheusError)) throw err;
    m.noData.push(err.message);
  }
  return m;
}

const pct = (v: number) => `${v.toFixed(2)}%`;
const ms = (v: number) => `${v.toFixed(0)} ms`;
const cpu = (v: number) => `${v.toFixed(2)} CPU ms/req`;

/**
 * Judges arm64 against the thresholds. `baseline` is amd64's measurement: the current one, or the last
 * good one when amd64 no longer gets traffic (at 100% arm64).
 */
export function evaluate(arm64: Measurement, baseline: Measurement | undefined, t: CanaryThresholds): CheckResult {
  const noData = [...arm64.noData];
  const lines: CheckLine[] = [];
  const needBaseline = (what: string) => noData.push(`no amd64 baseline for ${what}: ${baseline?.noData.join('; ') || 'amd64 has not been measured yet'}`);

  if (arm64.successRate !== undefined) {
    const v = arm64.successRate;
    lines.push({ metric: 'success rate', ok: v >= t.minSuccessRate, text: `arm64 ${pct(v)} ${v >= t.minSuccessRate ? '≥' : '<'} ${pct(t.minSuccessRate)}` });
    if (baseline?.successRate !== undefined) {
      const drop = baseline.successRate - v;
      lines.push({ metric: 'success rate', ok: drop <= t.maxSuccessRateDrop, text: `arm64 ${drop > 0 ? `${drop.toFixed(2)} points below` : 'not below'} amd64 ${pct(baseline.successRate)} (max drop ${t.maxSuccessRateDrop})` });
    } else needBaseline('success rate');
  }
  if (arm64.p99Ms !== undefined) {
    const v = arm64.p99Ms;
    lines.push({ metric: 'p99 latency', ok: v <= t.maxP99Ms, text: `arm64 p99 ${ms(v)} ${v <= t.maxP99Ms ? '≤' : '>'} ${ms(t.maxP99Ms)}` });
    if (baseline?.p99Ms !== undefined) {
      const ratio = v / baseline.p99Ms;
      lines.push({ metric: 'p99 latency', ok: ratio <= t.maxP99Ratio, text: `arm64 p99 is ${ratio.toFixed(2)}× amd64's ${ms(baseline.p99Ms)} (max ${t.maxP99Ratio}×)` });
    } else needBaseline('p99 latency');
  }
  if (arm64.cpuMsPerRequest !== undefined) {
    const v = arm64.cpuMsPerRequest;
    if (t.maxCpuMsPerRequest !== undefined) {
      lines.push({ metric: 'CPU per request', ok: v <= t.maxCpuMsPerRequest, text: `arm64 ${cpu(v)} ${v <= t.maxCpuMsPerRequest ? '≤' : '>'} ${cpu(t.maxCpuMsPerRequest)}` });
    }
    if (t.maxCpuRatio !== null) {
      if (baseline?.cpuMsPerRequest !== undefined) {
        const ratio = v / baseline.cpuMsPerRequest;
        lines.push({ metric: 'CPU per request', ok: ratio <= t.maxCpuRatio, text: `arm64 uses ${ratio.toFixed(2)}× amd64's ${cpu(baseline.cpuMsPerRequest)} (max ${t.maxCpuRatio}×)` });
      } else needBaseline('CPU per request');
    }
  }
  const failed = lines.some((l) => !l.ok);
  return { verdict: failed ? 'fail' : noData.length ? 'no-data' : 'pass', lines, noData: failed ? [] : noData };
}

/** "arm64 needs 0.62× the CPU per request" — the number that says whether the move pays. */
export function cpuSaving(amd64: Measurement | undefined, arm64: Measurement): string | undefined {
  if (amd64?.cpuMsPerRequest === undefined || arm64.cpuMsPerRequest === undefined || amd64.cpuMsPerRequest === 0) return undefined;
  const ratio = arm64.cpuMsPerRequest / amd64.cpuMsPerRequest;
  return ratio <= 1 ? `arm64 needs ${Math.round((1 - ratio) * 100)}% less CPU per request` : `arm64 needs ${Math.round((ratio - 1) * 100)}% more CPU per request`;
}
