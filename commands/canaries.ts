// `/arm64 canaries`: the canaries that are running, one line each.
import { UsageError } from '../src/args.ts';
import { controllerOf } from '../src/canary/verbs.ts';
import { canaryListText } from '../src/render/canary-blocks.ts';
import type { Subcommand } from './types.ts';

export const canaries: Subcommand = {
  name: 'canaries',
  usage: 'canaries',
  summary: 'List the running canaries with their weight, step and state.',
  examples: ['/arm64 canaries'],
  async run(ctx) {
    if (ctx.args.positionals.length) throw new UsageError('canaries takes no arguments');
    await ctx.deps.auth.check(ctx.user.id, ctx.channelId, 'viewer', 'viewing canaries');
    const running = controllerOf(ctx.deps).list();
    const text = canaryListText(running);
    await ctx.respond({ response_type: 'ephemeral', text: running.length ? '```' + text + '```' : text });
  },
};
