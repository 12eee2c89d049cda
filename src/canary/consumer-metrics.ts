// The built-in metrics of a replica-stepped canary (workers, stream consumers), as templates judged like
// any other (src/canary/metrics.ts): the Kafka client's own numbers as Spring Boot's Micrometer binder
// exports them per pod, and cAdvisor's CPU per message. Each is matched to one Deployment's pods by name,
// so arm64 and amd64 consumers of the same group are told apart. A service whose consumers export other
// names overrides a built-in by its name (`canary.metrics."consumer lag"`, or the catalog entry's
// `metrics`), or leaves it out with `false`; archshift.example.yml has kafka-exporter, Burrow and
// error-counter examples.
import type { CanaryThresholds } from './config.ts';
import type { MetricTemplate } from './metrics.ts';

/** The pods of Deployment {{workload}}: `<name>-<replicaset hash>-<suffix>`, so `X-arm64`'s pods stay out of `X`'s. */
const PODS = 'namespace="{{namespace}}",pod=~"{{workload|regex}}-[a-z0-9]+-[a-z0-9]+"';

export const CONSUMER_QUERIES = {
  // records-lag-max: the largest lag over the partitions a consumer instance owns.
  'consumer lag': `max(kafka_consumer_fetch_manager_records_lag_max{${PODS}})`,
  'messages consumed': `sum(rate(kafka_consumer_fetch_manager_records_consumed_total{${PODS}}[{{interval}}]))`,
  'CPU per message': `1000 * sum(rate(container_cpu_usage_seconds_total{${PODS},container!="",container!="POD"}[{{interval}}])) / sum(rate(kafka_consumer_fetch_manager_records_consumed_total{${PODS}}[{{interval}}]))`,
} as const;

/** The throughput template: what a side handles per second (the cost of a message is priced from it). */
export const THROUGHPUT = 'messages consumed';
/** arm64's lag may exceed amd64's by this many records before a check fails. */
export const DEFAULT_MAX_LAG_ABOVE = 1000;

export function consumerTemplates(t: CanaryThresholds): MetricTemplate[] {
  const hint = "does the consumer export Micrometer's Kafka client metrics, and are its pods scraped?";
  return [
    {
      name: 'consumer lag',
      query: CONSUMER_QUERIES['consumer lag'],
      better: 'lower',
      unit: 'records',
      difference: DEFAULT_MAX_LAG_ABOVE,
      hint,
    },
    // Shown, not judged: each side's share of the work follows its share of partitions, not its speed.
    { name: THROUGHPUT, query: CONSUMER_QUERIES['messages consumed'], better: 'higher', unit: '/s', hint },
    {
      name: 'CPU per message',
      query: CONSUMER_QUERIES['CPU per message'],
      better: 'lower',
      unit: 'ms',
      hint: 'is cAdvisor / the kubelet scraped?',
      ...(t.maxCpuRatio !== null ? { ratio: t.maxCpuRatio } : {}),
    },
  ];
}
