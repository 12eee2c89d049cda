// What an Istio canary check measures, per architecture: the request rate that says whether a side has
// traffic enough for a verdict, then every metric template (the built-in success rate, p99 and CPU per
// request from Istio's standard metrics and cAdvisor, and the service's business metrics), judged by
// src/canary/metrics.ts. "No data" (no traffic, missing series, Prometheus down) is its own outcome,
// never a pass and never a failure.
import { PrometheusError, type Prometheus } from '../adapters/prometheus.ts';
import type { CanaryConfig, CanaryThresholds } from './config.ts';
import { consumerTemplates, THROUGHPUT } from './consumer-metrics.ts';
import {
  judge,
  readMetrics,
  resolveTemplates,
  type CheckLine,
  type Judgement,
  type MetricTemplate,
  type ServiceMetricConfig,
  type SideReading,
  type TemplateVars,
  type Verdict,
} from './metrics.ts';

export type { CheckLine, Verdict };

export interface Workload {
  namespace: string;
  /** The Deployment name, which Istio reports as `destination_workload`. */
  deployment: string;
  service: string;
  arch: 'amd64' | 'arm64';
}

export interface Measurement extends SideReading {
  /** Requests per second over the window; undefined = no series at all. */
  requestRate?: number;
}

export type CheckResult = Judgement;

/** The three built-in metrics, from Istio's standard metrics and cAdvisor, with the canary thresholds. */
export const BUILTIN_QUERIES = {
  // 5xx share with `or vector(0)`: Flagger's non-5xx numerator vanishes when every response is a 5xx
  // (so a total outage read as "no data"); here only a missing denominator (no traffic) does.
  'success rate':
    '100 * (1 - ((sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="{{namespace}}",destination_workload="{{workload}}",response_code=~"5.."}[{{interval}}])) or on() vector(0)) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="{{namespace}}",destination_workload="{{workload}}"}[{{interval}}]))))',
  'p99 latency':
    'histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="{{namespace}}",destination_workload="{{workload}}"}[{{interval}}])))',
  // Pods of Deployment X are X-<replicaset hash>-<suffix>; the anchored regex keeps X-arm64's pods out of X's.
  'CPU per request':
    '1000 * sum(rate(container_cpu_usage_seconds_total{namespace="{{namespace}}",pod=~"{{workload|regex}}-[a-z0-9]+-[a-z0-9]+",container!="",container!="POD"}[{{interval}}])) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="{{namespace}}",destination_workload="{{workload}}"}[{{interval}}]))',
} as const;
export type BuiltinMetric = keyof typeof BUILTIN_QUERIES;

export function builtinTemplates(t: CanaryThresholds): MetricTemplate[] {
  return [
    {
      name: 'success rate',
      query: BUILTIN_QUERIES['success rate'],
      better: 'higher',
      unit: '%',
      min: t.minSuccessRate,
      difference: t.maxSuccessRateDrop,
    },
    {
      name: 'p99 latency',
      query: BUILTIN_QUERIES['p99 latency'],
      better: 'lower',
      unit: 'ms',
      max: t.maxP99Ms,
      ratio: t.maxP99Ratio,
      hint: 'histogram disabled in Istio telemetry?',
    },
    {
      name: 'CPU per request',
      query: BUILTIN_QUERIES['CPU per request'],
      better: 'lower',
      unit: 'ms',
      hint: 'is cAdvisor / the kubelet scraped?',
      ...(t.maxCpuMsPerRequest !== undefined ? { max: t.maxCpuMsPerRequest } : {}),
      ...(t.maxCpuRatio !== null ? { ratio: t.maxCpuRatio } : {}),
    },
  ];
}

/** Records written before templates kept the three built-in numbers as fields: read them as values. */
export function upgradeMeasurement(m: Measurement | undefined): Measurement | undefined {
  if (!m || m.values) return m;
  const legacy = m as Measurement & { successRate?: number; p99Ms?: number; cpuMsPerRequest?: number };
  const values: Record<string, number> = {};
  for (const [name, v] of [
    ['success rate', legacy.successRate],
    ['p99 latency', legacy.p99Ms],
    ['CPU per request', legacy.cpuMsPerRequest],
  ] as const)
    if (v !== undefined) values[name] = v;
  return { ...m, values };
}

