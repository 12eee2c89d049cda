// Metric templates, as Flagger's MetricTemplate and Argo Rollouts' AnalysisTemplate: a named PromQL query
// with {{variables}}, read once per architecture and judged against absolute bounds, against the amd64
// side (ratio or difference, in the direction that is worse), or both. The built-in Istio/cAdvisor
// metrics are templates too. A query with no series is "no data" (the canary holds), never a pass.
// Reading and judging are separate so any canary kind (Istio weights, replica steps) can use them.
import { z } from 'zod';
import { PrometheusError, type Prometheus } from '../adapters/prometheus.ts';
import { UserError } from '../errors.ts';

export const TEMPLATE_VARIABLES = ['namespace', 'service', 'workload', 'arch', 'interval'] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
/** What a query is filled with for one side of a canary. */
export type TemplateVars = Record<TemplateVariable, string>;

export type Better = 'higher' | 'lower';

/** A template as judged: its name, query and thresholds. Stored in the canary record (the target). */
export interface MetricTemplate {
  name: string;
  query: string;
  better: Better;
  /** Shown after values in the progress table (`%`, `ms`, `orders/s`). */
  unit?: string;
  /** Absolute bounds on the arm64 value. */
  min?: number;
  max?: number;
  /** How much worse than amd64 arm64 may be: `ratio` (≥ 1, times) and/or `difference` (units), in the worse direction. */
  ratio?: number;
  difference?: number;
  /** This metric's own rollback limit; unset: it counts toward the canary's failedChecksBeforeRollback. */
  failedChecks?: number;
  /** Where to look when the query returns nothing (added to the "no data" reason). */
  hint?: string;
}

const VARIABLE = /\{\{\s*([a-zA-Z_]+)\s*(?:\|\s*([a-z]+)\s*)?\}\}/g;

/** Unknown variables or filters in a query, as messages (empty when the query is fine). */
export function templateProblems(query: string): string[] {
  const problems: string[] = [];
  for (const [whole, name, filter] of query.matchAll(VARIABLE)) {
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name))
      problems.push(`unknown variable ${whole} (known: ${TEMPLATE_VARIABLES.map((v) => `{{${v}}}`).join(', ')})`);
    if (filter !== undefined && filter !== 'regex') problems.push(`unknown filter "${filter}" in ${whole} (known: regex)`);
  }
  return problems;
}

/** RE2 escape of a literal inside a PromQL string used with `=~` (the backslashes doubled for the string). */
function regexLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
}

/** The query with its variables filled; `{{workload | regex}}` is escaped for `=~`. */
export function renderQuery(query: string, vars: TemplateVars): string {
  return query.replace(VARIABLE, (whole, name: string, filter?: string) => {
    const value = vars[name as TemplateVariable];
    if (value === undefined) return whole;
    return filter === 'regex' ? regexLiteral(value) : value;
  });
}

// ---- configuration -----------------------------------------------------------------------------

const templateName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._/()-]{0,47}$/, 'letters, digits, spaces and ._/()- (at most 48)');

const templateFields = {
  query: z
    .string()
    .min(1)
    .superRefine((q, ctx) => {
      for (const message of templateProblems(q)) ctx.addIssue({ code: 'custom', message });
    }),
  better: z.enum(['higher', 'lower']),
  unit: z.string().min(1).max(16).optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  relative: z
    .object({
      /** arm64 may be this many times worse than amd64 (1.2 = 20 % worse). */
      ratio: z.number().min(1).optional(),
      /** arm64 may be this many units worse than amd64. */
      difference: z.number().min(0).optional(),
    })
    .strict()
    .optional(),
  failedChecks: z.number().int().min(1).optional(),
  /** Where to look when the query returns nothing, e.g. "is the orders exporter scraped?". */
  noDataHint: z.string().min(1).max(200).optional(),
};

/** `canary.metrics.<name>`: a template every service may use; `allServices` judges every canary by it. */
export const metricTemplateSchema = z.object({ ...templateFields, allServices: z.boolean().default(false) }).strict();

/**
 * `catalog.services.<svc>.metrics.<name>`: a new template (with a query), changes to one of
 * `canary.metrics` or the built-ins (any fields), or `false` to leave a built-in or `allServices` one out.
 */
export const serviceMetricSchema = z.union([z.literal(false), z.object(templateFields).partial().strict()]);

export const metricLibrarySchema = z.record(templateName, metricTemplateSchema).default({});
export const serviceMetricsSchema = z.record(templateName, serviceMetricSchema);

export type MetricTemplateConfig = z.infer<typeof metricTemplateSchema>;
export type ServiceMetricConfig = z.infer<typeof serviceMetricSchema>;

