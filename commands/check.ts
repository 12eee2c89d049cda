// `/arm64 check <service>`: posts "Checking <service>…" at once, runs the readiness check, then replaces
// that message with the report. Findings that do not fit in one message go to the thread as a file.
import { isUserError } from '../src/errors.ts';
import { UsageError } from '../src/args.ts';
import { SlackPoster } from '../src/adapters/slack.ts';
import { serviceNameSchema } from '../src/config/catalog.ts';
import { checkService } from '../src/readiness/check.ts';
import { renderReportBlocks } from '../src/render/report-blocks.ts';
import type { Subcommand } from './types.ts';

export const check: Subcommand = {
  name: 'check',
  usage: 'check <service>',
  summary: 'Can the service run on arm64, and if not, what must change? Posts a report with evidence and fixes.',
  examples: ['/arm64 check checkout-api'],
  async run(ctx) {
    const [name, ...extra] = ctx.args.positionals;
    if (!name || extra.length) throw new UsageError('give exactly one service name');
    if (!serviceNameSchema.safeParse(name).success) throw new UsageError(`"${name.slice(0, 64)}" is not a service name (lowercase letters, digits and "-")`);
    await ctx.deps.auth.check(ctx.user.id, ctx.channelId, 'viewer', 'checking a service');
    ctx.deps.catalog.resolve(name); // an unknown or incomplete service is refused before anything is posted

    const slack = new SlackPoster(ctx.client);
    const message = await slack.post(ctx.channelId, { text: `:hourglass_flowing_sand: Checking ${name}…` });
    let rendered;
    try {
      rendered = renderReportBlocks(await checkService(ctx.deps, name));
    } catch (err) {
      // The channel sees a user-facing reason, never internal error text; the log gets the detail.
      const reason = isUserError(err) ? err.message.slice(0, 500) : 'an error on our side (the details are in the bot’s log)';
      await slack.update(message, { text: `:x: The check of ${name} failed: ${reason}` }).catch(() => undefined);
      throw err;
    }
    await slack.update(message, rendered);
    if (rendered.overflow) {
      await slack.uploadFile(ctx.channelId, {
        filename: `${name}-arm64-readiness.txt`,
        data: Buffer.from(rendered.overflow, 'utf8'),
        title: `arm64 readiness of ${name}: full report`,
        threadTs: message.ts,
      });
    }
  },
};
