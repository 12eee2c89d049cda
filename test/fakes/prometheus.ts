// A real Prometheus (the Debian package's binary) over a throwaway TSDB backfilled with
// `promtool tsdb create-blocks-from openmetrics`, so tests run the product's actual PromQL. Generators
// write Istio's standard request metrics, cAdvisor's container CPU counter, a service's own counters and
// a Kafka consumer's lag gauge for one workload.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './net.ts';

const run = promisify(execFile);
const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';

/** Collects samples per metric family and writes them as one OpenMetrics document. */
export class OpenMetrics {
  private families = new Map<string, { type: string; lines: string[] }>();

  sample(
    family: string,
    type: 'counter' | 'histogram' | 'gauge',
    name: string,
    labels: Record<string, string>,
    value: number,
    atSeconds: number,
  ): void {
    let f = this.families.get(family);
    if (!f) this.families.set(family, (f = { type, lines: [] }));
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`)
      .join(',');
    f.lines.push(`${name}{${l}} ${Number(value.toFixed(6))} ${atSeconds}`);
  }

  toString(): string {
    let out = '';
    for (const [name, f] of this.families) out += `# TYPE ${name} ${f.type}\n${f.lines.join('\n')}\n`;
    return `${out}# EOF\n`;
  }
}

export interface Window {
  from: Date;
  to: Date;
  /** Scrape interval of the synthetic series; default 15 s. */
  stepSeconds?: number;
}

function* scrapes(w: Window): Generator<number> {
  const step = w.stepSeconds ?? 15;
  for (let t = Math.floor(w.from.getTime() / 1000); t <= w.to.getTime() / 1000; t += step) yield t;
}

export const LATENCY_BUCKETS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

export interface TrafficShape extends Window {
  namespace: string;
  workload: string;
  /** Requests per second the workload receives. */
  rps: number;
  /** Share of responses that are 503, 0–1. */
  errorRatio: number;
  /** 98% of requests take typicalMs, 2% take slowMs (so p99 lands in slowMs's bucket). */
  typicalMs: number;
  slowMs: number;
}

/** `istio_requests_total` (200 and 503, reporter=destination) and the duration histogram. */
export function istioTraffic(om: OpenMetrics, s: TrafficShape): void {
  const base = {
    reporter: 'destination',
    destination_workload: s.workload,
    destination_workload_namespace: s.namespace,
    destination_service: `${s.workload}.${s.namespace}.svc.cluster.local`,
  };
  const start = s.from.getTime() / 1000;
  const times = [...scrapes(s)];
  for (const [code, share] of [
    ['200', 1 - s.errorRatio],
    ['503', s.errorRatio],
  ] as const) {
    if (share === 0) continue;
    for (const t of times)
      om.sample('istio_requests', 'counter', 'istio_requests_total', { ...base, response_code: code }, s.rps * share * (t - start), t);
  }
  const below = (le: number) => (s.typicalMs <= le ? 0.98 : 0) + (s.slowMs <= le ? 0.02 : 0);
  for (const le of [...LATENCY_BUCKETS, Infinity]) {
    for (const t of times) {
      om.sample(
        'istio_request_duration_milliseconds',
        'histogram',
        'istio_request_duration_milliseconds_bucket',
        { ...base, le: le === Infinity ? '+Inf' : String(le) },
        s.rps * (t - start) * (le === Infinity ? 1 : below(le)),
        t,
      );
    }
  }
  for (const t of times) {
    const n = s.rps * (t - start);
    om.sample('istio_request_duration_milliseconds', 'histogram', 'istio_request_duration_milliseconds_count', base, n, t);
    om.sample(
      'istio_request_duration_milliseconds',
      'histogram',
      'istio_request_duration_milliseconds_sum',
      base,
      n * (0.98 * s.typicalMs + 0.02 * s.slowMs),
      t,
    );
  }
}

export interface CpuShape extends Window {
  namespace: string;
  /** Full pod names, e.g. `api-7d9c8b6f5-x2k4q`. */
  pods: string[];
  container: string;
  /** CPU cores used per pod. */
  coresPerPod: number;
}

/** cAdvisor's `container_cpu_usage_seconds_total` per pod, plus the pod-level (container="") series. */
export function containerCpu(om: OpenMetrics, s: CpuShape): void {
  const start = s.from.getTime() / 1000;
  for (const pod of s.pods) {
    for (const container of [s.container, '']) {
      for (const t of scrapes(s)) {
        om.sample(
          'container_cpu_usage_seconds',
          'counter',
          'container_cpu_usage_seconds_total',
          { namespace: s.namespace, pod, container },
          s.coresPerPod * (t - start),
          t,
        );
      }
    }
  }
}

export interface AppCounterShape extends Window {
  /** The counter's name, ending in `_total`, e.g. `payments_total`. */
  name: string;
  /** Labels of every series; `pod` is added per pod. */
  labels: Record<string, string>;
  pods: string[];
  /** Increase per second per pod. */
  perSecond: number;
}

/** A service's own counter (a business metric such as payments by outcome), one series per pod. */
export function appCounter(om: OpenMetrics, s: AppCounterShape): void {
  const start = s.from.getTime() / 1000;
  for (const pod of s.pods) {
    for (const t of scrapes(s))
      om.sample(s.name.replace(/_total$/, ''), 'counter', s.name, { ...s.labels, pod }, s.perSecond * (t - start), t);
  }
}

export interface ConsumerLagShape extends Window {
  namespace: string;
  pods: string[];
  /** Records the pod's most lagging partition is behind, at a unix time in seconds. */
  lag(atSeconds: number): number;
}

/** The Kafka client's records-lag-max gauge per consumer pod, as Micrometer's Kafka binder exports it. */
export function consumerLag(om: OpenMetrics, s: ConsumerLagShape): void {
  for (const pod of s.pods) {
    for (const t of scrapes(s)) {
      om.sample(
        'kafka_consumer_fetch_manager_records_lag_max',
        'gauge',
        'kafka_consumer_fetch_manager_records_lag_max',
        { namespace: s.namespace, pod, client_id: `consumer-${pod}` },
        s.lag(t),
        t,
      );
    }
  }
}

export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
}

/** Backfills `metrics` into a new TSDB and serves it from a real Prometheus on a loopback port. */
export async function startPrometheus(metrics: OpenMetrics | string): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'archshift-prom-'));
  const data = join(dir, 'data');
  await writeFile(join(dir, 'metrics.om'), String(metrics));
  await writeFile(join(dir, 'prometheus.yml'), 'global: {}\nscrape_configs: []\n');
  await run(PROMTOOL, ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'metrics.om'), data], { maxBuffer: 16 << 20 });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=10y',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop };
}
