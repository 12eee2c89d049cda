// `archshift check <service|path> [--image REF] [--json]`: the readiness report in a terminal. A path that
// exists is a local checkout (no config, Slack or cluster needed); anything else is a catalog service.
// `archshift check --all [--team T] [--cluster C] [--concurrency N] [--format F]`: every catalog service.
// Exit codes: 0 ready, 1 needs-changes or blocked, 2 unknown, 64 usage, 66 no such path or service.
import { stat } from 'node:fs/promises';
import { UsageError, stringFlag, type ParsedArgs } from '../args.ts';
import { checkPath, checkService, checkSettingsOf, transitiveOf } from '../readiness/check.ts';
import type { Report } from '../readiness/report.ts';
import { checkFleet, DEFAULT_FLEET_CONCURRENCY } from '../fleet/check-all.ts';
import { renderReportJson } from '../render/report-json.ts';
import { renderReportText } from '../render/report-text.ts';
import { fleetJson, renderFleetCsv, renderFleetMarkdown, renderFleetTable } from '../render/fleet-text.ts';
import { githubWebUrlOf, renderFleetHtml } from '../render/fleet-html.ts';
import { CliError, EXIT, exitCodeOfVerdict } from './exit-codes.ts';
import { cliJson } from './json.ts';
import { progressBar } from './progress.ts';
import type { CliCommand, CliIO, Deps } from './types.ts';

const FORMATS = ['table', 'json', 'csv', 'markdown', 'html'] as const;

export const checkCommand: CliCommand = {
  name: 'check',
  usage:
    'check <service|path> [--image REF] [--pipeline FILE] [--json] | check --all [--team T] [--cluster C] [--concurrency N] [--format table|json|csv|markdown|html]',
  summary:
    'Readiness for arm64 of a catalog service, a local checkout, or the whole catalog (--all: summary, blockers affecting most services, what PRs would fix).',
  options: ['image', 'pipeline', 'team', 'cluster', 'concurrency', 'format'],
  booleanOptions: ['json', 'all'],
  async run(args, io, deps) {
    if (args.flags.all) return checkAll(args, io, deps);
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
  },
};

async function checkAll(args: ParsedArgs, io: CliIO, deps: () => Promise<Deps>): Promise<number> {
  if (args.positionals.length) throw new UsageError('--all checks the whole catalog: give no service or path');
  if (args.flags.image !== undefined || args.flags.pipeline !== undefined)
    throw new UsageError('--image and --pipeline apply to a local checkout');
  const format = args.flags.json ? 'json' : (stringFlag(args, 'format') ?? 'table');
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const rawConcurrency = stringFlag(args, 'concurrency');
  const concurrency = rawConcurrency === undefined ? DEFAULT_FLEET_CONCURRENCY : Number(rawConcurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw new UsageError('--concurrency must be a whole number from 1 to 64');
  const d = await deps();
  const result = await checkFleet(d, {
    filter: { team: stringFlag(args, 'team'), cluster: stringFlag(args, 'cluster') },
    concurrency,
    onProgress: io.progress && ((done, total, service) => io.progress!(progressBar(done, total, service))),
  });
  io.progress?.(undefined);
  if (!result.entries.length)
    throw new CliError('no catalog service matches (check --team/--cluster, or `archshift services`)', EXIT.noInput);
  if (format === 'json') io.out(cliJson(fleetJson(result)));
  else if (format === 'csv') io.out(renderFleetCsv(result).replace(/\r\n$/, ''));
  else if (format === 'markdown') io.out(renderFleetMarkdown(result));
  else if (format === 'html') io.out(renderFleetHtml(result, { githubWebUrl: githubWebUrlOf(d.config.github.baseUrl) }));
  else io.out(renderFleetTable(result));
  return exitCodeOfVerdict(result.summary.verdict);
}
