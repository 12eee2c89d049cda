import { runDigest } from '../digest/digest.ts';
import { renderStatusLine } from '../render/digest-text.ts';
import { EXIT } from './exit-codes.ts';
import { cliJson } from './json.ts';
import type { CliCommand } from './types.ts';

export const statusCommand: CliCommand = {
  name: 'status',
  usage: 'status [--json]',
  summary: 'The migration’s headline numbers in one line.',
  booleanOptions: ['json'],
  async run(args, io, deps) {
    const { model } = await runDigest(await deps());
    if (args.flags.json)
      io.out(cliJson({ day: model.day, shares: model.shares, totals: model.totals, trend: model.trend, clusters: model.clusters }));
    else io.out(renderStatusLine(model));
    return model.clusters.every((c) => c.ok) ? EXIT.ok : EXIT.unavailable;
  },
};
