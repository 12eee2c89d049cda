import { runDigest } from '../digest/digest.ts';
import { renderStatusLine } from '../render/digest-text.ts';
import { EXIT } from './exit-codes.ts';
import { cliJson } from './json.ts';
import type { CliRun } from './types.ts';

export const runStatusCommand: CliRun = async (args, io, deps) => {
  const { model } = await runDigest(await deps());
  if (args.flags.json)
    io.out(cliJson({ day: model.day, shares: model.shares, totals: model.totals, trend: model.trend, clusters: model.clusters }));
  else io.out(renderStatusLine(model));
  return model.clusters.every((c) => c.ok) ? EXIT.ok : EXIT.unavailable;
};
