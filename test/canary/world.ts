// The canary's outside world for tests: the Kubernetes API double seeded with the canary manifests
// (amd64 Deployment, -arm64 copy, DestinationRule subsets, weighted VirtualService), a real Prometheus
// backfilled with Istio and cAdvisor series per workload, a real registry holding the images, the fake
// Slack Web API, a store file and a fake clock.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import { KubeCluster } from '../../src/adapters/kubernetes.ts';
import { Prometheus } from '../../src/adapters/prometheus.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { SlackPoster } from '../../src/adapters/slack.ts';
import { Store } from '../../src/adapters/store.ts';
import { canaryConfigSchema } from '../../src/canary/config.ts';
import { digestConfigSchema } from '../../src/digest/config.ts';
import { PriceTable } from '../../src/digest/cost.ts';
import { CanaryController, type CanaryControllerOptions, type CanaryNotifier } from '../../src/canary/controller.ts';
import type { CanaryEvent } from '../../src/canary/events.ts';
import { SlackCanaryNotifier } from '../../commands/notify/canary-thread.ts';
import { Catalog } from '../../src/config/catalog.ts';
import { catalogSchema } from '../../src/config/catalog-schema.ts';
import { parseConfig } from '../../src/config/load.ts';
import { Authorizer } from '../../src/auth/authorize.ts';
import type { Deps } from '../../src/deps.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { registryConfigSchema } from '../../src/config/schema.ts';
import { FakeClock } from '../fakes/clock.ts';
import { FakeKubeApi, type KubeObject } from '../fakes/kube-api.ts';
import {
  appCounter,
  consumerLag,
  containerCpu,
  istioTraffic,
  OpenMetrics,
  startPrometheus,
  type RunningPrometheus,
} from '../fakes/prometheus.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';

export const T0 = new Date('2026-01-01T00:00:00Z');
export const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
export const NS = 'shop';
export const CHANNEL = 'C0CANARY';
export const DEPLOYMENTS = `/apis/apps/v1/namespaces/${NS}/deployments`;
export const VIRTUAL_SERVICES = `/apis/networking.istio.io/v1/namespaces/${NS}/virtualservices`;
export const DESTINATION_RULES = `/apis/networking.istio.io/v1/namespaces/${NS}/destinationrules`;

interface Side {
  rps: number;
  errorRatio?: number;
  typicalMs?: number;
  slowMs?: number;
  coresPerPod?: number;
  /** Minutes after T0 the series run; default 0–180. */
  from?: number;
  to?: number;
  /** No Istio series at all (sidecar missing, telemetry off). */
  noIstio?: boolean;
  /** The service's own `payments_total{outcome}` counter (a business metric): the share that fails, 0–1. */
  paymentFailures?: number;
}

