// `archshift check <service|path> [--image REF] [--json]`: the readiness report in a terminal. A path that
// exists is a local checkout (no config, Slack or cluster needed); anything else is a catalog service; --all: check-all.ts.
// Exit codes: 0 ready, 1 needs-changes or blocked, 2 unknown, 64 usage, 66 no such path or service.
import { stat } from 'node:fs/promises';
import { UsageError, stringFlag } from '../args.ts';
import { checkPath, checkService, checkSettingsOf, transitiveOf } from '../readiness/check.ts';
import type { Report } from '../readiness/report.ts';
import { renderReportJson } from '../render/report-json.ts';
import { renderReportText } from '../render/report-text.ts';
import { CliError, EXIT, exitCodeOfVerdict } from './exit-codes.ts';
import type { CliRun } from './types.ts';

export const runCheckCommand: CliRun = async (args, io, deps) => {
  // The fleet's code (planner, fleet renderers) is loaded only for --all.
  if (args.flags.all) return (await import('./check-all.ts')).runCheckAll(args, io, deps);
  for (const f of ['team', 'cluster', 'concurrency', 'format'])
    if (args.flags[f] !== undefined) throw new UsageError(`--${f} applies to check --all`);
  const [target, ...extra] = args.positionals;
  if (!target || extra.length) throw new UsageError('give exactly one service name or checkout path, or --all');
  const image = stringFlag(args, 'image');
  const pipelineFile = stringFlag(args, 'pipeline');
  const isDir = (await stat(target).catch(() => undefined))?.isDirectory() ?? false;

  let report: Report;
  if (isDir || target.includes('/') || target.startsWith('.')) {
    if (!isDir) throw new CliError(`${target} is not a directory`, EXIT.noInput);
    // Without a config file deps() is all defaults, so a checkout is checked with no setup.
    if (pipelineFile && !(await stat(pipelineFile).catch(() => undefined))?.isFile())
      throw new CliError(`--pipeline ${pipelineFile}: no such file`, EXIT.noInput);
    const d = await deps();
    report = await checkPath(target, {
      image,
      pipelineFile,
      inspector: d.registry,
      settings: checkSettingsOf(d),
      maven: transitiveOf(d),
    });
  } else {
    if (image || pipelineFile)
      throw new UsageError(
        `--${image ? 'image' : 'pipeline'} applies to a local checkout; a catalog service names its ${image ? 'image' : 'pipeline'} in the catalog`,
      );
    const d = await deps();
    report = await checkService(d, target);
  }
  io.out(args.flags.json ? renderReportJson(report) : renderReportText(report));
  return exitCodeOfVerdict(report.verdict);
};
