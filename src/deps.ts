// What a use case may reach. Built once by src/app.ts (bot) or src/cli.ts (terminal); every adapter is
// cheap to construct and does no I/O until used, so the CLI can build Deps without Slack or a cluster.
import type { Config } from './config/schema.ts';
import type { Catalog } from './config/catalog.ts';
import type { Store } from './adapters/store.ts';
import type { Logger } from './logger.ts';
import type { Clock } from './clock.ts';
import type { Authorizer } from './auth/authorize.ts';
import type { Kubernetes } from './adapters/kubernetes.ts';
import type { GitHubClient } from './adapters/github.ts';
import type { ImageInspector } from './readiness/image-types.ts';
import type { CanaryController } from './canary/controller.ts';
import type { AwsNodeGroups } from './adapters/aws.ts';
import type { PomReader } from './adapters/maven.ts';

export interface Deps {
  config: Config;
  catalog: Catalog;
  store: Store;
  logger: Logger;
  clock: Clock;
  auth: Authorizer;
  /** Absent when no cluster is configured (e.g. the CLI on a laptop). */
  kube?: Kubernetes;
  /** The registry adapter (createRegistryClient); absent means every image is "unknown". */
  registry?: ImageInspector;
  /** The Maven repository adapter; present when `maven.transitive` is on (dependency trees from POMs). */
  maven?: PomReader;
  /** Absent when no GitHub credentials are set (GITHUB_TOKEN or GITHUB_APP_*); PR commands then say so. */
  github?: GitHubClient;
  /** Absent without `aws.region`: node groups are then not read by `nodes`. */
  aws?: AwsNodeGroups;
  /** Absent without a cluster or canary.prometheusUrl; canary commands then say what is missing. */
  canary?: CanaryController;
  /** The config file the bot was started from; `/arm64 reload` and SIGHUP re-read it. Absent: no reload. */
  configFile?: string;
}