/** What each synthetic service's two sides look like in Prometheus. */
export const SERVICES: Record<string, { amd64: Side; arm64: Side; image?: 'multi' | 'amd64' }> = {
  // Healthy, 40% cheaper on arm64; amd64 stops getting traffic after 72m (the last step is 100% arm64).
  api: { amd64: { rps: 10, coresPerPod: 0.5, to: 72 }, arm64: { rps: 10, coresPerPod: 0.3 } },
  // arm64 answers 5% 503s: fails the 99% success-rate threshold.
  cart: { amd64: { rps: 10, coresPerPod: 0.5 }, arm64: { rps: 10, errorRatio: 0.05, coresPerPod: 0.3 } },
  // arm64 gets no traffic until 55m: "no data", then data.
  search: { amd64: { rps: 10, coresPerPod: 0.5 }, arm64: { rps: 10, coresPerPod: 0.3, from: 55 } },
  // Healthy both sides, for the fault tests.
  orders: { amd64: { rps: 10, coresPerPod: 0.5 }, arm64: { rps: 10, coresPerPod: 0.4 } },
  ledger: { amd64: { rps: 10, coresPerPod: 0.5 }, arm64: { rps: 10, coresPerPod: 0.4 } },
  billing: { amd64: { rps: 10, coresPerPod: 0.5 }, arm64: { rps: 10, coresPerPod: 0.4 } },
  stock: { amd64: { rps: 10, coresPerPod: 0.5 }, arm64: { rps: 10, coresPerPod: 0.4 } },
  // Every arm64 response a 503: a total outage must read as 0% success, not as "no data".
  outage: { amd64: { rps: 10, coresPerPod: 0.5 }, arm64: { rps: 10, errorRatio: 1, coresPerPod: 0.3 } },
  // arm64 p99 far above 500 ms.
  slow: { amd64: { rps: 10, coresPerPod: 0.5 }, arm64: { rps: 10, typicalMs: 40, slowMs: 2000, coresPerPod: 0.3 } },
  // Healthy by every built-in metric, but arm64 fails 6% of payments (amd64 0.2%): only the business metric sees it.
  checkout: { amd64: { rps: 10, coresPerPod: 0.5, paymentFailures: 0.002 }, arm64: { rps: 10, coresPerPod: 0.4, paymentFailures: 0.06 } },
  // The -arm64 Deployment runs an image without linux/arm64.
  legacy: { amd64: { rps: 10, coresPerPod: 0.5 }, arm64: { rps: 10, coresPerPod: 0.3, noIstio: true }, image: 'amd64' },
};

/**
 * Workers and stream consumers (replica-stepped canaries): the amd64 Deployment's replicas, and each
 * side's Kafka consumer metrics. The arm64 Deployment starts at 0 replicas.
 */
interface ConsumerSide {
  messagesPerPod: number;
  coresPerPod: number;
  /** The pod's records-lag-max at a minute after T0. */
  lag(minute: number): number;
}
const steady = (messagesPerPod: number, coresPerPod: number): ConsumerSide => ({ messagesPerPod, coresPerPod, lag: () => 20 });

export const CONSUMERS: Record<
  string,
  { kind: 'consumer' | 'worker' | 'flink'; replicas: number; amd64: ConsumerSide; arm64: ConsumerSide }
> = {
  // Healthy on both sides; arm64 needs 40% less CPU per message.
  payments: { kind: 'consumer', replicas: 4, amd64: steady(50, 0.5), arm64: steady(50, 0.3) },
  // For the restart in the middle of a replica step.
  invoices: { kind: 'consumer', replicas: 4, amd64: steady(50, 0.5), arm64: steady(50, 0.3) },
  // arm64 falls behind from 41m (after the second step at 40m): its lag grows by 100 records a second.
  shipments: {
    kind: 'consumer',
    replicas: 4,
    amd64: steady(50, 0.5),
    arm64: { messagesPerPod: 50, coresPerPod: 0.3, lag: (m) => (m < 41 ? 20 : 20 + (m - 41) * 6000) },
  },
  // A Flink job: refused.
  fraud: { kind: 'flink', replicas: 2, amd64: steady(50, 1), arm64: steady(50, 1) },
};

/** The nodes the synthetic pods run on: one per architecture, priced by the digest's default table. */
export const NODES = { amd64: { name: 'ip-10-0-1-7', type: 'm6i.xlarge' }, arm64: { name: 'ip-10-0-2-9', type: 'm7g.xlarge' } };

export const podsOf = (deployment: string) => [`${deployment}-5d8f7c9b4-x2k4q`, `${deployment}-5d8f7c9b4-p9z7m`];

