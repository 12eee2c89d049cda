// The Pause / Resume (approve) / Promote / Roll back buttons on a canary's progress message. Slack shows
// each button's confirm dialog before the click reaches us; the permission is checked and the outcome
// audited as for `/arm64 canary <service> <verb>`, and it shows in the progress message and its thread.
import type { App, BlockButtonAction } from '@slack/bolt';
import { slackActor } from '../../src/auth/actor.ts';
import { isUserError } from '../../src/errors.ts';
import { CanaryError } from '../../src/canary/controller.ts';
import { requestCanaryVerb } from '../../src/canary/verbs.ts';
import type { CanaryVerb } from '../../src/canary/usage.ts';
import { canaryErrorText } from '../../src/render/canary-events.ts';
import { CANARY_ACTIONS, type CanaryAction } from '../../src/render/canary-blocks.ts';
import { fitToSlack } from '../../src/adapters/slack-limits.ts';
import type { ActionRegistrar, SlackReply } from '../types.ts';

const VERB_OF: Record<CanaryAction, CanaryVerb> = {
  canary_pause: 'pause',
  canary_resume: 'resume',
  canary_promote: 'promote',
  canary_rollback: 'rollback',
};

export const registerCanaryButtons: ActionRegistrar = (app: App, deps) => {
  for (const id of CANARY_ACTIONS) {
    app.action<BlockButtonAction>(id, async ({ ack, body, action, respond }) => {
      await ack();
      const reply = (r: SlackReply) => respond(fitToSlack({ ...r, replace_original: false }).content as never).then(() => undefined);
      const service = action.value ?? '';
      try {
        await requestCanaryVerb(
          deps,
          { service, verb: VERB_OF[id], overrides: {} },
          { actor: slackActor(body.user.id, body.user.username ?? body.user.name), channelId: body.channel?.id },
        );
      } catch (err) {
        if (err instanceof CanaryError) await reply({ response_type: 'ephemeral', text: canaryErrorText(err, 'slack') });
        else if (isUserError(err)) await reply({ response_type: 'ephemeral', text: err.message });
        else {
          deps.logger.error({ err, service, action: id }, 'canary button failed');
          await reply({ response_type: 'ephemeral', text: `Sorry, ${VERB_OF[id]} failed on our side. The error is in the bot's log.` });
        }
      }
    });
  }
};
