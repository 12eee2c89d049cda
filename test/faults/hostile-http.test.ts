// Issue 11 items 1, 8 and 11 (time): the attacks, repeated against the real bot (Bolt's HTTP receiver
// behind slack-guard.ts, and the ops port): huge unsigned bodies refused before they are read, capped
// signed ones, slow bodies, malformed signed payloads and future stamps, each answered at once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startTestBot, SIGNING_SECRET, type TestBot } from '../fakes/bot.ts';
import { postSigned, sign, slashCommandBody } from '../fakes/slack-request.ts';
import { rawRequest } from '../fakes/raw-http.ts';
import { MALFORMED_SLACK_BODIES } from '../fakes/malformed-slack.ts';
import { closeServer, listenLocal } from '../fakes/net.ts';
import { guardSlackListener, slackBodyProblem } from '../../src/ops/slack-guard.ts';
import { createLogger } from '../../src/logger.ts';
import { Registry } from 'prom-client';
import { startOpsServer, type OpsServer } from '../../src/ops/server.ts';

const MB = 1024 * 1024;
const now = () => Math.floor(Date.now() / 1000);
const form = { 'content-type': 'application/x-www-form-urlencoded' };

function signedHeaders(body: string, extra: Record<string, string> = {}, ts = now()): Record<string, string> {
  return { ...form, 'x-slack-request-timestamp': String(ts), 'x-slack-signature': sign(SIGNING_SECRET, ts, body), ...extra };
}

describe('hostile HTTP into the bot', () => {
  let t: TestBot;
  before(async () => {
    t = await startTestBot({ catalog: { services: {} } });
  });
  after(() => t.stop());

  test('an unsigned 64 MB post is refused with 401 before its body is read', async () => {
    const answer = await rawRequest({ url: t.url, headers: { ...form, 'content-length': String(64 * MB) }, flood: 64 * MB });
    assert.equal(answer.status, 401);
    assert.ok(answer.sentBeforeAnswer < 8 * MB, `answered after ${answer.sentBeforeAnswer} bytes`);
    assert.ok(answer.ms < 1000, `${answer.ms} ms`);
  });

  test("Slack's unsigned ssl_check probe is answered 200 and runs nothing; a bigger unsigned form is 401", async () => {
    const before = t.slack.calls.length;
    const body = 'ssl_check=1&token=legacy-verification-token';
    assert.equal(
      (await rawRequest({ url: t.url, headers: { ...form, 'content-length': String(body.length) }, chunks: [body] })).status,
      200,
    );
    // A command smuggled into the probe is answered as the probe: nothing is run.
    const smuggled = `ssl_check=1&command=%2Farm64&text=help&response_url=${encodeURIComponent(t.slack.responseUrl('smuggled'))}`;
    assert.equal(
      (await rawRequest({ url: t.url, headers: { ...form, 'content-length': String(smuggled.length) }, chunks: [smuggled] })).status,
      200,
    );
    const big = `ssl_check=1&pad=${'x'.repeat(300)}`;
    assert.equal((await rawRequest({ url: t.url, headers: { ...form, 'content-length': String(big.length) }, chunks: [big] })).status, 401);
    assert.equal(t.slack.calls.length, before);
    // A signed command sent afterwards is answered; the smuggled one never was.
    await postSigned(t.url, slashCommandBody({ text: 'help', response_url: t.slack.responseUrl('after-probe') }), {
      secret: SIGNING_SECRET,
    });
    await t.slack.waitFor(() => t.slack.calls.some((c) => c.responseId === 'after-probe'));
    assert.ok(!t.slack.calls.some((c) => c.responseId === 'smuggled'));
  });

  test('a chunked unsigned flood (no Content-Length) is refused too', async () => {
    const answer = await rawRequest({ url: t.url, headers: { ...form, 'transfer-encoding': 'chunked' }, flood: 64 * MB });
    assert.equal(answer.status, 401);
    assert.ok(answer.sentBeforeAnswer < 8 * MB);
  });

  test('a signed request declaring 64 MB gets 413 unread; a chunked one over 1 MB gets 413 at the cap', async () => {
    const declared = await rawRequest({ url: t.url, headers: signedHeaders('x', { 'content-length': String(64 * MB) }), flood: 64 * MB });
    assert.equal(declared.status, 413);
    assert.ok(declared.sentBeforeAnswer < 8 * MB, `answered after ${declared.sentBeforeAnswer} bytes`);
    const chunked = await rawRequest({ url: t.url, headers: signedHeaders('x', { 'transfer-encoding': 'chunked' }), flood: 64 * MB });
    assert.equal(chunked.status, 413);
    // Loopback socket buffers hold a few MB the server never reads; the point is it stopped at the cap.
    assert.ok(chunked.sentBeforeAnswer < 32 * MB, `answered after ${chunked.sentBeforeAnswer} bytes`);
  });

  test('a request stamped an hour ahead is refused; one 30 s ahead (clock skew) is accepted', async () => {
    const body = slashCommandBody({ text: 'help', response_url: t.slack.responseUrl('skew') });
    const future = await postSigned(t.url, body, { secret: SIGNING_SECRET, timestamp: now() + 3600 });
    assert.equal(future.status, 401);
    const skewed = await postSigned(t.url, body, { secret: SIGNING_SECRET, timestamp: now() + 30 });
    assert.equal(skewed.status, 200);
    await t.slack.waitFor(() => t.slack.calls.some((c) => c.responseId === 'skew'));
  });

  for (const { name, body, contentType } of MALFORMED_SLACK_BODIES) {
    test(`signed but malformed (${name}): 400 within a second, nothing posted`, async () => {
      const before = t.slack.calls.length;
      const answer = await rawRequest({
        url: t.url,
        headers: { ...signedHeaders(body), 'content-type': contentType },
        chunks: [body],
        timeoutMs: 1000,
      });
      assert.equal(answer.status, 400, answer.body);
      assert.ok(answer.ms < 1000);
      assert.equal(t.slack.calls.length, before);
    });
  }

  test('/arm64 check \\u0000payments gets the usage answer the README promises and posts nothing in the channel', async () => {
    const posts = t.slack.callsTo('chat.postMessage').length;
    const id = 'control-char';
    await postSigned(t.url, slashCommandBody({ text: 'check \u0000payments', response_url: t.slack.responseUrl(id) }), {
      secret: SIGNING_SECRET,
    });
    await t.slack.waitFor(() => t.slack.calls.some((c) => c.responseId === id));
    const reply = t.slack.calls.find((c) => c.responseId === id)!.args;
    assert.equal(reply.response_type, 'ephemeral');
    assert.match(String(reply.text), /control character \(U\+0000\)[\s\S]*\/arm64 help/);
    assert.equal(t.slack.callsTo('chat.postMessage').length, posts);
  });

  test('a good signed command still works after all that', async () => {
    const n = t.slack.responses.length;
    assert.equal((await t.command('help')).status, 200);
    await t.slack.waitFor(() => t.slack.responses.length > n);
  });

  test('the ops port answers a 64 MB post to a probe path without keeping it', async () => {
    const health = await rawRequest({ url: `${t.opsUrl}/healthz`, headers: { 'content-length': String(64 * MB) }, flood: 64 * MB });
    assert.equal(health.status, 405);
  });
});

