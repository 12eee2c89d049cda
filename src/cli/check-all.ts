// `archshift check --all [--team T] [--cluster C] [--concurrency N] [--format F]`: every catalog service,
// a summary, the blockers affecting most services and what PRs would fix. Loaded only for --all.
import { UsageError, stringFlag, type ParsedArgs } from '../args.ts';
import { checkFleet, DEFAULT_FLEET_CONCURRENCY } from '../fleet/check-all.ts';
import { fleetJson, renderFleetCsv, renderFleetMarkdown, renderFleetTable } from '../render/fleet-text.ts';
import { githubWebUrlOf, renderFleetHtml } from '../render/fleet-html.ts';
import { CliError, EXIT, exitCodeOfVerdict } from './exit-codes.ts';
import { cliJson } from './json.ts';
import { progressBar } from './progress.ts';
import type { CliIO, Deps } from './types.ts';

const FORMATS = ['table', 'json', 'csv', 'markdown', 'html'] as const;

export async function runCheckAll(args: ParsedArgs, io: CliIO, deps: () => Promise<Deps>): Promise<number> {
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
