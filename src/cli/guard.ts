// `archshift guard --base <dir> --head <dir> [--service NAME] [--json]`: the PR check's rule on two
// checkouts, for CI systems without the GitHub App (GitLab, Jenkins). Exit 1 when the head introduces a
// blocker or change-level finding for a service on arm64 (policy enforce), 0 otherwise, 2 on failure, 64 usage.
import { stat } from 'node:fs/promises';
import { UsageError, stringFlag } from '../args.ts';
import { guardCheckouts } from '../guard/guard.ts';
import { checkSettingsOf } from '../readiness/check.ts';
import { renderGuardJson, renderGuardText } from '../render/guard-text.ts';
import type { CliRun } from './types.ts';

export const runGuardCommand: CliRun = async (args, io, deps) => {
  if (args.positionals.length) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
  const [base, head] = [stringFlag(args, 'base'), stringFlag(args, 'head')];
  if (!base || !head) throw new UsageError('give both --base and --head checkouts');
  for (const dir of [base, head])
    if (!(await stat(dir).catch(() => undefined))?.isDirectory()) throw new UsageError(`${dir} is not a directory`);
  const service = stringFlag(args, 'service');
  const d = await deps();
  const verdict = await guardCheckouts(base, head, {
    inspector: d.registry,
    settings: checkSettingsOf(d),
    ...(service ? { service: { deps: d, name: service } } : {}),
  });
  io.out(args.flags.json ? renderGuardJson(verdict) : renderGuardText(verdict));
  return verdict.conclusion === 'failure' ? 1 : 0;
};
