// The digest's "Open PRs for all N ready services" button: after Slack's confirm dialog, an operator's
// click runs the fleet PR batch (src/fleet/open-all.ts, paced to GitHub's limits) over the services the
// button lists, with progress and the final table in the digest's thread. One batch at a time: a click
// while one runs says so. Each service's PRs are audited as `pr.open`, the batch as `pr.open-ready`.
import type { App, BlockButtonAction } from '@slack/bolt';
import { SlackPoster } from '../../src/adapters/slack.ts';
import { slackActor } from '../../src/auth/actor.ts';
import { audited, guarded } from '../../src/auth/audit.ts';
import { isUserError, UserError } from '../../src/errors.ts';
import { openFleetPrs, type FleetPrEntry } from '../../src/fleet/open-all.ts';
import { auditSummary, GitHubNotConfiguredError } from '../../src/prs/open-prs.ts';
import { CHANGE_KINDS } from '../../src/prs/planner.ts';
import { OPEN_READY_PRS_ACTION, readyPrsServices } from '../../src/render/pr-buttons.ts';
import { fitToSlack } from '../../src/adapters/slack-limits.ts';
import { FleetPrThread } from '../notify/fleet-prs-thread.ts';
import type { ActionRegistrar, SlackReply } from '../types.ts';

const WHAT = 'opening the PRs of every ready service';
const HOUR_MS = 3_600_000;

export const registerOpenReadyPrs: ActionRegistrar = (app: App, deps) => {
  let running: { by: string; done: number; total: number } | undefined;
  const busy = () =>
    new UserError(
      `A PR batch started by <@${running!.by}> is running (${running!.done}/${running!.total} services done); its progress is in the digest's thread.`,
    );

  app.action<BlockButtonAction>(OPEN_READY_PRS_ACTION, async ({ ack, body, action, respond, client }) => {
    await ack();
    const reply = (r: SlackReply) => respond(fitToSlack({ ...r, replace_original: false }).content as never).then(() => undefined);
    const user = { id: body.user.id, name: body.user.username ?? body.user.name };
    const channelId = body.channel?.id;
    const services = readyPrsServices(action.value);
    try {
      if (running) {
        await deps.auth.check(user.id, channelId, 'operator', WHAT);
        throw busy();
      }
      await guarded(
        deps,
        { user, channelId, action: 'pr.open-ready', role: 'operator', what: WHAT, describe: (e: FleetPrEntry[]) => `${e.length} services` },
        async () => {
          if (running) throw busy();
          const github = deps.github;
          if (!github) throw new GitHubNotConfiguredError();
          if (!services.length) throw new UserError('This button lists no service; post a fresh digest with `/arm64 digest`.');
          running = { by: user.id, done: 0, total: services.length };
          try {
            const slack = new SlackPoster(client, 1000, undefined, deps.logger);
            const message = body.message as { ts: string; thread_ts?: string } | undefined;
            const thread = {
              channel: channelId ?? body.container.channel_id,
              ts: message?.thread_ts ?? message?.ts ?? body.container.message_ts,
            };
            const actor = slackActor(user.id, user.name);
            const progress = await FleetPrThread.start(slack, thread, actor, {
              done: 0,
              total: services.length,
              writesThisHour: github.budget.usedIn(HOUR_MS),
            });
            const entries = await openFleetPrs(deps, {
              filter: { services },
              kinds: CHANGE_KINDS,
              requestedBy: actor,
              around: (service, run) => audited(deps, { actor, channel: channelId, action: 'pr.open', service }, run, auditSummary),
              onProgress: (done, total, service) => {
                running!.done = done;
                progress.progress({ done, total, service, writesThisHour: github.budget.usedIn(HOUR_MS) });
              },
            });
            await progress.finish(entries);
            return entries;
          } finally {
            running = undefined;
          }
        },
      );
    } catch (err) {
      if (isUserError(err)) await reply({ response_type: 'ephemeral', text: err.message });
      else {
        deps.logger.error({ err, action: OPEN_READY_PRS_ACTION }, 'ready PRs button failed');
        await reply({ response_type: 'ephemeral', text: "Sorry, the PR batch failed on our side. The error is in the bot's log." });
      }
    }
  });
};
