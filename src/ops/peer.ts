// Requests between replicas (a follower forwarding Slack work to the leader, or copying its store) are
// signed with the shared ARCHSHIFT_PEER_SECRET: HMAC-SHA256 over `<timestamp>:<method> <path>:<body>`,
// the way Slack signs its own requests plus the target, so a signed request is good for one endpoint
// only; refused when more than a minute old so a captured request cannot be replayed later. A replay
// inside that minute is a repeated delivery the leader's dedupe drops.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { UserError } from '../errors.ts';

export const PEER_TIMESTAMP_HEADER = 'x-archshift-timestamp';
export const PEER_SIGNATURE_HEADER = 'x-archshift-signature';
export const PEER_MAX_AGE_MS = 60_000;
const MIN_SECRET_LENGTH = 16;

export const INTERNAL_EVENTS_PATH = '/internal/events';
export const INTERNAL_STORE_PATH = '/internal/store';

/** The shared secret, checked at start-up: several replicas cannot work together without it. */
export function requirePeerSecret(secret: string | undefined): string {
  if (!secret || secret.length < MIN_SECRET_LENGTH) {
    throw new UserError(
      `server.leaderElection.enabled needs ARCHSHIFT_PEER_SECRET (at least ${MIN_SECRET_LENGTH} characters, the same on every replica), ` +
        'which signs the requests replicas send each other. Add it to the Secret, e.g. ' +
        '`kubectl -n archshift create secret generic archshift-secrets --from-literal=ARCHSHIFT_PEER_SECRET=$(openssl rand -hex 32) ...`.',
    );
  }
  return secret;
}

/** What a peer signature covers. */
export interface PeerRequest {
  method: 'GET' | 'POST';
  path: string;
  body: string;
}

function peerSignature(secret: string, timestamp: string, r: PeerRequest): string {
  return createHmac('sha256', secret).update(`${timestamp}:${r.method} ${r.path}:${r.body}`).digest('hex');
}

export function signPeerRequest(secret: string, request: PeerRequest, now = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  return { [PEER_TIMESTAMP_HEADER]: timestamp, [PEER_SIGNATURE_HEADER]: peerSignature(secret, timestamp, request) };
}

export function verifyPeerRequest(secret: string, headers: IncomingHttpHeaders, request: PeerRequest, now = Date.now()): boolean {
  const timestamp = headers[PEER_TIMESTAMP_HEADER];
  const signature = headers[PEER_SIGNATURE_HEADER];
  if (typeof timestamp !== 'string' || typeof signature !== 'string' || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(now - Number(timestamp) * 1000) > PEER_MAX_AGE_MS) return false;
  const expected = Buffer.from(peerSignature(secret, timestamp, request), 'hex');
  const given = Buffer.from(signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export class PeerError extends Error {}

/** A signed request to another replica's ops server; resolves with the body text of a 2xx answer. */
export async function callPeer(baseUrl: string, path: string, secret: string, opts: { body?: string; timeoutMs: number }): Promise<string> {
  const request: PeerRequest = { method: opts.body === undefined ? 'GET' : 'POST', path, body: opts.body ?? '' };
  let res: Response;
  try {
    res = await fetch(`${baseUrl}${path}`, {
      method: request.method,
      body: opts.body,
      headers: { 'content-type': 'application/json', ...signPeerRequest(secret, request) },
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    // fetch says only "fetch failed"; the cause names it (ECONNREFUSED, a timeout).
    const cause = (err as { cause?: Error }).cause;
    throw new PeerError(`${baseUrl}${path}: ${cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) throw new PeerError(`${baseUrl}${path}: HTTP ${res.status} ${text.trim().slice(0, 200)}`);
  return text;
}

/** `http://host:port`, with brackets around an IPv6 address. */
export function peerUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
