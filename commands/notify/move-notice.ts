// Delivery of an after-move problem to the service's channel: one message per problem (the watcher
// decides it is the first), words from src/render/move-notice.ts.
import type { SlackPoster } from '../../src/adapters/slack.ts';
import type { MoveWatch } from '../../src/nodes/move-watch.ts';
import { renderMoveNotice } from '../../src/render/move-notice.ts';

export function moveNoticePoster(slack: SlackPoster): (watch: MoveWatch, channel: string) => Promise<unknown> {
  return (watch, channel) => slack.post(channel, renderMoveNotice(watch));
}
