// `/arm64 digest [--me]`: the digest now, in this channel (or only to the person asking).
import { SlackPoster } from '../src/adapters/slack.ts';
import { runDigest, type DigestRun } from '../src/digest/digest.ts';
import { digestMessage, postDigest, type PostResult } from './notify/digest-post.ts';
import { digestRuns } from '../src/ops/metrics.ts';
import type { Subcommand } from './types.ts';

export const digest: Subcommand = {
  name: 'digest',
  usage: 'digest [--me]',
  summary: 'Post the arm64 migration digest in this channel now (only to you with --me).',
  examples: ['/arm64 digest', '/arm64 digest --me'],
  booleanOptions: ['me'],
  async run(ctx) {
    await ctx.deps.auth.check(ctx.user.id, ctx.channelId, 'viewer', 'the digest');
    let run: DigestRun;
    let posted: PostResult | undefined;
    try {
      run = await runDigest(ctx.deps);
      if (ctx.args.flags.me) await ctx.respond({ response_type: 'ephemeral', ...digestMessage(run.model) });
      else posted = await postDigest(ctx.deps, new SlackPoster(ctx.client), run, { channel: ctx.channelId });
    } catch (err) {
      digestRuns.inc({ outcome: 'failed' });
      throw err;
    }
    digestRuns.inc({ outcome: 'posted' });
    if (posted && !posted.chartUploaded && run.model.series.length) {
      await ctx.respond({
        response_type: 'ephemeral',
        text: 'The digest is posted; the burn-down chart could not be uploaded (see the bot log).',
      });
    }
  },
};
