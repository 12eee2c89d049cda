// `/arm64 check <service>`: runs the readiness check and posts the report in the channel
// (commands/notify/check-reply.ts: a placeholder at once, the report in its place when it is ready).
import { UsageError } from '../src/args.ts';
import { serviceNameSchema } from '../src/config/catalog.ts';
import { checkService } from '../src/readiness/check.ts';
import { postCheckReply } from './notify/check-reply.ts';
import type { Subcommand } from './types.ts';

export const check: Subcommand = {
  name: 'check',
  usage: 'check <service>',
  summary: 'Can the service run on arm64, and if not, what must change? Posts a report with evidence and fixes.',
  examples: ['/arm64 check checkout-api'],
  async run(ctx) {
    const [name, ...extra] = ctx.args.positionals;
    if (!name || extra.length) throw new UsageError('give exactly one service name');
    if (!serviceNameSchema.safeParse(name).success)
      throw new UsageError(`"${name.slice(0, 64)}" is not a service name (lowercase letters, digits and "-")`);
    await ctx.deps.auth.check(ctx.user.id, ctx.channelId, 'viewer', 'checking a service');
    ctx.deps.catalog.resolve(name); // an unknown or incomplete service is refused before anything is posted

    await postCheckReply(ctx.client, ctx.channelId, name, () => checkService(ctx.deps, name));
  },
};
