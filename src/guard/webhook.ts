// The GitHub App's webhook route, POST /github/events on the ops server (so Socket Mode deployments have
// it too). Refuses before reading the body what cannot be a signed GitHub delivery (no or malformed
// X-Hub-Signature-256, no event or delivery id, a declared size over the cap), reads at most the cap,
// verifies the HMAC with GITHUB_WEBHOOK_SECRET through @octokit/webhooks, runs each X-GitHub-Delivery
// once, answers 202 at once and does the work after, so GitHub's 10 s delivery timeout never matters.
import { readBody, RequestRefused } from '../ops/request-guard.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Webhooks, type EmitterWebhookEventName } from '@octokit/webhooks';
import type { Logger } from '../logger.ts';
import { CHECK_NAME, type PullRequestRef } from './pull-request.ts';

export const GITHUB_EVENTS_PATH = '/github/events';

const SIGNATURE = /^sha256=[0-9a-f]{64}$/;
const REFUSAL_GRACE_MS = 1000;
const BODY_TIMEOUT_MS = 10_000;
const PULL_ACTIONS = new Set(['opened', 'synchronize', 'reopened']);

export interface WebhookOptions {
  secret: string;
  maxBytes: number;
  /** True the first time a delivery id is seen (the store's shared delivery keys: every replica agrees). */
  firstDelivery(key: string): Promise<boolean>;
  logger: Logger;
  /** With App credentials: deliveries for another installation are ignored (the bot holds one installation's token). */
  installationId?: string;
  /** Runs a PR's check; called after the 202 is sent. Must not throw. */
  checkPull(pr: PullRequestRef, trigger: string): Promise<void>;
  /** A PR was merged (closed with `merged: true`): the selectors PR's watch after a move. Must not throw. */
  pullMerged?(pr: { repo: string; number: number; url: string }): Promise<void>;
  /** Keeps background work visible to graceful shutdown. */
  track<T>(work: Promise<T>): Promise<T>;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function githubWebhookRoute(opts: WebhookOptions): RouteHandler {
  const webhooks = new Webhooks({ secret: opts.secret });
  const pull = (
    repo: { full_name: string; html_url: string },
    pr: { number: number; head: { sha: string }; base: { sha: string } },
    url?: string,
  ): PullRequestRef => ({
    repo: repo.full_name,
    number: pr.number,
    url: url ?? `${repo.html_url}/pull/${pr.number}`,
    headSha: pr.head.sha,
    baseSha: pr.base.sha,
  });
  webhooks.on('pull_request', async ({ payload }) => {
    if (payload.action === 'closed' && payload.pull_request.merged && opts.pullMerged) {
      return opts.pullMerged({
        repo: payload.repository.full_name,
        number: payload.pull_request.number,
        url: payload.pull_request.html_url,
      });
    }
    if (!PULL_ACTIONS.has(payload.action)) return;
    await opts.checkPull(pull(payload.repository, payload.pull_request, payload.pull_request.html_url), `pull_request.${payload.action}`);
  });
  webhooks.on('check_run.rerequested', async ({ payload }) => {
    if (payload.check_run.name !== CHECK_NAME) return;
    const pr = payload.check_run.pull_requests[0];
    // GitHub lists no pull request for a fork's PR here; its next push is checked again.
    if (!pr)
      return void opts.logger.info({ repo: payload.repository.full_name }, 'check re-requested without a pull request; nothing to re-run');
    await opts.checkPull(
      pull(payload.repository, { number: pr.number, head: { sha: payload.check_run.head_sha }, base: pr.base }),
      'check_run.rerequested',
    );
  });
  webhooks.on('installation', async ({ payload }) => {
    opts.logger.info(
      {
        action: payload.action,
        account: payload.installation.account && 'login' in payload.installation.account ? payload.installation.account.login : undefined,
      },
      'GitHub App installation changed',
    );
  });

  return (req, res) => {
    const send = (status: number, body: Record<string, unknown>) => {
      if (res.headersSent) return;
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    // Answered before (the rest of) the body is read: the connection closes, and what the client still
    // sends is discarded, not kept, for a short grace so it can read the answer.
    const refuse = (status: number, body: Record<string, unknown>) => {
      if (!res.headersSent) {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', connection: 'close' });
        res.end(JSON.stringify(body));
      }
      req.resume();
      setTimeout(() => req.destroy(), REFUSAL_GRACE_MS).unref();
    };
    if (req.method !== 'POST') return refuse(405, { error: 'use POST' });
    const signature = String(req.headers['x-hub-signature-256'] ?? '');
    const event = String(req.headers['x-github-event'] ?? '');
    const delivery = String(req.headers['x-github-delivery'] ?? '');
    // Nothing unsigned is read: a forged or stray request costs no body read.
    if (!SIGNATURE.test(signature) || !event || !delivery) {
      opts.logger.warn({ remote: req.socket.remoteAddress }, 'GitHub webhook without a signature, event or delivery id refused');
      return refuse(401, { error: 'missing X-Hub-Signature-256, X-GitHub-Event or X-GitHub-Delivery' });
    }
    if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? '')))
      return refuse(415, { error: 'the App must send application/json deliveries' });
    void (async () => {
      let body: Buffer;
      try {
        // The shared bounded reader: 413 past the cap (declared or streamed), 408 for a body that trickles in.
        body = await readBody(req, { maxBytes: opts.maxBytes, timeoutMs: BODY_TIMEOUT_MS });
      } catch (err) {
        if (err instanceof RequestRefused) refuse(err.status, { error: err.message });
        else res.destroy();
        return;
      }
      const text = body.toString('utf8');
      if (!(await webhooks.verify(text, signature).catch(() => false))) {
        opts.logger.warn({ event, delivery, remote: req.socket.remoteAddress }, 'GitHub webhook with a bad signature refused');
        return send(401, { error: 'bad signature' });
      }
      if (!(await opts.firstDelivery(`github:${delivery}`))) {
        opts.logger.info({ event, delivery }, 'repeated GitHub delivery acknowledged, not run again');
        return send(200, { duplicate: true });
      }
      let payload: { installation?: { id?: number } };
      try {
        payload = JSON.parse(text) as typeof payload;
      } catch {
        return send(400, { error: 'body is not JSON' });
      }
      if (opts.installationId && payload.installation?.id !== undefined && String(payload.installation.id) !== opts.installationId) {
        opts.logger.warn({ event, delivery, installation: payload.installation.id }, 'GitHub delivery for another installation ignored');
        return send(202, { ignored: 'another installation' });
      }
      send(202, { accepted: true });
      opts
        .track(
          webhooks.receive({ id: delivery, name: event as EmitterWebhookEventName, payload } as Parameters<typeof webhooks.receive>[0]),
        )
        .catch((err: Error) => opts.logger.error({ err: err.message, event, delivery }, 'GitHub delivery failed'));
    })();
  };
}