export function syntheticMetrics(): OpenMetrics {
  const om = new OpenMetrics();
  for (const [name, s] of Object.entries(SERVICES)) {
    for (const [arch, side] of [
      ['amd64', s.amd64],
      ['arm64', s.arm64],
    ] as const) {
      const deployment = arch === 'amd64' ? name : `${name}-arm64`;
      const window = { from: at(side.from ?? 0), to: at(side.to ?? 180), stepSeconds: 30 };
      if (!side.noIstio) {
        istioTraffic(om, {
          ...window,
          namespace: NS,
          workload: deployment,
          rps: side.rps,
          errorRatio: side.errorRatio ?? 0.001,
          typicalMs: side.typicalMs ?? 20,
          slowMs: side.slowMs ?? 200,
        });
      }
      containerCpu(om, { ...window, namespace: NS, pods: podsOf(deployment), container: 'app', coresPerPod: side.coresPerPod ?? 0.5 });
      if (side.paymentFailures !== undefined) {
        for (const [outcome, share] of [
          ['ok', 1 - side.paymentFailures],
          ['failed', side.paymentFailures],
        ] as const) {
          appCounter(om, {
            ...window,
            name: 'payments_total',
            labels: { namespace: NS, outcome },
            pods: podsOf(deployment),
            perSecond: (side.rps / 2) * share,
          });
        }
      }
    }
  }
  for (const [name, c] of Object.entries(CONSUMERS)) {
    for (const arch of ['amd64', 'arm64'] as const) {
      const side = c[arch];
      const deployment = arch === 'amd64' ? name : `${name}-arm64`;
      const window = { from: at(0), to: at(180), stepSeconds: 30 };
      const pods = podsOf(deployment);
      containerCpu(om, { ...window, namespace: NS, pods, container: 'app', coresPerPod: side.coresPerPod });
      appCounter(om, {
        ...window,
        name: 'kafka_consumer_fetch_manager_records_consumed_total',
        labels: { namespace: NS, topic: name },
        pods,
        perSecond: side.messagesPerPod,
      });
      consumerLag(om, { ...window, namespace: NS, pods, lag: (t) => side.lag((t * 1000 - T0.getTime()) / 60_000) });
    }
  }
  return om;
}

export function deployment(name: string, arch: 'amd64' | 'arm64', image: string, ready = 3, replicas = 3): KubeObject {
  const labels = { app: name.replace(/-arm64$/, ''), 'archshift.io/arch': arch };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, labels: { app: labels.app } },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [{ name: 'app', image }],
          ...(arch === 'arm64'
            ? {
                nodeSelector: { 'kubernetes.io/arch': 'arm64' },
                tolerations: [{ key: 'kubernetes.io/arch', operator: 'Equal', value: 'arm64', effect: 'NoExecute' }],
              }
            : {}),
        },
      },
    },
    status: { replicas, readyReplicas: ready, availableReplicas: ready },
  };
}

export function virtualService(name: string, amd64 = 100): KubeObject {
  const host = `${name}.${NS}.svc.cluster.local`;
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: NS },
    spec: {
      hosts: [host],
      http: [
        {
          route: [
            { destination: { host, subset: 'amd64' }, weight: amd64 },
            { destination: { host, subset: 'arm64' }, weight: 100 - amd64 },
          ],
          retries: { attempts: 2 },
        },
      ],
    },
  };
}

export function destinationRule(name: string): KubeObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name, namespace: NS },
    spec: {
      host: `${name}.${NS}.svc.cluster.local`,
      subsets: [
        { name: 'amd64', labels: { 'archshift.io/arch': 'amd64' } },
        { name: 'arm64', labels: { 'archshift.io/arch': 'arm64' } },
      ],
    },
  };
}

/** The `catalog` config section of the synthetic services, as archshift.yml would hold it (for a bot too). */
export function worldCatalog(registryHost: string): Record<string, unknown> {
  return {
    defaults: {
      repo: 'acme/{service}',
      dockerfiles: ['Dockerfile'],
      image: `${registryHost}/shop/{service}`,
      pipeline: { repo: 'acme/cd', file: '{service}.yml' },
      manifests: { repo: 'acme/k8s', files: ['{service}.yaml'] },
      namespace: NS,
      channel: CHANNEL,
      canary: true,
    },
    services: {
      ...Object.fromEntries(Object.keys(SERVICES).map((s) => [s, {}])),
      checkout: { metrics: { 'payment success': PAYMENT_SUCCESS } },
      ...Object.fromEntries(Object.entries(CONSUMERS).map(([s, c]) => [s, { kind: c.kind }])),
    },
  };
}

