// Composition root: config → adapters (build-deps.ts) → use cases → Bolt app. Nothing else constructs adapters.
export { buildDeps, type BuildOptions } from './build-deps.ts';
import type { Server } from 'node:http';
import bolt from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { registerCommands } from '../commands/index.ts';
import { gatedApp } from '../commands/store-gate.ts';
import { identityCheck } from '../commands/identity.ts';
import type { HomeIdentity } from './auth/slack-identity.ts';
import { SlackGroupDirectory } from './auth/authorize.ts';
import { discoverServices } from './config/discover.ts';
import type { Config } from './config/schema.ts';
import { readSecrets, requireSlackSecrets } from './config/secrets.ts';
import { SlackPoster } from './adapters/slack.ts';
import type { Kubernetes } from './adapters/kubernetes.ts';
import type { Deps } from './deps.ts';
import { assemble, buildParts, type BuildOptions } from './build-deps.ts';
import { UserError } from './errors.ts';
import { buildCanaryController, refuseBadMetricQueries, startCanaryScheduler } from './canary/wire.ts';
import { createDigestSchedule } from '../commands/notify/digest-post.ts';
import { SlackCanaryNotifier } from '../commands/notify/canary-thread.ts';
import { moveNoticePoster } from '../commands/notify/move-notice.ts';
import { MoveWatcher, noteMergedPull } from './nodes/move-watch.ts';
import { nodesDeps, preflightNodes } from './nodes/preflight.ts';
import { createOpsRuntime, type OpsRuntime } from './ops/runtime.ts';
import { registryMetrics } from './ops/metrics.ts';
import { guardSlackListener } from './ops/slack-guard.ts';
import { AfterAckQueue } from './ops/after-ack.ts';
import type { OpsRoute } from './ops/server.ts';
import { checkPullRequest } from './guard/pull-request.ts';
import { GITHUB_EVENTS_PATH, githubWebhookRoute } from './guard/webhook.ts';
import { renderPullCheck } from './render/guard-check.ts';
import { renderGuardNote } from './render/guard-slack.ts';

const { App, HTTPReceiver, LogLevel } = bolt;

export class SlackStartError extends UserError {}

/** The watch after a move, run by the leader; problems go to the service's channel (commands/notify/move-notice.ts). */
function afterMoveWatcher(deps: Deps, kube: Kubernetes, slack: SlackPoster, isLeader: () => Promise<boolean>): MoveWatcher {
  return new MoveWatcher({
    store: deps.store,
    kube,
    clock: deps.clock,
    logger: deps.logger.child({ feature: 'after-move' }),
    config: () => deps.config.afterMove,
    catalog: () => deps.catalog,
    defaultChannel: () => deps.config.slack.channel,
    isLeader,
    tell: moveNoticePoster(slack),
    preflight: async (cluster) => {
      const nd = nodesDeps(deps);
      return nd ? (await preflightNodes(nd, cluster)).clusters[0] : undefined;
    },
  });
}

/** A check that re-reads the store (other replicas' writes): false, logged once per outage, while it does not answer. */
function storeWatch(deps: Pick<Deps, 'store' | 'logger'>): () => Promise<boolean> {
  let down = false;
  return async () => {
    try {
      await deps.store.refresh();
      if (down) deps.logger.info('state store answers again; singleton work resumes');
      down = false;
      return true;
    } catch (err) {
      if (!down)
        deps.logger.warn(
          { err: (err as { detail?: string }).detail ?? (err as Error).message },
          'state store unavailable; the canary ticker and digest schedule pause',
        );
      down = true;
      return false;
    }
  };
}

/** Home app/workspaces/organization from config; what config leaves out comes from auth.test, asked once (again after a failure). */
function homeIdentity(config: Config, client: WebClient): () => Promise<HomeIdentity> {
  const { appId, teamIds, enterpriseId } = config.slack;
  if (teamIds.length) return () => Promise.resolve({ appId, teamIds, enterpriseId });
  let known: Promise<HomeIdentity> | undefined;
  return () =>
    (known ??= client.auth.test().then(
      (r) => ({ appId, teamIds: r.team_id ? [r.team_id] : [], enterpriseId: enterpriseId ?? (r.enterprise_id || undefined) }),
      (err: Error) => {
        known = undefined;
        throw err;
      },
    ));
}

