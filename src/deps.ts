// Everything the composition roots build: src/app.ts (bot) and src/cli.ts (terminal) make it once, in
// order, and hand it to the surfaces (commands/, src/cli/). Use cases never import this bag: each
// declares the narrow interface of what it uses (CheckNeeds, OpenPrsNeeds, ...), which the bag satisfies.
// Every adapter is cheap to construct and does no I/O until used, so the CLI can build it without Slack
// or a cluster.
import type { Config } from './config/schema.ts';
import type { Catalog } from './config/catalog.ts';
import type { Store } from './adapters/store.ts';
import type { Logger } from './logger.ts';
import type { Clock } from './clock.ts';
import type { Authorizer } from './auth/authorize.ts';
import type { Kubernetes } from './adapters/kubernetes.ts';
import type { GitHubClient } from './adapters/github.ts';
import type { ImageInspector } from './images/types.ts';
import type { CanaryController } from './canary/controller.ts';
import type { AwsNodeGroups } from './adapters/aws.ts';
import type { PomReader } from './adapters/maven.ts';
import type { Live, Settings } from './config/live.ts';

export interface Deps {
  /** Read through `settings` in a bag the composition root built: a reload swaps all three at once. */
  readonly config: Config;
  readonly catalog: Catalog;
  readonly auth: Authorizer;
  readonly store: Store;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Absent when no cluster is configured (e.g. the CLI on a laptop). */
  readonly kube?: Kubernetes;
  /** The registry adapter (createRegistryClient); absent means every image is "unknown". */
  readonly registry?: ImageInspector;
  /** The Maven repository adapter; present when `maven.transitive` is on (dependency trees from POMs). */
  readonly maven?: PomReader;
  /** Absent when no GitHub credentials are set (GITHUB_TOKEN or GITHUB_APP_*); PR commands then say so. */
  readonly github?: GitHubClient;
  /** Absent without `aws.region`: node groups are then not read by `nodes`. */
  readonly aws?: AwsNodeGroups;
  /** Absent without a cluster or canary.prometheusUrl; canary commands then say what is missing. */
  readonly canary?: CanaryController;
  /** The config file the bot was started from; `/arm64 reload` and SIGHUP re-read it. Absent: no reload. */
  readonly configFile?: string;
  /** The holder a reload swaps config, catalog and roles in; absent in a bag built by hand (tests): no reload. */
  readonly settings?: Live<Settings>;
}
