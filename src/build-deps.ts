// The adapters every use case reaches (Deps), built from the config: the part of the composition root
// the CLI needs too. Kept apart from app.ts so a terminal command never loads Slack's Bolt and Web API,
// the ops server or the schedulers (start-up is part of every `archshift check`).
import type { KubeConfig } from '@kubernetes/client-node';
import { Authorizer } from './auth/authorize.ts';
import { Catalog } from './config/catalog.ts';
import type { Config } from './config/schema.ts';
import type { Secrets } from './config/secrets.ts';
import { createGitHubClient } from './adapters/github.ts';
import { Kubernetes } from './adapters/kubernetes.ts';
import { createRegistryClient } from './adapters/registry.ts';
import { AwsNodeGroups } from './adapters/aws.ts';
import { createMavenRepository } from './adapters/maven.ts';
import { openStore, type StoreLockMode } from './adapters/store.ts';
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
}

function clusterConfigured(config: Config): boolean {
  return Boolean(config.kubernetes.kubeconfig || config.kubernetes.contexts.length || process.env.KUBECONFIG || process.env.KUBERNETES_SERVICE_HOST);
}

/** Everything a use case needs; used by the bot and by the CLI. Opens the store (and fails if it is corrupt). */
export async function buildDeps(config: Config, opts: BuildOptions = {}): Promise<Deps> {
  const logger = opts.logger ?? createLogger();
  const store = await openStore(config.store, { lock: opts.storeLock, auditLimit: config.auth.auditLimit, env: opts.env });
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
    ...(config.aws ? { aws: new AwsNodeGroups(config.aws) } : {}),
    maven: config.maven.transitive ? createMavenRepository({ config: config.maven, env, store, now: () => clock.now() }) : undefined,
    configFile: opts.configFile,
  };
}