export interface Bot {
  deps: Deps;
  app: InstanceType<typeof App>;
  slack: SlackPoster;
  /** Health, leader election (`ops.leadership.isLeader()` gates the schedule and canary ticks), shutdown. */
  ops: OpsRuntime;
  /** Watches pods after a move (absent without a cluster). */
  moveWatcher?: MoveWatcher;
  /** Starts the receiver; in HTTP mode resolves to the listening server. */
  start(): Promise<Server | undefined>;
  stop(): Promise<void>;
}

export async function createBot(config: Config, opts: BuildOptions = {}): Promise<Bot> {
  const allSecrets = opts.secrets ?? readSecrets(process.env);
  const secrets = requireSlackSecrets(config, allSecrets);
  const clientOptions = {
    ...(config.slack.apiUrl ? { slackApiUrl: config.slack.apiUrl } : {}),
    retryConfig: { retries: config.slack.retries, factor: 2, minTimeout: 200, maxTimeout: 30_000 },
    timeout: 10_000,
  };
  const webClient = new WebClient(secrets.botToken, clientOptions);
  // Built in order, never assigned into afterwards: adapters, ops (needs them), the canary controller
  // (needs ops' leadership), then the bag the surfaces get.
  const parts = await buildParts(
    config,
    { registryMetrics, ...opts },
    new SlackGroupDirectory(webClient, config.auth.groupCacheSeconds * 1000),
  );
  const core = assemble(parts);
  const logLevel = core.logger.level === 'debug' ? LogLevel.DEBUG : LogLevel.ERROR;
  const routes: Record<string, OpsRoute> = {};
  // Before the App, which calls Slack at once: a bad HA setup (no cluster, or lowdb) stops here.
  let ops: OpsRuntime;
  try {
    ops = createOpsRuntime(
      core,
      new WebClient(secrets.botToken, { ...clientOptions, retryConfig: { retries: 0 }, timeout: config.server.probeTimeoutMs }),
      routes,
    );
  } catch (err) {
    await core.store.close();
    throw err;
  }
  // Bolt would read any body whole before its signature check: the gate in front refuses first and verifies
  // every signature (slack-guard.ts), so Bolt does not verify it a second time on the ack's path.
  const receiver =
    config.slack.mode === 'http'
      ? new HTTPReceiver({ signingSecret: secrets.signingSecret!, logLevel, signatureVerification: false })
      : undefined;
  if (receiver)
    receiver.requestListener = guardSlackListener(receiver.requestListener, {
      signingSecret: secrets.signingSecret!,
      endpoints: ['/slack/events'],
      logger: core.logger,
    });
  const app = !receiver
    ? new App({
        token: secrets.botToken,
        appToken: secrets.appToken,
        socketMode: true,
        clientOptions,
        logLevel,
        deferInitialization: true,
        convoStore: false,
        ignoreSelf: false,
      })
    : new App({
        token: secrets.botToken,
        clientOptions,
        // No listener keeps conversation state; Bolt's store would be looked up on every request before its ack.
        convoStore: false,
        // ignoreSelf drops the app's own Events API messages; the app subscribes to no events (manifest.yml),
        // so it would only be one more middleware step before every ack.
        ignoreSelf: false,
        // Bolt verifies the token with auth.test; deferred, a bad token fails start() with a message.
        deferInitialization: true,
        receiver,
      });
  app.error(async (err) => {
    core.logger.error({ err }, 'unhandled Slack handler error');
  });
  const slack = new SlackPoster(webClient, undefined, undefined, core.logger);
  // Only the leader steps canaries and posts the scheduled digest; every replica serves commands. While
  // the store cannot be read the leader pauses too, rather than act on state it could not save.
  const storeAnswers = storeWatch(core);
  const isLeader = async () => ops.leadership.isLeader() && (await storeAnswers());
  const leaseHolder = config.server.leaderElection.enabled ? () => ops.leadership.isLeader() : undefined;
  const moveWatcher = core.kube ? afterMoveWatcher(core, core.kube, slack, isLeader) : undefined;
  const canaryNotifier = new SlackCanaryNotifier(slack, config.canary.thresholds);
  const canary = buildCanaryController(core, {
    notifier: {
      progress: (rec, now) => canaryNotifier.progress(rec, now),
      // A started canary's arm64 pods are watched at once (canaries started elsewhere: the watcher's tick).
      event: async (rec, e) => {
        if (e.kind === 'started')
          void moveWatcher?.canaryStarted(rec).catch((err: unknown) => core.logger.warn({ err }, 'after-move watch not recorded'));
        await canaryNotifier.event(rec, e);
      },
    },
    isLeader,
    leaseHolder,
  });
  const deps = assemble({ ...parts, canary });
  app.use(identityCheck(deps, homeIdentity(config, webClient)));
  // Every replica serves Slack; each listener acks, then waits for the store and drops retried deliveries. The gate
  // hands each request's work to inFlight (shutdown waits for it): one Bolt middleware step less per request.
  const afterAck = new AfterAckQueue({ maxWaiting: config.slack.maxWaitingCommands });
  registerCommands(
    gatedApp(app, deps.store, deps.logger, afterAck, (work) => ops.inFlight.track(work)),
    deps,
  );
  if (allSecrets.githubWebhookSecret) {
    const env = opts.env ?? process.env;
    routes[GITHUB_EVENTS_PATH] = githubWebhookRoute({
      secret: allSecrets.githubWebhookSecret,
      maxBytes: config.guard.maxPayloadBytes,
      firstDelivery: (key) => deps.store.firstDelivery(key, config.guard.deliveryWindowHours * 3600_000),
      logger: deps.logger,
      installationId: env.GITHUB_APP_INSTALLATION_ID || undefined,
      track: (work) => ops.inFlight.track(work),
      checkPull: async (pr, trigger) => {
        const started = Date.now();
        try {
          const result = await checkPullRequest(deps, pr, {
            output: renderPullCheck,
            notify: (note) => slack.post(note.channel, renderGuardNote(note)),
          });
          deps.logger.info(
            {
              repo: pr.repo,
              pr: pr.number,
              trigger,
              conclusion: result.check?.conclusion,
              skipped: result.skipped,
              requests: result.githubRequests,
              ms: Date.now() - started,
            },
            'pull request checked',
          );
        } catch (err) {
          deps.logger.error({ err: (err as Error).message, repo: pr.repo, pr: pr.number, trigger }, 'pull request check failed');
        }
      },
      pullMerged: async (pr) => {
        try {
          const service = await noteMergedPull(deps, pr);
          if (service) deps.logger.info({ repo: pr.repo, pr: pr.number, service }, 'selectors PR merged: its pods are watched');
        } catch (err) {
          deps.logger.error({ err: (err as Error).message, repo: pr.repo, pr: pr.number }, 'merged pull request not recorded');
        }
      },
    });
  }
  const digestSchedule = deps.kube ? createDigestSchedule(deps, slack, isLeader) : undefined;
  let stopCanaries: (() => Promise<void>) | undefined;
  return {
    deps,
    app,
    slack,
    ops,
    moveWatcher,
    async start() {
      const warning = await discoverServices(deps).catch((err: Error) => err.message);
      if (warning) deps.logger.warn({ warning }, 'service discovery incomplete');
      if (deps.canary) await refuseBadMetricQueries(deps.canary, deps.catalog, deps.logger);
      await app.init().catch((err: Error) => {
        throw new SlackStartError(
          `Slack refused the bot token or could not be reached (${err.message}). Check SLACK_BOT_TOKEN and the network.`,
        );
      });
      const server = (await app.start(config.slack.port)) as Server | undefined;
      await ops.start();
      if (canary) stopCanaries = startCanaryScheduler(canary, deps);
      moveWatcher?.start();
      // Arming the schedule may post a missed slot; start-up does not wait for that.
      void digestSchedule
        ?.start()
        .then((outcome) => deps.logger.info({ outcome, next: digestSchedule.nextRun() }, 'digest schedule armed'))
        .catch((err: unknown) => deps.logger.error({ err }, 'digest schedule failed to start'));
      deps.logger.info({ mode: config.slack.mode, services: deps.catalog.names().length }, 'archshift is running');
      return config.slack.mode === 'http' ? server : undefined;
    },
    async stop() {
      ops.beginShutdown();
      await app.stop();
      await stopCanaries?.();
      await moveWatcher?.stop();
      await digestSchedule?.stop();
      await ops.finish();
      await deps.store.close();
    },
  };
}
