// The PR buttons (built in src/render/pr-buttons.ts, with a confirm dialog Slack shows before the click
// reaches us): "Open PRs" on check reports and digests, and "Open the arm64-only PR" on a promoted
// canary. Same permission check and replies as `/arm64 pr`.
import type { App, BlockButtonAction } from '@slack/bolt';
import { isUserError } from '../../src/errors.ts';
import { CHANGE_KINDS } from '../../src/prs/planner.ts';
import { ARM64_ONLY_PR_ACTION, OPEN_PRS_ACTION } from '../../src/render/pr-buttons.ts';
import { runPrRequest, type PrRequest } from '../pr.ts';
import { fitToSlack } from '../../src/adapters/slack-limits.ts';
import type { ActionRegistrar, SlackReply } from '../types.ts';

const requests: Record<string, Pick<PrRequest, 'kinds' | 'arm64Only'>> = {
  [OPEN_PRS_ACTION]: { kinds: [...CHANGE_KINDS] },
  [ARM64_ONLY_PR_ACTION]: { kinds: ['selectors'], arm64Only: true },
};

export const registerOpenPrs: ActionRegistrar = (app: App, deps) => {
  for (const [actionId, request] of Object.entries(requests)) {
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const reply = (r: SlackReply) => respond(fitToSlack({ ...r, replace_original: false }).content as never).then(() => undefined);
      try {
        await runPrRequest(
          deps,
          {
            service: action.value ?? '',
            ...request,
            dryRun: false,
            user: { id: body.user.id, name: body.user.username ?? body.user.name },
            channelId: body.channel?.id,
          },
          reply,
        );
      } catch (err) {
        if (isUserError(err)) await reply({ response_type: 'ephemeral', text: err.message });
        else {
          deps.logger.error({ err, service: action.value, action: actionId }, 'PR button failed');
          await reply({ response_type: 'ephemeral', text: "Sorry, opening the PRs failed on our side. The error is in the bot's log." });
        }
      }
    });
  }
};
