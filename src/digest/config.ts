import { z } from 'zod';
import { validate as validCron } from 'node-cron';

/**
 * Default on-demand prices, USD per hour for the `large` size, Linux, us-east-1, read from the AWS
 * price list on the date below. They are estimates for a trend, not a bill: override them per instance
 * type under `digest.prices` with your region's or your discounts' figures.
 */
export const DEFAULT_PRICES_AS_OF = '2026-11-01';
const largeHourly: Record<string, number> = {
  // x86
  m5: 0.096,
  m6i: 0.096,
  m6a: 0.0864,
  m7i: 0.1008,
  m7a: 0.11592,
  c5: 0.085,
  c6i: 0.085,
  c6a: 0.0765,
  c7i: 0.08925,
  c7a: 0.10264,
  r5: 0.126,
  r6i: 0.126,
  r6a: 0.1134,
  r7i: 0.1323,
  r7a: 0.15215,
  t3: 0.0832,
  t3a: 0.0752,
  // Graviton (arm64)
  m6g: 0.077,
  m7g: 0.0816,
  m8g: 0.08976,
  c6g: 0.068,
  c7g: 0.0725,
  c8g: 0.07976,
  r6g: 0.1008,
  r7g: 0.1071,
  r8g: 0.11782,
  t4g: 0.0672,
};
/** Size → multiple of `large`; the families above scale linearly with size. */
const sizeFactor: Record<string, number> = {
  medium: 0.5,
  large: 1,
  xlarge: 2,
  '2xlarge': 4,
  '4xlarge': 8,
  '8xlarge': 16,
  '12xlarge': 24,
  '16xlarge': 32,
  '24xlarge': 48,
};

/** The instance-type prices that ship with archshift (every family above × every size above). */
export function defaultPrices(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [family, large] of Object.entries(largeHourly)) {
    for (const [size, factor] of Object.entries(sizeFactor)) out[`${family}.${size}`] = Math.round(large * factor * 1e5) / 1e5;
  }
  return out;
}

/** x86 family → the Graviton family a workload would move to (same role, similar generation). */
export const DEFAULT_ARM64_EQUIVALENTS: Record<string, string> = {
  m5: 'm6g',
  m6i: 'm7g',
  m6a: 'm7g',
  m7i: 'm8g',
  m7a: 'm8g',
  c5: 'c6g',
  c6i: 'c7g',
  c6a: 'c7g',
  c7i: 'c8g',
  c7a: 'c8g',
  r5: 'r6g',
  r6i: 'r7g',
  r6a: 'r7g',
  r7i: 'r8g',
  r7a: 'r8g',
  t3: 't4g',
  t3a: 't4g',
};

const dayPattern = /^\d{4}-\d{2}-\d{2}$/;

const defaults = {
  schedule: '0 9 * * 1-5',
  timezone: 'UTC',
  teamDigests: true,
  historyDays: 400,
  catchUpHours: 6,
  prices: {},
  pricesAsOf: DEFAULT_PRICES_AS_OF,
  arm64Equivalents: {},
  hoursPerMonth: 730,
  currency: 'USD',
  teamLabels: ['archshift.io/team', 'team', 'app.kubernetes.io/team', 'owner'],
  sidecarContainers: ['istio-proxy', 'istio-init', 'linkerd-proxy', 'envoy', 'vault-agent', 'cloud-sql-proxy', 'datadog-agent'],
  topN: 5,
  chartFonts: [],
};

export const digestConfigSchema = z
  .object({
    /** Five-field cron expression, read in `timezone`. Default: weekdays at 09:00. */
    schedule: z
      .string()
      .min(1)
      .refine((s) => s.trim().split(/\s+/).length === 5 && validCron(s), 'a five-field cron expression, e.g. "0 9 * * 1-5"')
      .default(defaults.schedule),
    timezone: z
      .string()
      .min(1)
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'an IANA time zone such as "Europe/Berlin"')
      .default(defaults.timezone),
    /** Where the daily digest goes; default: `slack.channel`. */
    channel: z.string().min(1).optional(),
    /** Also post a team-filtered digest to each team channel the catalog names. */
    teamDigests: z.boolean().default(defaults.teamDigests),
    /** Daily points kept per cluster (older ones are dropped). */
    historyDays: z.number().int().min(31).max(3660).default(defaults.historyDays),
    /** A scheduled run missed while the bot was down is posted at start-up if it is at most this old. */
    catchUpHours: z.number().min(0).max(72).default(defaults.catchUpHours),
    /** USD (or `currency`) per hour by instance type; merged over the built-in estimates. */
    prices: z
      .record(z.string().regex(/^[a-z0-9-]+\.[a-z0-9-]+$/, 'an instance type such as m6i.large'), z.number().positive())
      .default(defaults.prices),
    /** The date your `prices` were read; shown beside every cost figure. */
    pricesAsOf: z.string().regex(dayPattern, 'a date YYYY-MM-DD').default(defaults.pricesAsOf),
    /** x86 instance family → arm64 family used to price a move; merged over the built-in table. */
    arm64Equivalents: z.record(z.string().regex(/^[a-z0-9-]+$/), z.string().regex(/^[a-z0-9-]+$/)).default(defaults.arm64Equivalents),
    hoursPerMonth: z.number().positive().default(defaults.hoursPerMonth),
    currency: z.string().min(1).max(8).default(defaults.currency),
    /** Labels or annotations naming a workload's owner team, first found wins (after the catalog). */
    teamLabels: z.array(z.string().min(1)).default(defaults.teamLabels),
    /** Container names that are sidecars injected into many workloads (native sidecars are always detected). */
    sidecarContainers: z.array(z.string().min(1)).default(defaults.sidecarContainers),
    /** Rows per list in the digest (namespaces, teams, ready, blockers). */
    topN: z.number().int().min(1).max(20).default(defaults.topN),
    /** TTF/OTF files for the chart's text when the host has no system fonts (e.g. distroless images). */
    chartFonts: z.array(z.string().min(1)).default(defaults.chartFonts),
  })
  .strict()
  .default(defaults);

export type DigestConfig = z.infer<typeof digestConfigSchema>;