/** A business metric as a catalog entry writes it: the share of payments that succeed, per side. */
export const PAYMENT_SUCCESS = {
  query:
    '100 * sum(rate(payments_total{namespace="{{namespace}}",pod=~"{{workload | regex}}-[a-z0-9]+-[a-z0-9]+",outcome="ok"}[{{interval}}])) / sum(rate(payments_total{namespace="{{namespace}}",pod=~"{{workload | regex}}-[a-z0-9]+-[a-z0-9]+"}[{{interval}}]))',
  better: 'higher',
  unit: '%',
  min: 97,
  relative: { difference: 1 },
  failedChecks: 1,
  noDataHint: 'is the payments exporter scraped?',
} as const;

export interface World {
  kube: FakeKubeApi;
  cluster: KubeCluster;
  prom: RunningPrometheus;
  registry: RunningRegistry;
  slack: FakeSlackApi;
  poster: SlackPoster;
  clock: FakeClock;
  dir: string;
  storeFile: string;
  catalog: Catalog;
  imageOf(service: string): string;
  /** Seeds (or re-seeds) a service's manifests in the API double. */
  seed(service: string): void;
  /** The spec.replicas of a replica-stepped service's two Deployments. */
  replicas(service: string): { amd64: number; arm64: number };
  /** Plays the Deployment controller: the Deployment's pods are all ready (status follows spec). */
  rollOut(deployment: string): void;
  /** The arm64 weight in the cluster's VirtualService. */
  clusterWeight(service: string): { amd64: number; arm64: number };
  /** Every event the controllers emitted, in order, with its service (what the tests assert on). */
  events: { service: string; event: CanaryEvent }[];
  /** The kinds of a service's events, in order. */
  kinds(service: string): string[];
  controller(o?: Partial<CanaryControllerOptions> & { storeFile?: string; raw?: Record<string, unknown> }): Promise<CanaryController>;
  /** Deps as the commands see them: a controller over its own store file in the world's dir, `operators` granted the operator role. */
  deps(o: { storeName: string; operators: string[]; logger?: Logger }): Promise<Deps & { canary: CanaryController }>;
  stop(): Promise<void>;
}

/** Passes progress and events on to Slack, keeping each event for the assertions. */
function recording(inner: CanaryNotifier, into: World['events']): CanaryNotifier {
  return {
    progress: (rec, now) => inner.progress(rec, now),
    event: (rec, event) => {
      into.push({ service: rec.target.service, event });
      return inner.event(rec, event);
    },
  };
}

