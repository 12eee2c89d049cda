import { runDigest } from '../src/digest/digest.ts';
import { renderStatusLine } from '../src/render/digest-text.ts';
import type { Subcommand } from './types.ts';

export const status: Subcommand = {
  name: 'status',
  usage: 'status',
  summary: 'The migration’s headline numbers in one line (share on arm64 by workloads, pods and CPU).',
  examples: ['/arm64 status'],
  async run(ctx) {
    await ctx.deps.auth.check(ctx.user.id, ctx.channelId, 'viewer', 'the migration status');
    const run = await runDigest(ctx.deps);
    await ctx.respond({ response_type: 'ephemeral', text: renderStatusLine(run.model) });
  },
};
