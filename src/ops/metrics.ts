// The one Prometheus registry of the bot, served on /metrics by src/ops/server.ts. Features import the
// metric they count from here (one name per fact), so the exposition is the whole list of what we measure.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
// Process metrics (RSS, CPU, event-loop lag, heap) under the same prefix as ours.
collectDefaultMetrics({ register: registry, prefix: 'archshift_' });

/**
 * outcome: ok | refused (bad input) | forbidden | error | duplicate (a Slack retry we did not act on) |
 * forwarded (a follower handed it to the leader) | no-leader (a follower could not; the user was told to retry) |
 * busy (too many requests waited to run; the user was told to retry) | store-unavailable.
 */
export const commandsTotal = new Counter({
  name: 'archshift_commands_total',
  help: 'Slash commands and button clicks handled, by subcommand and outcome.',
  labelNames: ['subcommand', 'outcome'] as const,
  registers: [registry],
});

export const commandDuration = new Histogram({
  name: 'archshift_command_duration_seconds',
  help: 'Time from receipt to the last reply of a command, by subcommand.',
  labelNames: ['subcommand'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

/** kind: token | manifest | blob | tags | ping; outcome: an HTTP status class (2xx, 4xx, 429, 5xx) or "error". */
export const registryRequests = new Counter({
  name: 'archshift_registry_requests_total',
  help: 'HTTP requests sent to container registries.',
  labelNames: ['kind', 'outcome'] as const,
  registers: [registry],
});

export const registryCacheHits = new Counter({
  name: 'archshift_registry_cache_hits_total',
  help: 'Image lookups answered from the registry cache without a request.',
  registers: [registry],
});

/** What the bot hands the registry adapter to count with (the terminal hands it nothing: no prom-client). */
export const registryMetrics = { requests: registryRequests, cacheHits: registryCacheHits };

/** status: the HTTP status, or "error" when no answer came. */
export const githubRequests = new Counter({
  name: 'archshift_github_requests_total',
  help: 'Requests sent to the GitHub API, by method and status.',
  labelNames: ['method', 'status'] as const,
  registers: [registry],
});

export const prsOpened = new Counter({
  name: 'archshift_prs_opened_total',
  help: 'Pull requests opened (not those found already open).',
  labelNames: ['kind'] as const,
  registers: [registry],
});

/** Set by the canary controller after each tick: how many canaries are in each phase. */
export const canariesByPhase = new Gauge({
  name: 'archshift_canaries',
  help: 'Canaries by phase.',
  labelNames: ['phase'] as const,
  registers: [registry],
});

/** outcome: posted | skipped (not leader or slot already claimed) | failed. */
export const digestRuns = new Counter({
  name: 'archshift_digest_runs_total',
  help: 'Scheduled and on-demand digest runs, by outcome.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const auditEvents = new Counter({
  name: 'archshift_audit_events_total',
  help: 'State-changing actions checked and audited, by action and result.',
  labelNames: ['action', 'result'] as const,
  registers: [registry],
});

export const isLeader = new Gauge({
  name: 'archshift_leader',
  help: '1 while this replica holds the leader Lease (runs the schedule and the canary controller).',
  registers: [registry],
});

export const dependencyUp = new Gauge({
  name: 'archshift_dependency_up',
  help: 'Result of the last readiness probe of each outside system (1 reachable, 0 not).',
  labelNames: ['dependency'] as const,
  registers: [registry],
});
