// archshift pr <service> [base|deps|pipeline|selectors|all] [--dry-run] [--json]
// The terminal runs with the operator's own GitHub credentials, so Slack roles do not apply here; the
// outcome is still audited as pr.open with the actor `cli:<login>`, as terminal canary moves are.
import { userInfo } from 'node:os';
import { UsageError } from '../args.ts';
import { requireWritableStore } from './writable.ts';
import { audited } from '../auth/audit.ts';
import { auditSummary, checkAndOpenPrs, GitHubNotConfiguredError } from '../prs/open-prs.ts';
import { parseKinds, type ChangeKind } from '../prs/planner.ts';
import { renderPrResult } from '../prs/render.ts';
import { EXIT } from './exit-codes.ts';
import { cliJson } from './json.ts';
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
    if (!d.github) throw new GitHubNotConfiguredError();
    const dryRun = args.flags['dry-run'] === true;
    if (!dryRun) requireWritableStore(d, 'opening PRs');
    const go = () => checkAndOpenPrs(d, { service, kinds, dryRun, requestedBy: 'archshift CLI' });
    const result = dryRun ? await go() : await audited(d, { actor: `cli:${userInfo().username}`, action: 'pr.open', service: service.name }, go, auditSummary);
    if (args.flags.json) io.out(cliJson(result));
    else io.out(renderPrResult(result, 'terminal', { diffs: dryRun }));
    // GitHub failing midway is an outage (69); a refusal (not allowed, archived, cannot place the edit) is a "no" (1).
    if (result.outcomes.some((o) => o.status === 'failed')) return EXIT.unavailable;
    return result.outcomes.some((o) => o.status === 'refused') ? EXIT.notReady : EXIT.ok;
  },
};
