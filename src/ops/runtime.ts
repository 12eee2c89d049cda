// The operational side of a running bot, built once by src/app.ts: readiness probes, the ops HTTP
// server, leader election, in-flight tracking and graceful shutdown. With leader election on it also
// links the replicas: followers forward Slack work to the leader and copy its store. Kept here so the
// composition root only wires it.
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Deps } from '../deps.ts';
import { UserError } from '../errors.ts';
import { forwardToLeader } from './forward.ts';
import { Health, clusterProbes, slackProbe, storeProbe } from './health.ts';
import { InFlight } from './inflight.ts';
import { LeaderElector, SoleLeader, defaultIdentity, type Leadership } from './leader.ts';
import { registry } from './metrics.ts';
import { peerUrl, requirePeerSecret } from './peer.ts';
import { StoreReplicator } from './replicate.ts';
import { startOpsServer, type OpsRoute, type OpsServer, type PeerEndpoints } from './server.ts';

/** How long a follower waits for the leader to take a request or hand over its store. */
const PEER_TIMEOUT_MS = 5_000;

export interface OpsRuntime {
  health: Health;
  leadership: Leadership;
  inFlight: InFlight;
  /** With leader election: the Bolt middleware that hands Slack work to the leader. Register it first. */
  forwarder?: Middleware<AnyMiddlewareArgs>;
  /** The ops server's port once started (useful when configured as 0). */
  port(): number | undefined;
  start(): Promise<void>;
  /** Readiness goes red at once; the caller then stops the receiver and calls finish(). */
  beginShutdown(): void;
  /** Waits for in-flight work (bounded), lets a follower copy the store, releases the Lease, closes the ops server. */
  finish(): Promise<void>;
}

export interface PeerWiring {
  /** ARCHSHIFT_PEER_SECRET; required with leader election. */
  secret?: string;
  /** Runs a Slack request body a follower forwarded through the Bolt app (App.processEvent). */
  processEvent(body: Record<string, unknown>): Promise<void>;
}

interface Election {
  elector: LeaderElector;
  replicator: StoreReplicator;
  forwarder: Middleware<AnyMiddlewareArgs>;
  endpoints: PeerEndpoints;
  /** On shutdown, while still leading: waits (bounded) until a follower has copied the final store. */
  handOver(): Promise<void>;
}

function createElection(deps: Deps, peer: PeerWiring, health: Health, inFlight: InFlight, ownPort: () => number | undefined): Election {
  const cfg = deps.config.server;
  const le = cfg.leaderElection;
  if (!deps.kube) {
    throw new UserError('server.leaderElection.enabled needs a Kubernetes cluster (in-cluster, kubernetes.kubeconfig or $KUBECONFIG) to hold the Lease.');
  }
  const secret = requirePeerSecret(peer.secret);
  const host = cfg.advertiseHost ?? process.env.POD_IP;
  if (!host) {
    throw new UserError('server.leaderElection.enabled needs the address other replicas reach this one on: set server.advertiseHost, or POD_IP (the rendered StatefulSet sets it from status.podIP).');
  }
  const elector = new LeaderElector({
    api: deps.kube.cluster(le.cluster),
    namespace: le.namespace ?? process.env.POD_NAMESPACE ?? 'default',
    name: le.leaseName,
    identity: defaultIdentity(),
    leaseDurationMs: le.leaseDurationSeconds * 1000,
    renewDeadlineMs: le.renewDeadlineSeconds * 1000,
    retryPeriodMs: le.retryPeriodSeconds * 1000,
    logger: deps.logger,
    advertiseUrl: () => {
      const port = ownPort();
      return port === undefined ? undefined : peerUrl(host, port);
    },
    onStartedLeading: () => deps.logger.info('this replica is the leader: it runs commands, the schedule and the canary controller'),
    onStoppedLeading: () => deps.logger.info('this replica is no longer the leader: it forwards commands and copies the store'),
  });
  // Store copies served: the number of the latest request whose snapshot was taken and sent.
  let storeRequests = 0;
  let storeCopied = 0;
  const link = { isLeader: () => elector.isLeader(), leaderUrl: () => elector.leaderUrl(), secret, timeoutMs: PEER_TIMEOUT_MS, logger: deps.logger };
  return {
    elector,
    replicator: new StoreReplicator({ ...link, store: deps.store, intervalMs: le.replicateSeconds * 1000 }),
    async handOver() {
      // Followers pull every replicateSeconds: one pull after the drain carries the last writes over.
      const after = storeRequests;
      const deadline = Date.now() + le.replicateSeconds * 1000 + 2_000;
      while (elector.isLeader() && storeCopied <= after && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (elector.isLeader() && storeCopied <= after) deps.logger.warn('shutdown: no follower copied the final store; the next leader starts from its last copy');
    },
    forwarder: forwardToLeader({ ...link, track: (work) => inFlight.track(work) }),
    endpoints: {
      secret,
      isLeader: () => elector.isLeader(),
      acceptsWork: () => elector.isLeader() && !health.isStopping,
      onEvent: (body) => {
        inFlight.track(peer.processEvent(body)).catch((err: unknown) => deps.logger.error({ err }, 'a forwarded Slack request failed'));
      },
      storeData: async () => {
        const request = ++storeRequests;
        const data = await deps.store.snapshot();
        storeCopied = Math.max(storeCopied, request);
        return data;
      },
    },
  };
}

/** `probeClient`: a WebClient without retries and with the probe timeout, for auth.test. `routes`: more endpoints on the ops port. */
export function createOpsRuntime(deps: Deps, probeClient: WebClient, peer: PeerWiring, routes?: Record<string, OpsRoute>): OpsRuntime {
  const cfg = deps.config.server;
  const health = new Health([slackProbe(probeClient), storeProbe(deps.store), ...clusterProbes(deps.kube)], {
    cacheMs: cfg.probeCacheSeconds * 1000,
    timeoutMs: cfg.probeTimeoutMs,
  });
  const inFlight = new InFlight();
  let server: OpsServer | undefined;
  const election = cfg.leaderElection.enabled ? createElection(deps, peer, health, inFlight, () => server?.port) : undefined;
  const leadership: Leadership = election?.elector ?? new SoleLeader();
  return {
    health,
    leadership,
    inFlight,
    forwarder: election?.forwarder,
    port: () => server?.port,
    async start() {
      server = await startOpsServer({ port: cfg.port, host: cfg.host, health, registry, logger: deps.logger, peers: election?.endpoints, routes });
      election?.elector.start();
      election?.replicator.start();
    },
    beginShutdown() {
      health.markStopping();
    },
    async finish() {
      await election?.replicator.stop();
      const drained = await inFlight.drain(cfg.shutdownTimeoutSeconds * 1000);
      if (!drained) deps.logger.warn({ pending: inFlight.size }, 'shutdown: some commands were still running when the timeout passed');
      await election?.handOver();
      await election?.elector.stop();
      await server?.close();
    },
  };
}
