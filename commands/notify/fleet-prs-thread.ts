// Delivery of a fleet PR batch (the digest's "open PRs for everything ready" button) to Slack: one
// progress reply in the digest's thread, updated in place as services finish (updates are coalesced,
// so a slow chat.update never holds the batch up), then the final table as another reply.
import type { PostedMessage, SlackPoster } from '../../src/adapters/slack.ts';
import type { Actor } from '../../src/auth/actor.ts';
import type { FleetPrEntry } from '../../src/fleet/open-all.ts';
import { renderFleetPrProgressSlack, renderFleetPrSlack } from '../../src/prs/render.ts';

export interface FleetProgress {
  done: number;
  total: number;
  service?: string;
  writesThisHour: number;
}

export class FleetPrThread {
  private latest?: string;
  private flushing?: Promise<void>;

  private constructor(
    private readonly slack: SlackPoster,
    private readonly thread: PostedMessage,
    private readonly message: PostedMessage,
    private readonly by: Actor,
  ) {}

  /** Posts the progress reply under `thread` (the digest message). */
  static async start(slack: SlackPoster, thread: PostedMessage, by: Actor, first: FleetProgress): Promise<FleetPrThread> {
    const message = await slack.reply(thread, { text: renderFleetPrProgressSlack({ ...first, by }) });
    return new FleetPrThread(slack, thread, message, by);
  }

  progress(p: FleetProgress): void {
    this.latest = renderFleetPrProgressSlack({ ...p, by: this.by });
    this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
  }

  /** The last progress shown, then the table of what was opened, updated and skipped. */
  async finish(entries: FleetPrEntry[]): Promise<void> {
    await this.flushing;
    await this.slack.reply(this.thread, { text: renderFleetPrSlack(entries) });
  }

  private async flush(): Promise<void> {
    while (this.latest) {
      const text = this.latest;
      this.latest = undefined;
      // A failed progress update must not stop the batch; the final table still comes.
      await this.slack.update(this.message, { text }).catch(() => undefined);
    }
  }
}
