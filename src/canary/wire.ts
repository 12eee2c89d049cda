// Construction of the canary controller from the adapters, and the scheduler that drives it. Called by
// the composition roots (src/app.ts for the bot and the terminal); nothing else builds it.
import { Prometheus } from '../adapters/prometheus.ts';
import type { Store } from '../adapters/store.ts';
import type { Catalog } from '../config/catalog.ts';
import { ConfigError } from '../config/load.ts';
import { PriceTable } from '../digest/cost.ts';
import type { Logger } from '../logger.ts';
import type { CheckNeeds } from '../readiness/check.ts';
import { CanaryController, type CanaryNotifier } from './controller.ts';
import { canaryCanRun } from './availability.ts';

/** What the controller is built from: the check's cluster and registry, the store and the log; `catalog` is read on each use (a reload swaps it). */
export interface CanaryNeeds extends Pick<CheckNeeds, 'config' | 'catalog' | 'clock' | 'kube' | 'registry'> {
  readonly store: Store;
  readonly logger: Logger;
}

export interface CanaryWiring {
  /** Where progress goes (the bot: commands/notify/canary-thread.ts); none from the terminal. */
  notifier?: CanaryNotifier;
  /** Leader election hook; the default (no election) is "always the leader". */
  isLeader?(): boolean | Promise<boolean>;
  /** Set when leader election is on: the elected leader takes over canary locks of earlier leaders. */
  leaseHolder?(): boolean | Promise<boolean>;
  ownerId?: string;
}

/** The controller, or undefined when canaries cannot run (no cluster or no canary.prometheusUrl). */
export function buildCanaryController(deps: CanaryNeeds, w: CanaryWiring = {}): CanaryController | undefined {
  const c = deps.config.canary;
  if (!canaryCanRun(deps)) return undefined;
  const kube = deps.kube!;
  const prices = new PriceTable(deps.config.digest);
  return new CanaryController({
    config: c,
    // Read on each use: a config reload (src/config/reload.ts) swaps the catalog.
    get catalog() {
      return deps.catalog;
    },
    store: deps.store,
    cluster: (name) => kube.cluster(name),
    prometheus: new Prometheus(c.prometheusUrl!, c.prometheusTimeoutMs, c.prometheus),
    // The measured cost of each side's nodes uses the digest's price table.
    prices: (type) => prices.hourly(type),
    images: deps.registry,
    clock: deps.clock,
    notifier: w.notifier,
    logger: deps.logger.child({ feature: 'canary' }),
    defaultChannel: deps.config.slack.channel,
    ownerId: w.ownerId,
    isLeader: w.isLeader,
    leaseHolder: w.leaseHolder,
    sharedStore: deps.store.driver === 'postgres',
  });
}

/**
 * Start-up and reload: refuses (ConfigError) any metric query Prometheus cannot parse, naming the
 * template and Prometheus's error. An unreachable Prometheus is logged, not fatal: each canary start
 * asks again before anything moves.
 */
export async function refuseBadMetricQueries(
  controller: Pick<CanaryController, 'validateMetrics'>,
  catalog: Catalog,
  logger: Pick<Logger, 'warn'>,
): Promise<void> {
  const { invalid, unreachable } = await controller.validateMetrics(catalog);
  if (invalid.length) {
    throw new ConfigError(
      `canary metric queries that Prometheus cannot parse: ${invalid.map((q) => `${q.where}: Prometheus cannot parse the query ${JSON.stringify(q.query)}: ${q.error}`).join('; ')}`,
    );
  }
  if (unreachable)
    logger.warn({ err: unreachable }, 'could not have Prometheus parse the canary metric queries; each canary start checks its own');
}

/** Calls tick() every `canary.tickSeconds`; a slow tick is never overlapped by the next. Returns stop(). */
export function startCanaryScheduler(controller: CanaryController, deps: Pick<CanaryNeeds, 'logger'>): () => Promise<void> {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = controller
      .tick()
      .catch((err: unknown) => deps.logger.error({ err }, 'canary tick failed'))
      .finally(() => (running = undefined));
  }, controller.config.tickSeconds * 1000);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
