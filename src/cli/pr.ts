// archshift pr <service> [base|deps|pipeline|selectors|all] [--dry-run] [--json]
// The terminal runs with the operator's own GitHub credentials, so Slack roles do not apply here.
import { UsageError } from '../args.ts';
import { checkService } from '../readiness/check.ts';
import { GitHubNotConfiguredError, openPrs } from '../prs/open-prs.ts';
import { parseKinds, type ChangeKind } from '../prs/planner.ts';
import { renderPrResult } from '../prs/render.ts';
import type { CliCommand } from './types.ts';

export const prCommand: CliCommand = {
  name: 'pr',
  usage: 'pr <service> [base|deps|pipeline|selectors|all] [--dry-run] [--json]',
  summary: 'Open or update the PRs that move a service to arm64; --dry-run prints the diffs and writes nothing.',
  booleanOptions: ['dry-run', 'json'],
  async run(args, io, deps) {
    const [name, kind, extra] = args.positionals;
    if (!name || extra) throw new UsageError('usage: archshift pr <service> [base|deps|pipeline|selectors|all] [--dry-run] [--json]');
    let kinds: ChangeKind[];
    try {
      kinds = parseKinds(kind);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const d = await deps();
    const service = d.catalog.resolve(name);
    if (!d.github) {
      io.err(new GitHubNotConfiguredError().message);
      return 1;
    }
    const report = await checkService(d, service.name);
    const result = await openPrs(d, { service, report, kinds, dryRun: args.flags['dry-run'] === true, requestedBy: 'archshift CLI' });
    if (args.flags.json) io.out(JSON.stringify(result, null, 2));
    else io.out(renderPrResult(result, 'terminal', { diffs: args.flags['dry-run'] === true }));
    return result.outcomes.some((o) => o.status === 'refused' || o.status === 'failed') ? 2 : 0;
  },
};