function fromConfig(name: string, c: Partial<Omit<MetricTemplateConfig, 'allServices'>>, base?: MetricTemplate): MetricTemplate | string {
  const merged: Partial<MetricTemplate> = { ...base };
  for (const key of ['query', 'better', 'unit', 'min', 'max', 'failedChecks'] as const)
    if (c[key] !== undefined) Object.assign(merged, { [key]: c[key] });
  if (c.noDataHint !== undefined) merged.hint = c.noDataHint;
  if (c.relative?.ratio !== undefined) merged.ratio = c.relative.ratio;
  if (c.relative?.difference !== undefined) merged.difference = c.relative.difference;
  if (!merged.query) return `metric "${name}" has no query, and neither canary.metrics nor the built-ins define one by that name`;
  if (!merged.better) return `metric "${name}" needs \`better: higher\` or \`better: lower\``;
  if (merged.min !== undefined && merged.max !== undefined && merged.min > merged.max)
    return `metric "${name}": min ${merged.min} is above max ${merged.max}`;
  return { ...merged, name } as MetricTemplate;
}

/** A template that cannot be resolved (no query, no direction, min above max): refused when the config loads. */
export class MetricConfigError extends UserError {}

/**
 * The templates a service's canary is judged by: the built-ins and the `allServices` templates of
 * `canary.metrics`, then the service's own entries (new ones, changes, or `false` to leave one out).
 */
export function resolveTemplates(
  builtins: MetricTemplate[],
  library: Record<string, MetricTemplateConfig>,
  service: Record<string, ServiceMetricConfig> = {},
): MetricTemplate[] {
  const byName = new Map<string, MetricTemplate>(builtins.map((b) => [b.name, b]));
  const problems: string[] = [];
  for (const [name, c] of Object.entries(library)) {
    const t = fromConfig(name, c, byName.get(name));
    if (typeof t === 'string') problems.push(t);
    else if (c.allServices || byName.has(name)) byName.set(name, t);
  }
  for (const [name, c] of Object.entries(service)) {
    if (c === false) {
      byName.delete(name);
      continue;
    }
    const lib = library[name];
    const base = byName.get(name) ?? (lib ? fromConfig(name, lib) : undefined);
    const t = fromConfig(name, c, typeof base === 'string' ? undefined : base);
    if (typeof t === 'string') problems.push(t);
    else byName.set(name, t);
  }
  if (problems.length) throw new MetricConfigError(problems.join('; '));
  return [...byName.values()];
}

// ---- reading and judging -----------------------------------------------------------------------

/** One side's values by template name; a template without a finite value is absent. */
export interface SideReading {
  values: Record<string, number>;
  /** Why something is missing, in words that point at a fix. */
  noData: string[];
}

/** Reads every template for one side at `time`. Prometheus errors become no-data reasons, not exceptions. */
export async function readMetrics(prom: Prometheus, templates: MetricTemplate[], vars: TemplateVars, time: Date): Promise<SideReading> {
  const reading: SideReading = { values: {}, noData: [] };
  const results = await Promise.allSettled(templates.map((t) => prom.value(renderQuery(t.query, vars), time)));
  const errors = new Set<string>();
  results.forEach((r, i) => {
    const t = templates[i];
    if (r.status === 'rejected') {
      if (!(r.reason instanceof PrometheusError)) throw r.reason;
      errors.add(r.reason.message);
    } else if (r.value !== undefined) reading.values[t.name] = r.value;
    else if (judged(t))
      reading.noData.push(
        `no series for ${t.name} on ${vars.namespace}/${vars.workload}: the query returned nothing${t.hint ? ` (${t.hint})` : ''}`,
      );
  });
  reading.noData.push(...errors);
  return reading;
}

/** A template with no threshold is shown, never judged: its absence is no gap. */
function judged(t: MetricTemplate): boolean {
  return t.min !== undefined || t.max !== undefined || t.ratio !== undefined || t.difference !== undefined;
}

export type Verdict = 'pass' | 'fail' | 'no-data';

/**
 * One comparison of a check, as facts (surfaces word it): the arm64 value against an absolute bound
 * (`min`/`max`: `limit` is the bound) or against amd64 (`ratio`/`difference`: `limit` is how much
 * worse arm64 may be, `observed` how much worse it is, negative when better).
 */
export interface CheckLine {
  metric: string;
  ok: boolean;
  bound: 'min' | 'max' | 'ratio' | 'difference';
  arm64: number;
  limit: number;
  amd64?: number;
  observed?: number;
  unit?: string;
  better?: Better;
}

export interface Judgement {
  verdict: Verdict;
  lines: CheckLine[];
  /** Set when the verdict is no-data. */
  noData: string[];
}

/** How much worse arm64 is than amd64, in the direction that is worse (negative: better). */
function worseBy(t: MetricTemplate, arm64: number, amd64: number): { ratio: number; difference: number } {
  const higher = t.better === 'higher';
  const difference = higher ? amd64 - arm64 : arm64 - amd64;
  // Both at zero are equal; worse from zero is infinitely worse.
  const [num, den] = higher ? [amd64, arm64] : [arm64, amd64];
  const ratio = den === 0 ? (num === 0 ? 1 : Infinity) : num / den;
  return { ratio, difference };
}

