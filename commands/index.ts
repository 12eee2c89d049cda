// The /arm64 router: acknowledges at once (Slack allows 3 s), parses the text, finds the subcommand and
// runs it after the ack. Errors never escape: users read what went wrong, the log gets the detail.
import { randomUUID } from 'node:crypto';
import type { App } from '@slack/bolt';
import { allowOnly, parseArgs, tokenize, UsageError } from '../src/args.ts';
import { isUserError } from '../src/errors.ts';
import { ForbiddenError } from '../src/auth/authorize.ts';
import { commandDuration, commandsTotal } from '../src/ops/metrics.ts';
import { fitToSlack } from '../src/adapters/slack-limits.ts';
import { helpCommand } from './help.ts';
import { services } from './services.ts';
import { reload } from './reload.ts';
import { check } from './check.ts';
import { pr } from './pr.ts';
import { digest } from './digest.ts';
import { status } from './status.ts';
import { canary } from './canary.ts';
import { canaries } from './canaries.ts';
import { nodes } from './nodes.ts';
import { registerCanaryButtons } from './actions/canary-buttons.ts';
import { registerOpenPrs } from './actions/open-prs.ts';
import { registerOpenReadyPrs } from './actions/open-ready-prs.ts';
import type { ActionRegistrar, CommandContext, Deps, SlackReply, Subcommand } from './types.ts';

const features: Subcommand[] = [check, pr, canary, canaries, nodes, digest, status, services, reload];

export const subcommands: Subcommand[] = [helpCommand(() => subcommands), ...features];

const actionRegistrars: ActionRegistrar[] = [registerOpenPrs, registerOpenReadyPrs, registerCanaryButtons];

export interface SlashCommandInput {
  text: string;
  userId: string;
  userName?: string;
  channelId: string;
}

/** Runs one /arm64 invocation. Exported so Socket Mode and HTTP share it and so it can be measured. */
export async function dispatch(
  input: SlashCommandInput,
  respond: (r: SlackReply) => Promise<void>,
  client: CommandContext['client'],
  deps: Deps,
): Promise<void> {
  const requestId = randomUUID().slice(0, 8);
  const log = deps.logger.child({ requestId, user: input.userId, channel: input.channelId });
  let sub: Subcommand | undefined;
  const started = process.hrtime.bigint();
  let outcome = 'ok';
  try {
    const tokens = tokenize(input.text);
    const name = (tokens.shift() ?? 'help').toLowerCase();
    sub = subcommands.find((s) => s.name === name);
    if (!sub) {
      throw new UsageError(
        `Unknown subcommand \`${name.slice(0, 40)}\`. Try one of: ${subcommands.map((s) => `\`${s.name}\``).join(', ')}.`,
      );
    }
    const args = parseArgs(tokens, sub.booleanOptions);
    allowOnly(args, [...(sub.options ?? []), ...(sub.booleanOptions ?? [])]);
    log.info({ subcommand: sub.name }, 'command');
    await sub.run({ args, user: { id: input.userId, name: input.userName }, channelId: input.channelId, respond, client, deps });
  } catch (err) {
    const usage = err instanceof UsageError ? (sub ? `\nUsage: \`/arm64 ${sub.usage}\`` : '\n`/arm64 help` lists the commands.') : '';
    outcome = err instanceof ForbiddenError ? 'forbidden' : isUserError(err) ? 'refused' : 'error';
    if (isUserError(err)) {
      log.info({ err: err.message, subcommand: sub?.name }, 'command refused');
      await respond({ response_type: 'ephemeral', text: `${err.message}${usage}` }).catch(() => undefined);
    } else {
      log.error({ err, subcommand: sub?.name }, 'command failed');
      await respond({
        response_type: 'ephemeral',
        text: `Sorry, that failed on our side (reference ${requestId}). The error is in the bot's log.`,
      }).catch(() => undefined);
    }
  } finally {
    // Unknown subcommands are one label, so random text cannot grow the metric's cardinality.
    const label = sub?.name ?? 'unknown';
    commandsTotal.inc({ subcommand: label, outcome });
    commandDuration.observe({ subcommand: label }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}

export function registerCommands(app: App, deps: Deps): void {
  app.command('/arm64', async ({ command, ack, respond, client }) => {
    await ack();
    await dispatch(
      { text: command.text ?? '', userId: command.user_id, userName: command.user_name, channelId: command.channel_id },
      (r) => respond(fitToSlack(r).content as never).then(() => undefined),
      client,
      deps,
    );
  });
  for (const register of actionRegistrars) register(app, deps);
}
