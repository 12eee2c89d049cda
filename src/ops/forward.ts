// With several replicas, only the leader's store is the truth, so only the leader runs what Slack sends.
// A follower that receives a slash command or an interactive payload acknowledges it at once (Slack's
// 3 s limit), hands the body to the leader's /internal/events, and runs nothing itself. When no leader
// can take it, the user is told through the request's response_url, which works from any replica.
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { Logger } from '../logger.ts';
import { commandsTotal } from './metrics.ts';
import { INTERNAL_EVENTS_PATH, callPeer } from './peer.ts';

/** Set in the Bolt context of work the leader received from a follower: never forwarded again. */
export const FORWARDED_CONTEXT_KEY = 'forwardedFromPeer';

export const BETWEEN_LEADERS_TEXT = 'archshift is between leaders; try again in a few seconds.';

export interface ForwardOptions {
  isLeader(): boolean;
  leaderUrl(): string | undefined;
  secret: string;
  logger: Logger;
  timeoutMs: number;
  /** Keeps the forward in the replica's in-flight work, so SIGTERM waits for it. */
  track<T>(work: Promise<T>): Promise<T>;
}

function forwardable(body: Record<string, unknown>): boolean {
  return typeof body.command === 'string' || body.type === 'block_actions' || body.type === 'view_submission';
}

/** Bolt global middleware; register it before any other. */
export function forwardToLeader(o: ForwardOptions): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const body = args.body as unknown as Record<string, unknown>;
    if (o.isLeader() || args.context[FORWARDED_CONTEXT_KEY] || !forwardable(body)) return args.next();
    const ack = (args as { ack?: () => Promise<void> }).ack;
    if (ack) await ack();
    await o.track(forward(o, body));
  };
}

async function forward(o: ForwardOptions, body: Record<string, unknown>): Promise<void> {
  const leader = o.leaderUrl();
  try {
    if (!leader) throw new Error('no replica holds the Lease');
    await callPeer(leader, INTERNAL_EVENTS_PATH, o.secret, { body: JSON.stringify(body), timeoutMs: o.timeoutMs });
    commandsTotal.inc({ subcommand: '-', outcome: 'forwarded' });
    o.logger.debug({ leader }, 'Slack request forwarded to the leader');
  } catch (err) {
    commandsTotal.inc({ subcommand: '-', outcome: 'no-leader' });
    o.logger.warn({ leader, err: (err as Error).message }, 'cannot forward a Slack request to the leader; told the user to retry');
    await replyBetweenLeaders(body, o);
  }
}

async function replyBetweenLeaders(body: Record<string, unknown>, o: ForwardOptions): Promise<void> {
  const url = body.response_url;
  if (typeof url !== 'string') return;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text: BETWEEN_LEADERS_TEXT }),
      signal: AbortSignal.timeout(o.timeoutMs),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (err) {
    o.logger.warn({ err: (err as Error).message }, 'could not tell the user that no leader is available');
  }
}
