// archshift pr <service> [base|deps|pipeline|selectors|all] [--dry-run] [--json]
// archshift pr --all [--team T] [--cluster C] [--change KIND] [--dry-run] [--json]
// The terminal runs with the operator's own GitHub credentials, so Slack roles do not apply here; the
// outcome is still audited as pr.open with the actor `cli:<login>`, as terminal canary moves are.
import { stringFlag, UsageError, type ParsedArgs } from '../args.ts';
import { requireWritableStore } from './writable.ts';
import { audited } from '../auth/audit.ts';
import { auditSummary, checkAndOpenPrs, GitHubNotConfiguredError, type OpenPrsResult } from '../prs/open-prs.ts';
import { parseKinds, type ChangeKind } from '../prs/planner.ts';
import { renderFleetPrTable, renderPrResult } from '../prs/render.ts';
import { openFleetPrs } from '../fleet/open-all.ts';
import { CliError, EXIT } from './exit-codes.ts';
import { cliJson } from './json.ts';
import { progressBar } from './progress.ts';
import { terminalActor, type CliRun, type CliIO, type Deps } from './types.ts';

function kindsOf(word: string | undefined): ChangeKind[] {
  try {
    return parseKinds(word);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** GitHub failing midway is an outage (69); a refusal (not allowed, archived, cannot place the edit) is a "no" (1). */
function exitCodeOf(results: OpenPrsResult[], unhandled = false): number {
  const outcomes = results.flatMap((r) => r.outcomes);
  if (outcomes.some((o) => o.status === 'failed')) return EXIT.unavailable;
  return unhandled || outcomes.some((o) => o.status === 'refused') ? EXIT.notReady : EXIT.ok;
}

async function prepare(deps: () => Promise<Deps>, dryRun: boolean): Promise<Deps> {
  const d = await deps();
  if (!d.github) throw new GitHubNotConfiguredError();
  if (!dryRun) requireWritableStore(d, 'opening PRs');
  return d;
}

export const runPrCommand: CliRun = async (args, io, deps) => {
  if (args.flags.all) return prAll(args, io, deps);
  for (const f of ['team', 'cluster', 'change'])
    if (args.flags[f] !== undefined) throw new UsageError(`--${f} applies to pr --all (for one service, name the change after it)`);
  const [name, kind, extra] = args.positionals;
  if (!name || extra) throw new UsageError('give one service (and optionally a change), or --all');
  const kinds = kindsOf(kind);
  const dryRun = args.flags['dry-run'] === true;
  const d = await prepare(deps, dryRun);
  const service = d.catalog.resolve(name);
  const actor = terminalActor();
  const go = () => checkAndOpenPrs(d, { service, kinds, dryRun, requestedBy: actor });
  const result = dryRun ? await go() : await audited(d, { actor, action: 'pr.open', service: service.name }, go, auditSummary);
  if (args.flags.json) io.out(cliJson(result));
  else io.out(renderPrResult(result, 'terminal', { diffs: dryRun }));
  return exitCodeOf([result]);
};

async function prAll(args: ParsedArgs, io: CliIO, deps: () => Promise<Deps>): Promise<number> {
  if (args.positionals.length)
    throw new UsageError('--all opens the PRs of the whole catalog: give no service (use --change for one kind)');
  const kinds = kindsOf(stringFlag(args, 'change'));
  const dryRun = args.flags['dry-run'] === true;
  const d = await prepare(deps, dryRun);
  const actor = terminalActor();
  const entries = await openFleetPrs(d, {
    filter: { team: stringFlag(args, 'team'), cluster: stringFlag(args, 'cluster') },
    kinds,
    dryRun,
    requestedBy: actor,
    around: dryRun ? undefined : (service, run) => audited(d, { actor, action: 'pr.open', service }, run, auditSummary),
    onProgress:
      io.progress &&
      ((done, total, service) =>
        io.progress!(`${progressBar(done, total, service)} · ${d.github!.budget.usedIn(3_600_000)} writes this hour`)),
  });
  io.progress?.(undefined);
  if (!entries.length) throw new CliError('no catalog service matches (check --team/--cluster, or `archshift services`)', EXIT.noInput);
  if (args.flags.json)
    io.out(cliJson({ services: entries.map((e) => ({ service: e.service, outcomes: e.result?.outcomes ?? [], error: e.error ?? null })) }));
  else io.out(renderFleetPrTable(entries));
  return exitCodeOf(
    entries.flatMap((e) => (e.result ? [e.result] : [])),
    entries.some((e) => e.error),
  );
}
