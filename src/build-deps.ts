// The adapters every use case reaches (Deps), built from the config: the part of the composition root
// the CLI needs too. Kept apart from app.ts so a terminal command never loads Slack's Bolt and Web API,
// the ops server or the schedulers (start-up is part of every `archshift check`).
import type { KubeConfig } from '@kubernetes/client-node';
import { Authorizer, type GroupDirectory } from './auth/authorize.ts';
import { Catalog } from './config/catalog.ts';
import { Live, type Settings } from './config/live.ts';
import type { Config } from './config/schema.ts';
import type { Secrets } from './config/secrets.ts';
import type { GitHubClient } from './adapters/github.ts';
import { githubAuthFromEnv } from './adapters/github/credentials.ts';
import { Kubernetes } from './adapters/kubernetes.ts';
import { createRegistryClient, type RegistryMetrics } from './adapters/registry.ts';
import { AwsNodeGroups } from './adapters/aws.ts';
import { createMavenRepository } from './adapters/maven.ts';
import { openStore, type StoreLockMode } from './adapters/store.ts';
import { canaryCanRun } from './canary/availability.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Deps } from './deps.ts';
import { createLogger, type Logger } from './logger.ts';

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
  /** Tests hand in a GitHub adapter (e.g. with a shorter retry back-off) instead of the one built from config. */
  github?: GitHubClient;
  /** The bot's Prometheus counters for registry requests (the terminal serves no metrics). */
  registryMetrics?: RegistryMetrics;
}

function clusterConfigured(config: Config): boolean {
  return Boolean(
    config.kubernetes.kubeconfig || config.kubernetes.contexts.length || process.env.KUBECONFIG || process.env.KUBERNETES_SERVICE_HOST,
  );
}

/** The GitHub adapter when credentials are set; Octokit is loaded only then. */
async function gitHubFrom(config: Config, logger: Logger, env: NodeJS.ProcessEnv): Promise<GitHubClient | undefined> {
  const auth = githubAuthFromEnv(env);
  return auth && (await import('./adapters/github.ts')).createGitHubClient(config.github, logger, auth);
}

/** What buildParts makes: the bag without its live part, which `settings` holds. */
export type Parts = Omit<Deps, 'config' | 'catalog' | 'auth' | 'settings'> & { readonly settings: Live<Settings> };

/** Opens the store (and fails if it is corrupt) and builds every adapter; `groups` resolves Slack user groups in role grants. */
export async function buildParts(config: Config, opts: BuildOptions, groups?: GroupDirectory): Promise<Parts> {
  const logger = opts.logger ?? createLogger();
  const store = await openStore(config.store, { lock: opts.storeLock, auditLimit: config.auth.auditLimit, env: opts.env });
  const kube = opts.kubeConfig || clusterConfigured(config) ? await Kubernetes.fromConfig(config.kubernetes, opts.kubeConfig) : undefined;
  const clock = opts.clock ?? systemClock;
  const env = opts.env ?? process.env;
  return {
    settings: new Live<Settings>({ config, catalog: new Catalog(config.catalog), auth: new Authorizer(config.auth, groups) }),
    store,
    logger,
    clock,
    kube,
    registry: createRegistryClient({
      config: config.registry,
      store,
      logger,
      env,
      now: () => clock.now().getTime(),
      blobTimeoutMs: config.registry.blobTimeoutMs,
      metrics: opts.registryMetrics,
    }),
    github: opts.github ?? (await gitHubFrom(config, logger, env)),
    ...(config.aws ? { aws: new AwsNodeGroups(config.aws) } : {}),
    maven: config.maven.transitive ? createMavenRepository({ config: config.maven, env, store, now: () => clock.now() }) : undefined,
    configFile: opts.configFile,
  };
}

/** The bag over `parts`: config, catalog and roles are read from the settings holder on each use. */
export function assemble(parts: Parts): Deps {
  const { settings } = parts;
  return {
    ...parts,
    get config() {
      return settings.get().config;
    },
    get catalog() {
      return settings.get().catalog;
    },
    get auth() {
      return settings.get().auth;
    },
  };
}

/** The terminal's bag (and the tests'): every adapter, and a canary controller without a notifier. */
export async function buildDeps(config: Config, opts: BuildOptions = {}): Promise<Deps> {
  const parts = await buildParts(config, opts);
  // The canary code is loaded only where a canary can run.
  const bag = assemble(parts);
  const canary = canaryCanRun(bag) ? (await import('./canary/wire.ts')).buildCanaryController(bag) : undefined;
  return assemble({ ...parts, canary });
}
