// `archshift check <service|path> [--image REF] [--json]`: the readiness report in a terminal. A path that
// exists is a local checkout (no config, Slack or cluster needed); anything else is a catalog service.
// Exit codes: 0 ready, 1 needs-changes or blocked, 2 unknown, 64 usage, 66 no such path or service.
import { stat } from 'node:fs/promises';
import { UsageError, stringFlag } from '../args.ts';
import { checkPath, checkService, checkSettingsOf } from '../readiness/check.ts';
import type { Report } from '../readiness/report.ts';
import { renderReportJson } from '../render/report-json.ts';
import { renderReportText } from '../render/report-text.ts';
import { CliError, EXIT, exitCodeOfVerdict } from './exit-codes.ts';
import type { CliCommand } from './types.ts';

export const checkCommand: CliCommand = {
  name: 'check',
  usage: 'check <service|path> [--image REF] [--json]',
  summary: 'Readiness for arm64 of a catalog service or a local checkout (exit 0 ready, 1 changes/blocked, 2 unknown).',
  options: ['image'],
  booleanOptions: ['json'],
  async run(args, io, deps) {
    const [target, ...extra] = args.positionals;
    if (!target || extra.length) throw new UsageError('give exactly one service name or checkout path');
    const image = stringFlag(args, 'image');
    const isDir = (await stat(target).catch(() => undefined))?.isDirectory() ?? false;

    let report: Report;
    if (isDir || target.includes('/') || target.startsWith('.')) {
      if (!isDir) throw new CliError(`${target} is not a directory`, EXIT.noInput);
      // Without a config file deps() is all defaults, so a checkout is checked with no setup.
      const d = await deps();
      report = await checkPath(target, { image, inspector: d.registry, settings: checkSettingsOf(d) });
    } else {
      if (image) throw new UsageError('--image applies to a local checkout; a catalog service names its image in the catalog');
      const d = await deps();
      report = await checkService(d, target);
    }
    io.out(args.flags.json ? renderReportJson(report) : renderReportText(report));
    return exitCodeOfVerdict(report.verdict);
  },
};

