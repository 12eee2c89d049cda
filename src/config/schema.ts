// The configuration file's schema. Each feature owns its section's schema in its own folder; this file
// only assembles them, so `archshift.example.yml` and this file are the whole list of keys.
import { z } from 'zod';
import { catalogSchema } from './catalog-schema.ts';
import { knowledgeConfigSchema } from '../readiness/knowledge/config.ts';
import { readinessConfigSchema } from '../readiness/config.ts';
import { canaryConfigSchema } from '../canary/config.ts';
import { templatesFor } from '../canary/analysis.ts';
import { digestConfigSchema } from '../digest/config.ts';
import { authConfigSchema } from '../auth/config.ts';
import { serverConfigSchema } from '../ops/config.ts';
import { storeConfigSchema } from './store-config.ts';
import { guardConfigSchema } from '../guard/config.ts';
import { afterMoveConfigSchema, awsConfigSchema, clusterSettingsSchema } from '../nodes/config.ts';
import { mavenConfigSchema } from '../adapters/maven.ts';

const hostPattern = /^[a-z0-9.-]+(:\d+)?$/i;

export const slackConfigSchema = z
  .object({
    /** socket: Socket Mode over the app token (no public URL); http: Events API with the signing secret. */
    mode: z.enum(['socket', 'http']).default('socket'),
    port: z.number().int().min(0).max(65535).default(3000),
    /** The migration channel: digests and canary progress go here unless a service names its own. */
    channel: z.string().min(1).default('#arm64-migration'),
    /** Only for tests and Slack-compatible gateways; the real Slack API is the default. */
    apiUrl: z.url().optional(),
    /** Retries of a failed Web API call (429s wait for Retry-After first). */
    retries: z.number().int().min(0).max(10).default(5),
    /** The app's id (A…): requests for another app (`api_app_id`) are dropped. Unset: not checked. */
    appId: z
      .string()
      .regex(/^A[A-Z0-9]+$/, 'a Slack app id (A…)')
      .optional(),
    /** Home workspaces (T…); users of others (Slack Connect) are viewers. Default: the bot token's workspace. */
    teamIds: z.array(z.string().regex(/^T[A-Z0-9]+$/, 'a Slack workspace id (T…)')).default([]),
    /** Home Enterprise Grid organization (E…); default: the bot token's, if any. */
    enterpriseId: z
      .string()
      .regex(/^E[A-Z0-9]+$/, 'a Slack organization id (E…)')
      .optional(),
    /** Acknowledged commands and clicks that may wait for their turn to run; beyond it the ack answers "busy". */
    maxWaitingCommands: z.number().int().min(1).max(100_000).default(500),
  })
  .strict()
  .default({ mode: 'socket', port: 3000, channel: '#arm64-migration', retries: 5, teamIds: [], maxWaitingCommands: 500 });

export const githubConfigSchema = z
  .object({
    baseUrl: z.url().default('https://api.github.com'),
    /** Repos the bot may write to: `org/*` or `org/repo`. Empty means no writes at all. */
    allow: z.array(z.string().regex(/^[\w.-]+\/(\*|[\w.-]+)$/, 'owner/repo or owner/*')).default([]),
    /** Seconds between PR-creating requests for a whole batch; keeps 50 services under secondary limits. */
    writeIntervalMs: z.number().int().min(0).default(1000),
    /** Each GitHub request (one attempt) gives up after this long. */
    timeoutMs: z.number().int().min(100).default(15_000),
  })
  .strict()
  .default({ baseUrl: 'https://api.github.com', allow: [], writeIntervalMs: 1000, timeoutMs: 15_000 });

export const kubernetesConfigSchema = z
  .object({
    /** Path to a kubeconfig; default: in-cluster, then $KUBECONFIG, then ~/.kube/config. */
    kubeconfig: z.string().optional(),
    /** kubeconfig contexts, one per cluster; empty means the current context only. */
    contexts: z.array(z.string().min(1)).default([]),
    /** Per-context settings (the arm64 taint), keyed by context name. */
    clusters: z.record(z.string(), clusterSettingsSchema).default({}),
  })
  .strict()
  .default({ contexts: [], clusters: {} });

