// /arm64 pr <service> [base|deps|pipeline|selectors|all] [--dry-run]: checks the service, then opens or
// updates its PRs. Opening needs the operator role or membership of the service's owning team.
import { UsageError } from '../src/args.ts';
import { slackActor } from '../src/auth/actor.ts';
import { guarded } from '../src/auth/audit.ts';
import { auditSummary, checkAndOpenPrs, GitHubNotConfiguredError, type OpenPrsResult } from '../src/prs/open-prs.ts';
import { parseKinds, type ChangeKind } from '../src/prs/planner.ts';
import { renderPrResult } from '../src/prs/render.ts';
import type { Deps, SlackReply, Subcommand } from './types.ts';

export interface PrRequest {
  service: string;
  kinds: ChangeKind[];
  dryRun: boolean;
  user: { id: string; name?: string };
  channelId?: string;
  /** After a promoted canary: plan the scheduling change for the main Deployment, not the canary shape. */
  arm64Only?: boolean;
}

/** Shared by the subcommand and the "Open PRs" button. */
export async function runPrRequest(deps: Deps, req: PrRequest, respond: (r: SlackReply) => Promise<void>): Promise<OpenPrsResult> {
  const service = { ...deps.catalog.resolve(req.service), ...(req.arm64Only ? { canary: false } : {}) };
  if (!deps.github) throw new GitHubNotConfiguredError();
  const go = async () => {
    await respond({
      response_type: 'ephemeral',
      text: `Checking ${service.name} and preparing ${req.dryRun ? 'a dry run of ' : ''}its PRs (${req.kinds.join(', ')})…`,
    });
    return checkAndOpenPrs(deps, { service, kinds: req.kinds, dryRun: req.dryRun, requestedBy: slackActor(req.user.id, req.user.name) });
  };
  if (req.dryRun) await deps.auth.check(req.user.id, req.channelId, 'viewer', `a dry run of the PRs for ${service.name}`, service);
  const result = req.dryRun
    ? await go()
    : await guarded(
        deps,
        {
          user: req.user,
          channelId: req.channelId,
          action: 'pr.open',
          role: 'operator',
          what: `opening PRs for ${service.name}`,
          service,
          describe: auditSummary,
        },
        go,
      );
  await respond({ response_type: req.dryRun ? 'ephemeral' : 'in_channel', text: renderPrResult(result, 'slack', { diffs: req.dryRun }) });
  return result;
}

export const pr: Subcommand = {
  name: 'pr',
  usage: 'pr <service> [base|deps|pipeline|selectors|all] [--dry-run]',
  summary: 'Open (or update) the PRs that move a service to arm64: base image, dependencies, pipeline flag, scheduling.',
  examples: ['/arm64 pr payments', '/arm64 pr payments pipeline', '/arm64 pr payments all --dry-run'],
  booleanOptions: ['dry-run'],
  async run(ctx) {
    const [service, kind, extra] = ctx.args.positionals;
    if (!service || extra) throw new UsageError('name one service, and optionally one change');
    let kinds: ChangeKind[];
    try {
      kinds = parseKinds(kind);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    await runPrRequest(
      ctx.deps,
      { service, kinds, dryRun: ctx.args.flags['dry-run'] === true, user: ctx.user, channelId: ctx.channelId },
      ctx.respond,
    );
  },
};
