// Composition root: config → adapters → use cases → Bolt app. Nothing else constructs adapters.
import type { Server } from 'node:http';
import bolt from '@slack/bolt';
import type { KubeConfig } from '@kubernetes/client-node';
import { WebClient } from '@slack/web-api';
import { registerCommands } from '../commands/index.ts';
import { Authorizer, SlackGroupDirectory } from './auth/authorize.ts';
import { Catalog } from './config/catalog.ts';
import { discoverServices } from './config/discover.ts';
import type { Config } from './config/schema.ts';
import { readSecrets, requireSlackSecrets, type Secrets } from './config/secrets.ts';
import { createGitHubClient } from './adapters/github.ts';
import { Kubernetes } from './adapters/kubernetes.ts';
import { createRegistryClient } from './adapters/registry.ts';
import { createMavenRepository } from './adapters/maven.ts';
import { SlackPoster } from './adapters/slack.ts';
import { Store, type StoreLockMode } from './adapters/store.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Deps } from './deps.ts';
import { createLogger, type Logger } from './logger.ts';
import { UserError } from './errors.ts';
import { buildCanaryController, startCanaryScheduler } from './canary/wire.ts';
import { createDigestSchedule } from './digest/digest.ts';
import { DeliveryLog, dropRepeatedDeliveries } from './ops/dedupe.ts';
import { FORWARDED_CONTEXT_KEY } from './ops/forward.ts';
import { createOpsRuntime, type OpsRuntime } from './ops/runtime.ts';

const { App, HTTPReceiver, LogLevel } = bolt;

export interface BuildOptions {
  logger?: Logger;
  clock?: Clock;
  /** Tests hand in a kubeconfig for the API double instead of reading ~/.kube. */
  kubeConfig?: KubeConfig;
  secrets?: Secrets;
  /** `if-free` for the CLI: read-only while a bot holds the store (see StoreLockMode). */
  storeLock?: StoreLockMode;
  /** Where GitHub and registry credentials are read from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** The file `config` was loaded from, so it can be reloaded (Deps.configFile). */
  configFile?: string;
}

function clusterConfigured(config: Config): boolean {
  return Boolean(config.kubernetes.kubeconfig || config.kubernetes.contexts.length || process.env.KUBECONFIG || process.env.KUBERNETES_SERVICE_HOST);
}

/** Everything a use case needs; used by the bot and by the CLI. Opens the store (and fails if it is corrupt). */
export async function buildDeps(config: Config, opts: BuildOptions = {}): Promise<Deps> {
  const logger = opts.logger ?? createLogger();
  const store = await Store.open(config.store.file, opts.storeLock);
  const kube = opts.kubeConfig || clusterConfigured(config) ? await Kubernetes.fromConfig(config.kubernetes, opts.kubeConfig) : undefined;
  const clock = opts.clock ?? systemClock;
  const env = opts.env ?? process.env;
  return {
    config,
    catalog: new Catalog(config.catalog),
    store,
    logger,
    clock,
    auth: new Authorizer(config.auth),
    kube,
    registry: createRegistryClient({ config: config.registry, store, logger, env, now: () => clock.now().getTime(), blobTimeoutMs: config.registry.blobTimeoutMs }),
    github: createGitHubClient(config.github, logger, env),
    maven: config.maven.transitive ? createMavenRepository({ config: config.maven, env, store, now: () => clock.now() }) : undefined,
    configFile: opts.configFile,
  };
}

export class SlackStartError extends UserError {}

export interface Bot {
  deps: Deps;
  app: InstanceType<typeof App>;
  slack: SlackPoster;
  /** Health, leader election (`ops.leadership.isLeader()` gates the schedule and canary ticks), shutdown. */
  ops: OpsRuntime;
  /** Starts the receiver; in HTTP mode resolves to the listening server. */
  start(): Promise<Server | undefined>;
  stop(): Promise<void>;
}

export async function createBot(config: Config, opts: BuildOptions = {}): Promise<Bot> {
  const allSecrets = opts.secrets ?? readSecrets(process.env);
  const secrets = requireSlackSecrets(config, allSecrets);
  const deps = await buildDeps(config, opts);
  const clientOptions = {
    ...(config.slack.apiUrl ? { slackApiUrl: config.slack.apiUrl } : {}),
    retryConfig: { retries: config.slack.retries, factor: 2, minTimeout: 200, maxTimeout: 30_000 },
    timeout: 10_000,
  };
  const logLevel = deps.logger.level === 'debug' ? LogLevel.DEBUG : LogLevel.ERROR;
  // Before the App, which calls Slack at once: a bad HA setup (no peer secret or address) stops here.
  const ops = createOpsRuntime(deps, new WebClient(secrets.botToken, { ...clientOptions, retryConfig: { retries: 0 }, timeout: config.server.probeTimeoutMs }), {
    secret: allSecrets.peerSecret,
    // The follower already acknowledged it; the handlers' respond() goes to the body's response_url.
    processEvent: (body) => app.processEvent({ body, ack: async () => undefined, customProperties: { [FORWARDED_CONTEXT_KEY]: true } }),
  });
  const app =
    config.slack.mode === 'socket'
      ? new App({ token: secrets.botToken, appToken: secrets.appToken, socketMode: true, clientOptions, logLevel, deferInitialization: true })
      : new App({
          token: secrets.botToken,
          clientOptions,
          // Bolt verifies the token with auth.test; deferred, a bad token fails start() with a message.
          deferInitialization: true,
          receiver: new HTTPReceiver({ signingSecret: secrets.signingSecret!, logLevel }),
        });
  app.error(async (err) => {
    deps.logger.error({ err }, 'unhandled Slack handler error');
  });
  const webClient = new WebClient(secrets.botToken, clientOptions);
  deps.auth = new Authorizer(config.auth, new SlackGroupDirectory(webClient, config.auth.groupCacheSeconds * 1000));
  // First: on a follower, Slack work goes to the leader and nothing below runs here.
  if (ops.forwarder) app.use(ops.forwarder);
  app.use(dropRepeatedDeliveries(new DeliveryLog(), deps.logger));
  app.use(ops.inFlight.middleware());
  registerCommands(app, deps);
  const slack = new SlackPoster(webClient);
  // Only the leader steps canaries and posts the scheduled digest; every replica serves commands.
  const isLeader = () => ops.leadership.isLeader();
  deps.canary = buildCanaryController(deps, { slack, isLeader, leaseHolder: config.server.leaderElection.enabled ? isLeader : undefined });
  const digestSchedule = deps.kube ? createDigestSchedule(deps, slack, isLeader) : undefined;
  let stopCanaries: (() => Promise<void>) | undefined;
  return {
    deps,
    app,
    slack,
    ops,
    async start() {
      const warning = await discoverServices(deps).catch((err: Error) => err.message);
      if (warning) deps.logger.warn({ warning }, 'service discovery incomplete');
      await app.init().catch((err: Error) => {
        throw new SlackStartError(`Slack refused the bot token or could not be reached (${err.message}). Check SLACK_BOT_TOKEN and the network.`);
      });
      const server = (await app.start(config.slack.port)) as Server | undefined;
      await ops.start();
      if (deps.canary) stopCanaries = startCanaryScheduler(deps.canary, deps);
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
      await digestSchedule?.stop();
      await ops.finish();
      await deps.store.close();
    },
  };
}