export const registryConfigSchema = z
  .object({
    /** Registries spoken to over plain HTTP (loopback always is, as Docker does). */
    insecure: z.array(z.string().regex(hostPattern, 'host or host:port')).default([]),
    /**
     * A Docker config.json (`auths`, `credHelpers`, `credsStore`); unset: $DOCKER_CONFIG/config.json,
     * else ~/.docker/config.json when it exists.
     */
    dockerConfig: z.string().optional(),
    /** Longest wait for a `docker-credential-<helper> get`. */
    credentialHelperTimeoutMs: z.number().int().min(100).default(10_000),
    /** Amazon ECR hosts get a pull token from GetAuthorizationToken (AWS SDK default credential chain). */
    ecr: z
      .object({
        enabled: z.boolean().default(true),
        /** Endpoint override for the ECR API (a VPC endpoint); unset for AWS itself. */
        endpoint: z.url().optional(),
        maxAttempts: z.number().int().min(1).max(10).default(3),
      })
      .strict()
      .default({ enabled: true, maxAttempts: 3 }),
    /** Credentials per registry host; the password is read from the named environment variable. */
    credentials: z.record(z.string(), z.object({ username: z.string().min(1), passwordEnv: z.string().min(1) }).strict()).default({}),
    /** How long a tag's answer is trusted; digests are cached for good. */
    tagTtlSeconds: z.number().int().min(0).default(3600),
    /**
     * How long a repository's tag list (the search for a newer tag with arm64) is trusted; dropped early
     * when a tag it named turns out to be gone. 0: listed every time.
     */
    tagListTtlSeconds: z.number().int().min(0).default(21_600),
    concurrency: z.number().int().min(1).max(256).default(16),
    timeoutMs: z.number().int().min(100).default(10000),
    /** A whole layer download (image-layer scans) may take this long. */
    blobTimeoutMs: z.number().int().min(1000).default(600_000),
    retries: z.number().int().min(0).max(10).default(3),
    /**
     * Registry mirrors and pull-through caches: upstream registry -> prefixes that serve it, e.g.
     * `docker.io: [registry.example.com/proxy]`. Image-name rules (successors, release lines, system
     * components) see through them.
     */
    mirrors: z
      .record(
        z.string().regex(hostPattern, 'host or host:port'),
        z.array(z.string().regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/i, 'host[:port][/path]')).min(1),
      )
      .default({}),
  })
  .strict()
  .default({
    insecure: [],
    credentialHelperTimeoutMs: 10_000,
    ecr: { enabled: true, maxAttempts: 3 },
    credentials: {},
    tagTtlSeconds: 3600,
    tagListTtlSeconds: 21_600,
    concurrency: 16,
    timeoutMs: 10000,
    blobTimeoutMs: 600_000,
    retries: 3,
    mirrors: {},
  });

export const configSchema = z
  .object({
    slack: slackConfigSchema,
    github: githubConfigSchema,
    kubernetes: kubernetesConfigSchema,
    registry: registryConfigSchema,
    maven: mavenConfigSchema,
    catalog: catalogSchema,
    readiness: readinessConfigSchema,
    knowledge: knowledgeConfigSchema,
    canary: canaryConfigSchema,
    digest: digestConfigSchema,
    auth: authConfigSchema,
    store: storeConfigSchema,
    server: serverConfigSchema,
    guard: guardConfigSchema,
    /** AWS node groups for `nodes` (optional). */
    aws: awsConfigSchema.optional(),
    /** Watching pods after a canary starts or a selectors PR merges. */
    afterMove: afterMoveConfigSchema,
  })
  .strict()
  .superRefine((c, ctx) => {
    // Each service's metric entries resolve against canary.metrics and the built-ins (a query, a direction).
    const defaults = c.catalog.defaults.metrics ?? {};
    for (const [name, entry] of [['defaults', {}], ...Object.entries(c.catalog.services)] as const) {
      const own = entry.metrics ?? {};
      const merged = Object.fromEntries(
        [...new Set([...Object.keys(defaults), ...Object.keys(own)])].map((k) => {
          const [d, o] = [defaults[k], own[k]];
          return [k, o === undefined ? d : o === false || d === undefined || d === false ? o : { ...d, ...o }];
        }),
      );
      try {
        templatesFor(c.canary, merged);
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          path: name === 'defaults' ? ['catalog', 'defaults', 'metrics'] : ['catalog', 'services', name, 'metrics'],
          message: (err as Error).message,
        });
      }
    }
  });

export type Config = z.infer<typeof configSchema>;
