import { writeFile } from 'node:fs/promises';
import { stringFlag, UsageError } from '../args.ts';
import { runDigest } from '../digest/digest.ts';
import { renderBurndownPng } from '../digest/chart.ts';
import { renderDigestText } from '../render/digest-text.ts';
import { renderDigestHtml, renderDigestMarkdown } from '../render/digest-doc.ts';
import { CliError, EXIT } from './exit-codes.ts';
import { cliJson } from './json.ts';
import type { CliRun } from './types.ts';

const FORMATS = ['text', 'json', 'markdown', 'html'] as const;

export const runDigestCommand: CliRun = async (args, io, deps) => {
  const chart = stringFlag(args, 'chart');
  const format = args.flags.json ? 'json' : (stringFlag(args, 'format') ?? 'text');
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const print = args.flags.print === true || args.flags.format !== undefined || args.flags.json === true;
  if (!print && !chart)
    throw new UsageError(
      'the terminal prints the digest: add --print (or --format, or --chart FILE.png; posting to Slack is `/arm64 digest`)',
    );
  const d = await deps();
  const run = await runDigest(d);
  const png =
    chart || format === 'html'
      ? renderBurndownPng(run.model.series, { title: 'arm64 burn-down: workloads left on amd64', fontFiles: d.config.digest.chartFonts })
      : undefined;
  if (chart)
    await writeFile(chart, png!).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(
        `cannot write the chart to ${chart}: ${err.code ?? err.message}`,
        err.code === 'ENOENT' ? EXIT.noInput : EXIT.ioError,
      );
    });
  if (format === 'json') io.out(cliJson({ digest: run.model, inventory: run.inventory }));
  else if (format === 'markdown') io.out(renderDigestMarkdown(run.model));
  else if (format === 'html') io.out(renderDigestHtml(run.model, png));
  else if (print) io.out(renderDigestText(run.model, 'terminal'));
  // Exit 69 when a cluster could not be read: scripts must not take a partial count for the whole.
  return run.model.clusters.every((c) => c.ok) ? EXIT.ok : EXIT.unavailable;
};
