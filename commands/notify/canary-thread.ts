// Delivery of canary progress to Slack: one message per canary, posted once and then updated in place
// (chat.update, spaced by the Slack adapter), with every event as a reply in its thread.
import type { PostedMessage, SlackPoster } from '../../src/adapters/slack.ts';
import type { CanaryThresholds } from '../../src/canary/config.ts';
import type { CanaryNotifier, CanaryRecord } from '../../src/canary/controller.ts';
import type { CanaryEvent } from '../../src/canary/events.ts';
import { canaryBlocks } from '../../src/render/canary-blocks.ts';
import { canaryEventText } from '../../src/render/canary-events.ts';

export class SlackCanaryNotifier implements CanaryNotifier {
  /** What each message shows now, so ticks that change nothing cost no chat.update. */
  private shown = new Map<string, string>();

  constructor(
    private readonly slack: SlackPoster,
    private readonly thresholds: CanaryThresholds,
  ) {}

  async progress(rec: CanaryRecord, now: Date): Promise<PostedMessage> {
    const content = canaryBlocks(rec, this.thresholds, now);
    const body = JSON.stringify(content);
    if (rec.message) {
      const key = `${rec.message.channel}:${rec.message.ts}`;
      if (this.shown.get(key) === body) return rec.message;
      await this.slack.update(rec.message, content);
      this.shown.set(key, body);
      return rec.message;
    }
    const posted = await this.slack.post(rec.channel, content);
    this.shown.set(`${posted.channel}:${posted.ts}`, body);
    return posted;
  }

  async event(rec: CanaryRecord, event: CanaryEvent): Promise<void> {
    if (!rec.message) return; // progress() runs first and posts the parent
    await this.slack.reply(rec.message, { text: canaryEventText(event, rec.target.service, 'slack') });
  }
}
