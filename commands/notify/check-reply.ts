// Delivery of a readiness check to Slack: "Checking <service>…" at once, replaced by the report when it
// is ready; findings that do not fit in one message go to its thread as a file. A failed check
// replaces the placeholder with a user-facing reason, never internal error text (the log has that).
import type { WebClient } from '@slack/web-api';
import { SlackPoster } from '../../src/adapters/slack.ts';
import { isUserError } from '../../src/errors.ts';
import type { Report } from '../../src/readiness/report.ts';
import { renderReportBlocks } from '../../src/render/report-blocks.ts';

export async function postCheckReply(client: WebClient, channel: string, service: string, check: () => Promise<Report>): Promise<void> {
  const slack = new SlackPoster(client);
  const message = await slack.post(channel, { text: `:hourglass_flowing_sand: Checking ${service}…` });
  let rendered;
  try {
    rendered = renderReportBlocks(await check());
  } catch (err) {
    const reason = isUserError(err) ? err.message.slice(0, 500) : 'an error on our side (the details are in the bot’s log)';
    await slack.update(message, { text: `:x: The check of ${service} failed: ${reason}` }).catch(() => undefined);
    throw err;
  }
  await slack.update(message, rendered);
  if (rendered.overflow) {
    await slack.uploadFile(channel, {
      filename: `${service}-arm64-readiness.txt`,
      data: Buffer.from(rendered.overflow, 'utf8'),
      title: `arm64 readiness of ${service}: full report`,
      threadTs: message.ts,
    });
  }
}
