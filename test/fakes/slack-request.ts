// Signs and posts requests into Bolt's HTTP receiver exactly as Slack does (v0 HMAC-SHA256 over
// `v0:<timestamp>:<raw body>`), for slash commands and interactive payloads.
import { createHmac } from 'node:crypto';

export interface SignedPostOptions {
  secret: string;
  /** Seconds since the epoch; defaults to now. */
  timestamp?: number;
  /** Overrides the computed signature (forgery tests). */
  signature?: string;
  retryNum?: number;
}

export function sign(secret: string, timestamp: number, body: string): string {
  return 'v0=' + createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
}

export async function postSigned(url: string, body: string, opts: SignedPostOptions): Promise<Response> {
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  return fetch(url, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': opts.signature ?? sign(opts.secret, ts, body),
      ...(opts.retryNum !== undefined ? { 'x-slack-retry-num': String(opts.retryNum), 'x-slack-retry-reason': 'http_timeout' } : {}),
    },
  });
}

export function slashCommandBody(fields: {
  text: string;
  user_id?: string;
  channel_id?: string;
  response_url: string;
  command?: string;
  team_id?: string;
  api_app_id?: string;
  enterprise_id?: string;
}): string {
  return new URLSearchParams({
    token: 'legacy',
    team_id: fields.team_id ?? 'T1',
    ...(fields.enterprise_id ? { enterprise_id: fields.enterprise_id } : {}),
    team_domain: 'fake',
    channel_id: fields.channel_id ?? 'C1',
    channel_name: 'arm64-migration',
    user_id: fields.user_id ?? 'U1',
    user_name: 'dev',
    command: fields.command ?? '/arm64',
    text: fields.text,
    api_app_id: fields.api_app_id ?? 'A1',
    response_url: fields.response_url,
    trigger_id: 'trig-1',
  }).toString();
}

/** An interactive (block_actions) payload for a button click. */
export function blockActionBody(fields: {
  actionId: string;
  value: string;
  user_id?: string;
  channel_id?: string;
  message_ts?: string;
  response_url: string;
  user_team_id?: string;
}): string {
  const payload = {
    type: 'block_actions',
    team: { id: 'T1', domain: 'fake' },
    user: { id: fields.user_id ?? 'U1', username: 'dev', team_id: fields.user_team_id ?? 'T1' },
    api_app_id: 'A1',
    token: 'legacy',
    trigger_id: 'trig-2',
    channel: { id: fields.channel_id ?? 'C1', name: 'arm64-migration' },
    container: { type: 'message', message_ts: fields.message_ts ?? '1.0', channel_id: fields.channel_id ?? 'C1' },
    message: { ts: fields.message_ts ?? '1.0', text: '' },
    response_url: fields.response_url,
    actions: [{ type: 'button', action_id: fields.actionId, block_id: 'b1', value: fields.value, action_ts: '1.1' }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
