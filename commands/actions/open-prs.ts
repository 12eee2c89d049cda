// The "Open PRs" button on a check report. Contract with the renderer: a button with
// action_id `open_prs`, value = the service name, and a `confirm` dialog (Slack shows it before the
// click reaches us). Same permission check and replies as `/arm64 pr <service> all`.
import type { App, BlockButtonAction } from '@slack/bolt';
import { isUserError } from '../../src/errors.ts';
import { CHANGE_KINDS } from '../../src/prs/planner.ts';
import { runPrRequest } from '../pr.ts';
import type { ActionRegistrar, SlackReply } from '../types.ts';

export const OPEN_PRS_ACTION = 'open_prs';

/** The button a check report adds; exported so the renderer and tests build the same one. */
export function openPrsButton(service: string): Record<string, unknown> {
  return {
    type: 'button',
    action_id: OPEN_PRS_ACTION,
    value: service,
    text: { type: 'plain_text', text: 'Open PRs' },
    confirm: {
      title: { type: 'plain_text', text: `Open PRs for ${service}?` },
      text: { type: 'mrkdwn', text: 'archshift opens (or updates) the base image, dependency, pipeline and scheduling PRs. The scheduling PR stays a draft until the image publishes linux/arm64.' },
      confirm: { type: 'plain_text', text: 'Open PRs' },
      deny: { type: 'plain_text', text: 'Cancel' },
    },
  };
}

export const registerOpenPrs: ActionRegistrar = (app: App, deps) => {
  app.action<BlockButtonAction>(OPEN_PRS_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const reply = (r: SlackReply) => respond({ ...r, replace_original: false } as never).then(() => undefined);
    try {
      await runPrRequest(deps, { service: action.value ?? '', kinds: [...CHANGE_KINDS], dryRun: false, user: { id: body.user.id }, channelId: body.channel?.id }, reply);
    } catch (err) {
      if (isUserError(err)) await reply({ response_type: 'ephemeral', text: err.message });
      else {
        deps.logger.error({ err, service: action.value }, 'open_prs failed');
        await reply({ response_type: 'ephemeral', text: 'Sorry, opening the PRs failed on our side. The error is in the bot\'s log.' });
      }
    }
  });
};
