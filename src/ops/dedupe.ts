// Slack redelivers a request it thinks we missed (HTTP: `x-slack-retry-num`; Socket Mode: retry_attempt).
// The redelivery carries the same payload, so the first delivery's identity (event_id, or trigger_id +
// response_url + action_ts for commands and clicks) is recorded in the store on arrival and a repeat is
// acked without running anything (commands/store-gate.ts), even while the first is still running, and
// whichever replica it reaches: on PostgreSQL the key is a unique row every replica shares. Slack gives up retrying after a
// few minutes, which is the window kept.
import type { Store } from '../adapters/store.ts';

export const DELIVERY_WINDOW_MS = 10 * 60_000;

/** What identifies one delivery of a Slack request, or undefined when nothing reliable does. */
export function deliveryKey(body: Record<string, unknown>): string | undefined {
  if (typeof body.event_id === 'string') return `event:${body.event_id}`;
  const trigger = typeof body.trigger_id === 'string' ? body.trigger_id : '';
  const responseUrl = typeof body.response_url === 'string' ? body.response_url : '';
  const action = Array.isArray(body.actions) ? ((body.actions[0] as { action_ts?: string } | undefined)?.action_ts ?? '') : '';
  const view = (body.view as { id?: string; hash?: string } | undefined) ?? {};
  const parts = [trigger, responseUrl, action, view.id ?? '', view.hash ?? ''];
  if (parts.every((p) => !p)) return undefined;
  return `${String(body.command ?? body.type ?? '')}:${parts.join('|')}`;
}

/** True unless this Slack request is a repeat of one seen within the window (by any replica). */
export function firstDelivery(store: Store, body: Record<string, unknown>): Promise<boolean> {
  const key = deliveryKey(body);
  return key ? store.firstDelivery(key, DELIVERY_WINDOW_MS) : Promise.resolve(true);
}