/**
 * The templates a service's canary is judged by (built-ins, `canary.metrics`, the catalog entry's
 * `metrics`); a replica-stepped canary's built-ins are the consumer ones (src/canary/consumer-metrics.ts).
 */
export function templatesFor(
  config: Pick<CanaryConfig, 'thresholds' | 'metrics'>,
  service?: Record<string, ServiceMetricConfig>,
  mode: 'istio' | 'replicas' = 'istio',
): MetricTemplate[] {
  return resolveTemplates(
    mode === 'replicas' ? consumerTemplates(config.thresholds) : builtinTemplates(config.thresholds),
    config.metrics,
    service,
  );
}

/** The PromQL the traffic gate runs, exposed so tests can show it verbatim. */
export const requestRateQuery = (w: Pick<Workload, 'namespace' | 'deployment'>, win: string) =>
  `sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="${w.namespace}",destination_workload="${w.deployment}"}[${win}]))`;

export function varsOf(w: Workload, window: string): TemplateVars {
  return { namespace: w.namespace, service: w.service, workload: w.deployment, arch: w.arch, interval: window };
}

export interface MeasureOptions {
  window: string;
  minRequestRate: number;
  templates: MetricTemplate[];
}

/** Measures one workload at `time`: the traffic gate, then every template. Prometheus errors become no-data reasons. */
export async function measure(prom: Prometheus, w: Workload, time: Date, o: MeasureOptions): Promise<Measurement> {
  const { window, minRequestRate } = o;
  const name = `${w.namespace}/${w.deployment}`;
  let rate: number | undefined;
  try {
    rate = await prom.value(requestRateQuery(w, window), time);
  } catch (err) {
    if (!(err instanceof PrometheusError)) throw err;
    return { values: {}, noData: [err.message] };
  }
  if (rate === undefined) {
    return {
      values: {},
      noData: [
        `no istio_requests_total{reporter="destination"} series for workload ${name}: is it receiving traffic, and is the sidecar's destination reporter scraped?`,
      ],
    };
  }
  if (rate < minRequestRate) {
    return {
      requestRate: rate,
      values: {},
      noData: [`${name} served ${rate.toFixed(3)} req/s over the last ${window}, below the ${minRequestRate} req/s needed for a verdict`],
    };
  }
  return { requestRate: rate, ...(await readMetrics(prom, o.templates, varsOf(w, window), time)) };
}

/**
 * Measures one side of a replica canary: every template, with the throughput as the side's rate. A
 * side without consumers has no series, which is "no data" for each judged metric, never a pass.
 */
export async function measureConsumers(
  prom: Prometheus,
  w: Workload,
  time: Date,
  o: { window: string; templates: MetricTemplate[] },
): Promise<Measurement> {
  const reading = await readMetrics(prom, o.templates, varsOf(w, o.window), time);
  const rate = reading.values[THROUGHPUT];
  return { ...(rate !== undefined ? { requestRate: rate } : {}), ...reading };
}

/**
 * Judges arm64 against the templates. `baseline` is amd64's measurement: the current one, or the last
 * good one when amd64 no longer gets traffic (at 100% arm64).
 */
export function evaluate(arm64: Measurement, baseline: Measurement | undefined, templates: MetricTemplate[]): CheckResult {
  return judge(templates, arm64, baseline);
}

/** arm64's CPU per request as a share of amd64's (0.62 = 38 % less): the number that says whether the move pays. */
export function cpuRatio(amd64: Measurement | undefined, arm64: Measurement): number | undefined {
  const a = amd64?.values['CPU per request'];
  const b = arm64.values['CPU per request'];
  return a === undefined || b === undefined || a === 0 ? undefined : b / a;
}
