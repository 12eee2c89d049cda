// The operational side of a running bot, built once by src/app.ts: readiness probes, the ops HTTP
// server, leader election (singleton work only: the digest schedule and the canary ticker; every
// replica serves Slack on the shared store), in-flight tracking and graceful shutdown. Kept here so the
// composition root only wires it.
import type { WebClient } from '@slack/web-api';
import type { Kubernetes } from '../adapters/kubernetes.ts';
import type { Store } from '../adapters/store.ts';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import { UserError } from '../errors.ts';
import { Health, clusterProbes, slackProbe, storeProbe } from './health.ts';
import { InFlight } from './inflight.ts';
import { LeaderElector, SoleLeader, defaultIdentity, type Leadership } from './leader.ts';
import { registry } from './metrics.ts';
import { startOpsServer, type OpsRoute, type OpsServer } from './server.ts';

/** What the ops side uses: the server section, the store (probe, lease check), the cluster (Lease, probes). */
export interface OpsNeeds {
  readonly config: Pick<Config, 'server'>;
  readonly store: Store;
  readonly logger: Logger;
  readonly kube?: Kubernetes;
}

export interface OpsRuntime {
  health: Health;
  leadership: Leadership;
  inFlight: InFlight;
  /** The ops server's port once started (useful when configured as 0). */
  port(): number | undefined;
  start(): Promise<void>;
  /** Readiness goes red at once; the caller then stops the receiver and calls finish(). */
  beginShutdown(): void;
  /** Waits for in-flight work (bounded), releases the Lease, closes the ops server. */
  finish(): Promise<void>;
}

function createElector(deps: OpsNeeds): LeaderElector {
  const le = deps.config.server.leaderElection;
  if (!deps.kube) {
    throw new UserError(
      'server.leaderElection.enabled needs a Kubernetes cluster (in-cluster, kubernetes.kubeconfig or $KUBECONFIG) to hold the Lease.',
    );
  }
  if (deps.store.driver !== 'postgres') {
    throw new UserError(
      'server.leaderElection.enabled means several replicas, and they must share one PostgreSQL store: set store.driver: postgres and ' +
        'store.postgres.url (or DATABASE_URL). A lowdb file has one writer; run one replica without leader election to keep it.',
    );
  }
  return new LeaderElector({
    api: deps.kube.cluster(le.cluster),
    namespace: le.namespace ?? process.env.POD_NAMESPACE ?? 'default',
    name: le.leaseName,
    identity: defaultIdentity(),
    leaseDurationMs: le.leaseDurationSeconds * 1000,
    renewDeadlineMs: le.renewDeadlineSeconds * 1000,
    retryPeriodMs: le.retryPeriodSeconds * 1000,
    logger: deps.logger,
    onStartedLeading: () => deps.logger.info('this replica is the leader: it runs the digest schedule and the canary ticker'),
    onStoppedLeading: () => deps.logger.info('this replica is no longer the leader: it serves Slack only'),
  });
}

/** `probeClient`: a WebClient without retries and with the probe timeout, for auth.test. `routes`: more endpoints on the ops port. */
export function createOpsRuntime(deps: OpsNeeds, probeClient: WebClient, routes?: Record<string, OpsRoute>): OpsRuntime {
  const cfg = deps.config.server;
  const health = new Health([slackProbe(probeClient), storeProbe(deps.store), ...clusterProbes(deps.kube)], {
    cacheMs: cfg.probeCacheSeconds * 1000,
    timeoutMs: cfg.probeTimeoutMs,
  });
  const inFlight = new InFlight();
  let server: OpsServer | undefined;
  const elector = cfg.leaderElection.enabled ? createElector(deps) : undefined;
  const leadership: Leadership = elector ?? new SoleLeader();
  return {
    health,
    leadership,
    inFlight,
    port: () => server?.port,
    async start() {
      server = await startOpsServer({ port: cfg.port, host: cfg.host, health, registry, logger: deps.logger, routes });
      elector?.start();
    },
    beginShutdown() {
      health.markStopping();
    },
    async finish() {
      const drained = await inFlight.drain(cfg.shutdownTimeoutSeconds * 1000);
      if (!drained) deps.logger.warn({ pending: inFlight.size }, 'shutdown: some commands were still running when the timeout passed');
      await elector?.stop();
      await server?.close();
    },
  };
}
