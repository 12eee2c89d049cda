// `/arm64 canary <service> start|status|pause|resume|promote|rollback`: moves a service's traffic to its
// arm64 Deployment in steps. Progress lives in one channel message the controller keeps updated; this
// replies to the person who typed the command only.
import { slackActor } from '../src/auth/actor.ts';
import { CanaryError, PreconditionsError } from '../src/canary/controller.ts';
import { UserError } from '../src/errors.ts';
import { canaryErrorText } from '../src/render/canary-events.ts';
import { controllerOf, parseCanaryArgs, requestCanaryVerb } from '../src/canary/verbs.ts';
import { CANARY_USAGE, PLAN_OPTIONS } from '../src/canary/usage.ts';
import { canaryBlocks, preconditionsBlocks } from '../src/render/canary-blocks.ts';
import type { Subcommand } from './types.ts';

export const canary: Subcommand = {
  name: 'canary',
  usage: CANARY_USAGE,
  summary: 'Move a service’s traffic from amd64 to its -arm64 Deployment in steps, comparing both, with automatic rollback.',
  examples: [
    '/arm64 canary checkout-api status',
    '/arm64 canary checkout-api start --steps 10,25,50,100 --interval 10m',
    '/arm64 canary checkout-api rollback',
  ],
  options: PLAN_OPTIONS,
  async run(ctx) {
    const call = parseCanaryArgs(ctx.args);
    const now = ctx.deps.clock.now();
    try {
      const out = await requestCanaryVerb(ctx.deps, call, { actor: slackActor(ctx.user.id, ctx.user.name), channelId: ctx.channelId });
      if ('preconditions' in out) {
        await ctx.respond({ response_type: 'ephemeral', ...preconditionsBlocks(call.service, out.preconditions) });
        return;
      }
      const r = out.record;
      const where = r.message ? ` Progress: <#${r.message.channel}> (thread of the canary message).` : '';
      const card = canaryBlocks(r, controllerOf(ctx.deps).config.thresholds, now);
      await ctx.respond({
        response_type: 'ephemeral',
        text: call.verb === 'status' ? card.text : `Done: ${call.verb} ${call.service}.${where}`,
        blocks: card.blocks,
      });
    } catch (err) {
      if (err instanceof PreconditionsError) {
        await ctx.respond({ response_type: 'ephemeral', ...preconditionsBlocks(call.service, err.report) });
        return;
      }
      throw err instanceof CanaryError ? new UserError(canaryErrorText(err, 'slack')) : err;
    }
  },
};
