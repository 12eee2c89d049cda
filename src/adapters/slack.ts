// The one Slack Web API adapter for messages the bot posts on its own (reports, canary progress,
// digests). WebClient already waits out 429s using Retry-After; this adds a minimum gap between
// updates of the same message, since chat.update is rate-limited per message and channel.
import type { WebClient } from '@slack/web-api';
import { UserError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { fitToSlack } from './slack-limits.ts';

/** Slack refusals that the person asking can fix in Slack: said to them instead of "failed on our side". */
const CHANNEL_REFUSALS: Record<string, string> = {
  not_in_channel: 'archshift is not a member of this channel: invite it (`/invite @archshift`) and try again.',
  channel_not_found:
    'archshift cannot see this channel (a private channel or DM it is not in): invite it, or run the command in a channel it is in.',
  is_archived: 'this channel is archived, so archshift cannot post in it.',
};

async function explained<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    const code = (err as { data?: { error?: string } }).data?.error;
    const why = code ? CHANNEL_REFUSALS[code] : undefined;
    throw why ? new UserError(`Sorry, ${why}`) : err;
  }
}

export interface PostedMessage {
  channel: string;
  ts: string;
}

export interface MessageContent {
  text: string;
  blocks?: unknown[];
  /** Where a reader finds text clipped to Slack's limits (default: the bot's log, which keeps it). */
  fullTextAt?: string;
}

export class SlackPoster {
  private lastUpdate = new Map<string, number>();

  constructor(
    private readonly client: WebClient,
    private readonly minUpdateIntervalMs = 1000,
    private readonly sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    private readonly logger?: Logger,
  ) {}

  /** Every message goes out within Block Kit's limits; what was clipped stays readable in the log. */
  private fit(content: MessageContent): { text: string; blocks?: unknown[] } {
    const { content: fitted, clipped } = fitToSlack({ text: content.text, blocks: content.blocks }, content.fullTextAt);
    if (clipped.length)
      this.logger?.warn({ clipped, text: content.text, blocks: content.blocks }, 'Slack message clipped to Block Kit limits');
    return fitted;
  }

  async post(channel: string, message: MessageContent): Promise<PostedMessage> {
    const content = this.fit(message);
    const res = await explained(
      this.client.chat.postMessage({ channel, text: content.text, blocks: content.blocks as never, unfurl_links: false }),
    );
    return { channel: res.channel ?? channel, ts: res.ts! };
  }

  async reply(parent: PostedMessage, message: MessageContent): Promise<PostedMessage> {
    const content = this.fit(message);
    const res = await explained(
      this.client.chat.postMessage({ channel: parent.channel, thread_ts: parent.ts, text: content.text, blocks: content.blocks as never }),
    );
    return { channel: res.channel ?? parent.channel, ts: res.ts! };
  }

  async update(message: PostedMessage, update: MessageContent): Promise<void> {
    const content = this.fit(update);
    const key = `${message.channel}:${message.ts}`;
    const wait = (this.lastUpdate.get(key) ?? 0) + this.minUpdateIntervalMs - Date.now();
    if (wait > 0) await this.sleep(wait);
    this.lastUpdate.set(key, Date.now());
    await this.client.chat.update({ channel: message.channel, ts: message.ts, text: content.text, blocks: content.blocks as never });
  }

  async postEphemeral(channel: string, user: string, message: MessageContent): Promise<void> {
    const content = this.fit(message);
    await this.client.chat.postEphemeral({ channel, user, text: content.text, blocks: content.blocks as never });
  }

  /** Slack's current upload flow (getUploadURLExternal → upload → completeUploadExternal). */
  async uploadFile(
    channel: string,
    file: { filename: string; data: Buffer; title?: string; comment?: string; threadTs?: string },
  ): Promise<void> {
    await this.client.filesUploadV2({
      channel_id: channel,
      file: file.data,
      filename: file.filename,
      title: file.title,
      initial_comment: file.comment,
      ...(file.threadTs ? { thread_ts: file.threadTs } : {}),
    } as never);
  }
}