/**
 * Judges arm64 against every template. `baseline` is amd64's reading: the current one, or the last good
 * one when amd64 no longer gets traffic. A definite failure fails even when other metrics have no data.
 */
export function judge(
  templates: MetricTemplate[],
  arm64: SideReading,
  baseline: SideReading | undefined,
  arm64NoData = arm64.noData,
): Judgement {
  const noData = [...arm64NoData];
  const lines: CheckLine[] = [];
  for (const t of templates) {
    const v = arm64.values[t.name];
    if (v === undefined) continue;
    const facts = { metric: t.name, arm64: v, ...(t.unit ? { unit: t.unit } : {}), better: t.better };
    if (t.min !== undefined) lines.push({ ...facts, ok: v >= t.min, bound: 'min', limit: t.min });
    if (t.max !== undefined) lines.push({ ...facts, ok: v <= t.max, bound: 'max', limit: t.max });
    if (t.ratio === undefined && t.difference === undefined) continue;
    const base = baseline?.values[t.name];
    if (base === undefined) {
      noData.push(`no amd64 baseline for ${t.name}: ${baseline?.noData.join('; ') || 'amd64 has not been measured yet'}`);
      continue;
    }
    const worse = worseBy(t, v, base);
    if (t.ratio !== undefined)
      lines.push({ ...facts, ok: worse.ratio <= t.ratio, bound: 'ratio', limit: t.ratio, amd64: base, observed: worse.ratio });
    if (t.difference !== undefined)
      lines.push({
        ...facts,
        ok: worse.difference <= t.difference,
        bound: 'difference',
        limit: t.difference,
        amd64: base,
        observed: worse.difference,
      });
  }
  const failed = lines.some((l) => !l.ok);
  return { verdict: failed ? 'fail' : noData.length ? 'no-data' : 'pass', lines, noData: failed ? [] : noData };
}

/**
 * Counts a failed check and says whether to roll back. Metrics with their own `failedChecks` count
 * apart (`perMetric`); a check failed by any other metric counts toward the canary's `limit` (`shared`).
 */
export function countFailure(
  templates: MetricTemplate[],
  failed: CheckLine[],
  counts: { shared: number; perMetric: Record<string, number> },
  limit: number,
): { shared: number; perMetric: Record<string, number>; rollback: boolean; worst: { failedChecks: number; limit: number } } {
  const own = new Map(templates.filter((t) => t.failedChecks !== undefined).map((t) => [t.name, t.failedChecks!]));
  const names = new Set(failed.map((l) => l.metric));
  const perMetric = { ...counts.perMetric };
  let shared = counts.shared;
  if ([...names].some((n) => !own.has(n))) shared++;
  let worst = { failedChecks: shared, limit };
  for (const n of names) {
    if (!own.has(n)) continue;
    perMetric[n] = (perMetric[n] ?? 0) + 1;
    if (perMetric[n] / own.get(n)! > worst.failedChecks / worst.limit) worst = { failedChecks: perMetric[n], limit: own.get(n)! };
  }
  return { shared, perMetric, rollback: worst.failedChecks >= worst.limit, worst };
}

/** A query Prometheus refused to parse: where it is configured (a config path or a metric name), the query, Prometheus's error. */
export interface InvalidQuery {
  where: string;
  query: string;
  error: string;
}

/** Values a validation fills in: parsing does not depend on them (all are plain names). */
const PROBE: Omit<TemplateVars, 'interval'> = {
  namespace: 'default',
  service: 'archshift-validation',
  workload: 'archshift-validation',
  arch: 'amd64',
};

/**
 * Asks Prometheus to parse every template's query (a query at time 0: Prometheus 2.42, as Debian ships
 * it, has no parse endpoint, and managed ones differ). Returns the problems; an unreachable Prometheus
 * is reported as such, not as a bad query.
 */
export async function validateTemplates(
  prom: Prometheus,
  templates: Array<{ where: string; query: string }>,
  interval: string,
): Promise<{ invalid: InvalidQuery[]; unreachable?: string }> {
  const invalid: InvalidQuery[] = [];
  const seen = new Map<string, Promise<unknown>>();
  for (const { query } of templates) {
    const rendered = renderQuery(query, { ...PROBE, interval });
    if (!seen.has(rendered))
      seen.set(
        rendered,
        prom.query(rendered, new Date(0)).then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
  }
  let unreachable: string | undefined;
  for (const { where, query } of templates) {
    const err = await seen.get(renderQuery(query, { ...PROBE, interval }));
    if (!err) continue;
    if (!(err instanceof PrometheusError)) throw err;
    if (err.kind === 'query') invalid.push({ where, query, error: err.message });
    else unreachable ??= err.message;
  }
  return { invalid, ...(unreachable ? { unreachable } : {}) };
}
