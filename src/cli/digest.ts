import { UsageError } from '../args.ts';
import { runDigest } from '../digest/digest.ts';
import { renderDigestText } from '../render/digest-text.ts';
import { EXIT } from './exit-codes.ts';
import { cliJson } from './json.ts';
import type { CliCommand } from './types.ts';

export const digestCommand: CliCommand = {
  name: 'digest',
  usage: 'digest --print [--json]',
  summary: 'Take the inventory of every cluster and print the daily digest (JSON: the full model, every workload).',
  booleanOptions: ['print', 'json'],
  async run(args, io, deps) {
    if (!args.flags.print) throw new UsageError('the terminal prints the digest: add --print (posting to Slack is `/arm64 digest`)');
    const run = await runDigest(await deps());
    if (args.flags.json) io.out(cliJson({ digest: run.model, inventory: run.inventory }));
    else io.out(renderDigestText(run.model, 'terminal'));
    // Exit 69 when a cluster could not be read: scripts must not take a partial count for the whole.
    return run.model.clusters.every((c) => c.ok) ? EXIT.ok : EXIT.unavailable;
  },
};
