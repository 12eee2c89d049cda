import { z } from 'zod';
import { prometheusAuthSchema } from '../adapters/prometheus.ts';
import { metricLibrarySchema } from './metrics.ts';

// Every default lives in the schema (`prefault` parses `{}` through it), so the example config, the
// CLI and the bot all see the same numbers.

const gatesSchema = z
  .object({
    /** Wait for `resume` before the first weight moves. */
    beforeStart: z.boolean().default(false),
    /** Wait for `resume` before every increase after the first. */
    beforeIncrease: z.boolean().default(false),
    /** Wait for `promote` (or `resume`) before the step to 100% arm64. */
    beforePromotion: z.boolean().default(true),
  })
  .strict();

const thresholdsSchema = z
  .object({
    /** Lowest arm64 success rate (non-5xx share, percent). */
    minSuccessRate: z.number().min(0).max(100).default(99),
    /** Most the arm64 success rate may fall below amd64's, in percentage points. */
    maxSuccessRateDrop: z.number().min(0).max(100).default(1),
    /** Highest arm64 p99 latency in milliseconds. */
    maxP99Ms: z.number().positive().default(500),
    /** arm64 p99 may be at most this multiple of amd64's (1.2 = 20% slower). */
    maxP99Ratio: z.number().positive().default(1.2),
    /** Highest arm64 CPU per request in CPU milliseconds; unset = no absolute limit. */
    maxCpuMsPerRequest: z.number().positive().optional(),
    /** arm64 CPU per request may be at most this multiple of amd64's; null = informational only. */
    maxCpuRatio: z.number().positive().nullable().default(1.5),
  })
  .strict();

const istioSchema = z
  .object({
    /** VirtualService name; `{service}` is replaced by the service name. */
    virtualService: z.string().min(1).default('{service}'),
    /** DestinationRule name; `{service}` as above. */
    destinationRule: z.string().min(1).default('{service}'),
    /** Which `spec.http[]` route the canary moves: by `name`, or the first one when unset. */
    httpRoute: z.string().min(1).optional(),
    /** Pod label the DestinationRule subsets select on (the canary PR adds `archshift.io/arch`). */
    archLabel: z.string().min(1).default('archshift.io/arch'),
    subsets: z
      .object({ amd64: z.string().min(1).default('amd64'), arm64: z.string().min(1).default('arm64') })
      .strict()
      .prefault({}),
    /** The arm64 copy of Deployment `X` is `X<suffix>`. */
    arm64Suffix: z.string().min(1).default('-arm64'),
  })
  .strict();

export const canaryConfigSchema = z
  .object({
    prometheusUrl: z.url().optional(),
    prometheusTimeoutMs: z.number().int().min(100).default(5000),
    /** Managed Prometheus: SigV4 (AMP), a bearer token or basic auth, and extra headers (X-Scope-OrgID). */
    prometheus: prometheusAuthSchema,
    /** Explicit arm64 weights; the last must be 100. Ignored when `stepWeight` is set. */
    steps: z.array(z.number().int().min(1).max(100)).min(1).default([5, 10, 25, 50, 100]),
    /** Flagger-style steps: stepWeight, 2×stepWeight … maxWeight, then 100. */
    stepWeight: z.number().int().min(1).max(100).optional(),
    maxWeight: z.number().int().min(1).max(100).optional(),
    intervalSeconds: z.number().int().min(1).default(600),
    failedChecksBeforeRollback: z.number().int().min(1).default(2),
    /** The PromQL rate window; shorter than the interval so each check sees only its own step. */
    analysisWindow: z
      .string()
      .regex(/^\d+[smh]$/, 'a PromQL duration like 5m')
      .default('5m'),
    /** Below this many requests per second on a side, its numbers are "no data", not a verdict. */
    minRequestRate: z.number().min(0).default(0.1),
    gates: gatesSchema.prefault({}),
    /** Thresholds of the built-in metrics (success rate, p99 latency, CPU per request). */
    thresholds: thresholdsSchema.prefault({}),
    /** Metric templates by name: PromQL with {{variables}}, thresholds, direction (src/canary/metrics.ts). */
    metrics: metricLibrarySchema,
    istio: istioSchema.prefault({}),
    /** A controller instance's hold on a canary lapses after this long without a tick (crash recovery). */
    lockTtlSeconds: z.number().int().min(5).default(120),
    /** How often the bot's scheduler calls tick(). */
    tickSeconds: z.number().int().min(1).default(15),
  })
  .strict()
  .prefault({});

export type CanaryConfig = z.infer<typeof canaryConfigSchema>;
export type CanaryThresholds = CanaryConfig['thresholds'];
export type CanaryGates = CanaryConfig['gates'];
