// Every terminal subcommand, in the order `archshift help` prints them. Each one's code is loaded when it
// runs: `archshift check` does not load the canary controller, the PR planner or the digest.
import { CANARY_USAGE, PLAN_OPTIONS } from '../canary/usage.ts';
import type { CliCommand } from './types.ts';

export const cliCommands: CliCommand[] = [
  {
    name: 'check',
    usage:
      'check <service|path> [--image REF] [--pipeline FILE] [--json] | check --all [--team T] [--cluster C] [--concurrency N] [--format table|json|csv|markdown|html]',
    summary:
      'Readiness for arm64 of a catalog service, a local checkout, or the whole catalog (--all: summary, blockers affecting most services, what PRs would fix).',
    options: ['image', 'pipeline', 'team', 'cluster', 'concurrency', 'format'],
    booleanOptions: ['json', 'all'],
    load: async () => (await import('./check.ts')).runCheckCommand,
  },
  {
    name: 'guard',
    usage: 'guard --base <dir> --head <dir> [--service NAME] [--json]',
    summary: 'What a change introduces for arm64, base checkout vs head checkout (exit 1 when it breaks arm64 for a moved service).',
    options: ['base', 'head', 'service'],
    booleanOptions: ['json'],
    load: async () => (await import('./guard.ts')).runGuardCommand,
  },
  {
    name: 'pr',
    usage:
      'pr <service> [base|deps|pipeline|selectors|all] [--dry-run] [--json] | pr --all [--team T] [--cluster C] [--change KIND] [--dry-run] [--json]',
    summary:
      "Open or update the PRs that move a service (or the whole catalog, paced to GitHub's limits) to arm64; --dry-run prints the diffs and writes nothing.",
    options: ['team', 'cluster', 'change'],
    booleanOptions: ['dry-run', 'json', 'all'],
    load: async () => (await import('./pr.ts')).runPrCommand,
  },
  {
    name: 'canary',
    usage: `${CANARY_USAGE} [--json]`,
    summary: 'Move a service to its -arm64 Deployment in steps behind its Istio VirtualService (the bot drives the steps).',
    options: PLAN_OPTIONS,
    booleanOptions: ['json'],
    load: async () => (await import('./canary.ts')).runCanaryCommand,
  },
  {
    name: 'canaries',
    usage: 'canaries [--json]',
    summary: 'List the running canaries.',
    booleanOptions: ['json'],
    load: async () => (await import('./canary.ts')).runCanariesCommand,
  },
  {
    name: 'nodes',
    usage: 'nodes [--cluster NAME] [--json]',
    summary: 'Can arm64 pods get a node? Nodes, taints, Karpenter, node groups, DaemonSets.',
    options: ['cluster'],
    booleanOptions: ['json'],
    load: async () => (await import('./nodes.ts')).runNodesCommand,
  },
  {
    name: 'digest',
    usage: 'digest --print [--json | --format text|json|markdown|html] [--chart FILE.png]',
    summary:
      'Take the inventory of every cluster and print the daily digest (JSON: the full model, every workload); --chart writes the burn-down chart.',
    options: ['format', 'chart'],
    booleanOptions: ['print', 'json'],
    load: async () => (await import('./digest.ts')).runDigestCommand,
  },
  {
    name: 'status',
    usage: 'status [--json]',
    summary: 'The migration’s headline numbers in one line.',
    booleanOptions: ['json'],
    load: async () => (await import('./status.ts')).runStatusCommand,
  },
  {
    name: 'services',
    usage: 'services [--json]',
    summary: 'List the service catalog (configured and discovered services).',
    booleanOptions: ['json'],
    load: async () => (await import('./services.ts')).runServicesCommand,
  },
  {
    name: 'store',
    usage: 'store copy --from <file> [--to <postgres-url>] [--ssl-mode <m>] [--ssl-root-cert <pem>]',
    summary: 'Copy a lowdb store file, with its history, PRs, canaries and audit, into an empty PostgreSQL (--to or $DATABASE_URL).',
    options: ['from', 'to', 'ssl-mode', 'ssl-root-cert'],
    load: async () => (await import('./store.ts')).runStoreCommand,
  },
];

/** The subcommand called `name`, if there is one. */
export const cliCommand = (name: string): CliCommand | undefined => cliCommands.find((c) => c.name === name);
