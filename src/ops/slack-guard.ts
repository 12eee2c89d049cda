// The gate in front of Bolt's HTTP receiver (Bolt reads a whole body before it checks the signature,
// and a signed but malformed body can leave its connection hanging or answer 500). In order, each step
// refusing before the next costs anything:
//   1. no signature headers, or a timestamp older than 5 min or more than 60 s ahead: 401, body unread
//      (except Slack's unsigned `ssl_check=1` probe, a form body of at most 256 bytes: 200);
//   2. a Content-Length over 1 MB: 413, body unread;
//   3. the body, at most 1 MB within 10 s (413 / 408);
//   4. the v0 HMAC signature: 401;
//   5. the shape Bolt needs (a slash command form, an interaction `payload` object, an Events API
//      object): 400 with one log line.
// Only then does Bolt see the request, with the body already read (it parses it; it does not verify it again).
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';
import {
  answerRefusal,
  checkDeclaredLength,
  checkTimestamp,
  DEFAULT_BODY_LIMITS,
  readBody,
  RequestRefused,
  singleHeader,
  type BodyLimits,
} from './request-guard.ts';

/** Slack's own replay window (Bolt's check), and how far ahead of our clock a stamp may be. */
export const SLACK_MAX_AGE_MS = 5 * 60_000;
export const SLACK_MAX_FUTURE_MS = 60_000;

export interface SlackGuardOptions {
  signingSecret: string;
  /** Paths Bolt serves Slack's requests on (its `endpoints`). */
  endpoints: string[];
  logger: Logger;
  limits?: BodyLimits;
  now?: () => number;
}

/** Wraps Bolt's request listener: Slack endpoints pass the gate first, other paths go straight on. */
export function guardSlackListener(next: RequestListener, o: SlackGuardOptions): RequestListener {
  const limits = o.limits ?? DEFAULT_BODY_LIMITS;
  const now = o.now ?? Date.now;
  // Imported once: a string key is converted again for every HMAC.
  const secret = createSecretKey(Buffer.from(o.signingSecret, 'utf8'));
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method !== 'POST' || !o.endpoints.includes(path)) return next(req, res);
    admit(req, limits, now(), secret).then(
      (raw) => {
        if (raw === SSL_CHECK) return void res.writeHead(200).end();
        (req as IncomingMessage & { rawBody?: Buffer }).rawBody = raw;
        next(req, res);
      },
      (err: Error) => refuse(req, res, err, o.logger),
    );
  };
}

/** Slack's unsigned `ssl_check=1` probe (when a request URL is saved): answered 200 here, never passed on. */
const SSL_CHECK = Buffer.from('ssl_check=1');
const SSL_CHECK_MAX_BYTES = 256;

async function admit(req: IncomingMessage, limits: BodyLimits, now: number, secret: KeyObject): Promise<Buffer> {
  const signature = singleHeader(req, 'x-slack-signature');
  const stamp = singleHeader(req, 'x-slack-request-timestamp');
  if (!signature) {
    // Only a tiny form body can be the probe; anything else unsigned is refused unread.
    const declared = Number(singleHeader(req, 'content-length') ?? NaN);
    if (singleHeader(req, 'content-type') === FORM && declared <= SSL_CHECK_MAX_BYTES) {
      const probe = await readBody(req, { maxBytes: SSL_CHECK_MAX_BYTES, timeoutMs: 2000 });
      if (new URLSearchParams(probe.toString('utf8')).get('ssl_check') === '1') return SSL_CHECK;
    }
    throw new RequestRefused(401, 'no x-slack-signature header');
  }
  checkTimestamp(stamp, { now, maxAgeMs: SLACK_MAX_AGE_MS, maxFutureMs: SLACK_MAX_FUTURE_MS });
  checkDeclaredLength(req, limits);
  const raw = await readBody(req, limits);
  if (!validSignature(secret, stamp!, raw, signature)) throw new RequestRefused(401, 'bad signature');
  const problem = slackBodyProblem(singleHeader(req, 'content-type'), raw.toString('utf8'));
  if (problem) throw new RequestRefused(400, problem);
  return raw;
}

function refuse(req: IncomingMessage, res: ServerResponse, err: Error, logger: Logger): void {
  const refusal = err instanceof RequestRefused ? err : new RequestRefused(400, err.message);
  logger.warn({ status: refusal.status, reason: refusal.message, remote: req.socket.remoteAddress }, 'Slack request refused');
  answerRefusal(req, res, refusal);
}

function validSignature(secret: KeyObject, stamp: string, raw: Buffer, signature: string): boolean {
  const expected = Buffer.from(`v0=${createHmac('sha256', secret).update(`v0:${stamp}:`).update(raw).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const FORM = 'application/x-www-form-urlencoded';

/** Interaction payload types Bolt routes (anything else it leaves unacknowledged for 3 s). */
const INTERACTION_TYPES = new Set([
  'block_actions',
  'block_suggestion',
  'view_submission',
  'view_closed',
  'shortcut',
  'message_action',
  'interactive_message',
  'dialog_submission',
  'dialog_suggestion',
  'dialog_cancellation',
  'workflow_step_edit',
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * Why a signed body is not something Bolt can handle, or undefined when it is. Mirrors how Bolt parses:
 * the form content type exactly (Slack sends no parameters) means a command or a `payload` field;
 * anything else is parsed as JSON (the Events API).
 */
export function slackBodyProblem(contentType: string | undefined, text: string): string | undefined {
  if (contentType === FORM) {
    const form = new URLSearchParams(text);
    if (form.get('ssl_check') === '1') return undefined;
    const payload = form.get('payload');
    if (payload !== null) {
      let body: unknown;
      try {
        body = JSON.parse(payload);
      } catch {
        return 'payload is not JSON';
      }
      return interactionProblem(body);
    }
    for (const field of ['command', 'user_id', 'channel_id', 'team_id', 'response_url']) {
      if (!isText(form.get(field))) return `a slash command without ${field}`;
    }
    return undefined;
  }
  if (contentType?.split(';')[0]!.trim() !== 'application/json') return `unsupported content type ${JSON.stringify(contentType ?? '')}`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'body is not JSON';
  }
  if (!isObject(body) || !isText(body.type)) return 'an Events API body without a type';
  if ('command' in body) return 'slash commands arrive form-encoded, not as JSON';
  if (body.type === 'url_verification') return isText(body.challenge) ? undefined : 'url_verification without a challenge';
  if (body.type === 'event_callback' && !(isObject(body.event) && isText(body.event.type))) return 'event_callback without an event';
  return undefined;
}

function interactionProblem(body: unknown): string | undefined {
  if (!isObject(body)) return 'payload is not an object';
  if (!isText(body.type) || !INTERACTION_TYPES.has(body.type))
    return `unknown interaction type ${JSON.stringify(String(body.type ?? '')).slice(0, 60)}`;
  if (!isObject(body.user) || !isText(body.user.id)) return 'an interaction without user.id';
  if (body.team !== null && body.team !== undefined && !(isObject(body.team) && isText(body.team.id)))
    return 'an interaction whose team has no id';
  if (body.type === 'block_actions' && !(Array.isArray(body.actions) && body.actions.length > 0 && body.actions.every(isObject)))
    return 'block_actions without actions';
  if ((body.type === 'view_submission' || body.type === 'view_closed') && !isObject(body.view)) return `${body.type} without a view`;
  return undefined;
}