export async function startWorld(): Promise<World> {
  const [kube, prom, registry, slack] = await Promise.all([
    new FakeKubeApi().start(),
    startPrometheus(syntheticMetrics()),
    startRegistry(),
    new FakeSlackApi().start(),
  ]);
  for (const name of Object.keys(SERVICES)) {
    const platforms =
      SERVICES[name].image === 'amd64' ? [{ architecture: 'amd64' }] : [{ architecture: 'amd64' }, { architecture: 'arm64' }];
    await registry.pushIndex(`shop/${name}`, '1.0', platforms);
  }
  const dir = await mkdtemp(join(tmpdir(), 'archshift-canary-'));
  const storeFile = join(dir, 'store.json');
  const cluster = new KubeCluster('fake', kube.kubeConfig(), 2000);
  const poster = new SlackPoster(new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } }), 0);
  const clock = new FakeClock(at(30));
  const catalog = new Catalog(catalogSchema.parse(worldCatalog(registry.host)));
  const prices = new PriceTable(digestConfigSchema.parse({}));
  const imageOf = (service: string) => `${registry.host}/shop/${service}:1.0`;
  const world: World = {
    events: [],
    kinds: (service) => world.events.filter((e) => e.service === service).map((e) => e.event.kind),
    kube,
    cluster,
    prom,
    registry,
    slack,
    poster,
    clock,
    dir,
    storeFile,
    catalog,
    imageOf,
    seed(service) {
      kube.put(DEPLOYMENTS, deployment(service, 'amd64', imageOf(service)));
      kube.put(DEPLOYMENTS, deployment(`${service}-arm64`, 'arm64', imageOf(service)));
      kube.put(DESTINATION_RULES, destinationRule(service));
      kube.put(VIRTUAL_SERVICES, virtualService(service));
    },
    replicas(service) {
      const of = (name: string) => (kube.get(DEPLOYMENTS, name) as unknown as { spec: { replicas: number } }).spec.replicas;
      return { amd64: of(service), arm64: of(`${service}-arm64`) };
    },
    rollOut(name) {
      const d = kube.get(DEPLOYMENTS, name) as KubeObject & { spec: { replicas: number } };
      const n = d.spec.replicas;
      kube.put(DEPLOYMENTS, { ...d, status: { replicas: n, readyReplicas: n, availableReplicas: n } });
    },
    clusterWeight(service) {
      const route = (
        kube.get(VIRTUAL_SERVICES, service) as unknown as {
          spec: { http: Array<{ route: Array<{ destination: { subset: string }; weight: number }> }> };
        }
      ).spec.http[0].route;
      const w = (s: string) => route.find((d) => d.destination.subset === s)!.weight;
      return { amd64: w('amd64'), arm64: w('arm64') };
    },
    async controller(o = {}) {
      const config = canaryConfigSchema.parse({ prometheusUrl: prom.url, intervalSeconds: 600, ...o.raw });
      const store = o.store ?? (await Store.open(o.storeFile ?? storeFile));
      return new CanaryController({
        config,
        catalog,
        store,
        cluster: () => cluster,
        prometheus: new Prometheus(prom.url, 2000),
        prices: (type) => prices.hourly(type),
        images: createRegistryClient({ config: registryConfigSchema.parse({}) }),
        clock,
        notifier: recording(new SlackCanaryNotifier(poster, config.thresholds), world.events),
        defaultChannel: '#arm64-migration',
        ownerId: 'bot-1',
        ...o,
      });
    },
    async deps(o) {
      const store = await Store.open(join(dir, o.storeName));
      const canary = await world.controller({ store });
      const config = parseConfig({ auth: { operator: { users: o.operators } }, canary: { prometheusUrl: prom.url } });
      return { config, catalog, store, logger: o.logger ?? createLogger('silent'), clock, auth: new Authorizer(config.auth), canary };
    },
    async stop() {
      await Promise.all([kube.stop(), prom.stop(), registry.stop(), slack.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  for (const name of Object.keys(SERVICES)) world.seed(name);
  for (const arch of ['amd64', 'arm64'] as const) {
    const n = NODES[arch];
    kube.put('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name, labels: { 'kubernetes.io/arch': arch, 'node.kubernetes.io/instance-type': n.type } },
      status: { allocatable: { cpu: '4', memory: '16Gi' } },
    });
  }
  for (const name of [...Object.keys(SERVICES), ...Object.keys(CONSUMERS)]) {
    for (const [deployment, arch] of [
      [name, 'amd64'],
      [`${name}-arm64`, 'arm64'],
    ] as const) {
      for (const pod of podsOf(deployment)) {
        kube.put(`/api/v1/namespaces/${NS}/pods`, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: pod, namespace: NS },
          spec: { nodeName: NODES[arch].name, containers: [{ name: 'app', image: imageOf(name) }] },
          status: { phase: 'Running' },
        });
      }
    }
  }
  for (const [name, c] of Object.entries(CONSUMERS)) {
    await registry.pushIndex(`shop/${name}`, '1.0', [{ architecture: 'amd64' }, { architecture: 'arm64' }]);
    kube.put(DEPLOYMENTS, deployment(name, 'amd64', imageOf(name), c.replicas, c.replicas));
    kube.put(DEPLOYMENTS, deployment(`${name}-arm64`, 'arm64', imageOf(name), 0, 0));
  }
  return world;
}