describe('the ops port without peer endpoints (replicas share PostgreSQL now)', () => {
  let ops: OpsServer;
  before(async () => {
    ops = await startOpsServer({
      port: 0,
      host: '127.0.0.1',
      health: { readiness: async () => ({ ready: true, checks: {} }) } as never,
      registry: new Registry(),
      logger: createLogger('silent'),
    });
  });
  after(() => ops.close());

  test('a 64 MB post to the old /internal/events path is refused unread', async () => {
    const r = await rawRequest({
      url: `http://127.0.0.1:${ops.port}/internal/events`,
      headers: { 'content-type': 'application/json', 'content-length': String(64 * MB) },
      flood: 64 * MB,
    });
    assert.equal(r.status, 405);
    assert.ok(r.sentBeforeAnswer < 8 * MB);
  });
});

describe('slack-guard on its own', () => {
  test('a body that trickles in slower than the read timeout gets 408', async () => {
    const server = createServer(
      guardSlackListener((_req, res) => res.end('passed'), {
        signingSecret: SIGNING_SECRET,
        endpoints: ['/slack/events'],
        logger: createLogger('silent'),
        limits: { maxBytes: 1024, timeoutMs: 200 },
      }),
    );
    const url = await listenLocal(server);
    try {
      const body = 'command=%2Farm64';
      const answer = await rawRequest({
        url: `${url}/slack/events`,
        headers: signedHeaders(body, { 'content-length': String(body.length) }),
        chunks: ['comm', () => new Promise((r) => setTimeout(r, 2000))],
      });
      assert.equal(answer.status, 408);
      assert.ok(answer.ms < 1500);
    } finally {
      await closeServer(server);
    }
  });

  test('slackBodyProblem accepts what Slack sends', () => {
    assert.equal(
      slackBodyProblem('application/x-www-form-urlencoded', slashCommandBody({ text: 'x', response_url: 'http://r' })),
      undefined,
    );
    assert.equal(slackBodyProblem('application/x-www-form-urlencoded', 'ssl_check=1&token=x'), undefined);
    assert.equal(slackBodyProblem('application/json', '{"type":"url_verification","challenge":"c"}'), undefined);
    assert.equal(slackBodyProblem('application/json', '{"type":"event_callback","event":{"type":"app_mention"}}'), undefined);
  });
});
