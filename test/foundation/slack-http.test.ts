import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBot, SIGNING_SECRET, type TestBot } from '../fakes/bot.ts';
import { postSigned, slashCommandBody } from '../fakes/slack-request.ts';
import { subcommands } from '../../commands/index.ts';

describe('/arm64 over HTTP into the real Bolt app', () => {
  let t: TestBot;
  before(async () => {
    t = await startTestBot({
      catalog: {
        defaults: {
          repo: 'acme/{service}',
          dockerfiles: ['Dockerfile'],
          image: 'registry.acme.io/{service}',
          pipeline: { repo: 'acme/cd', file: 'services/{service}.yml' },
          manifests: { repo: 'acme/k8s', files: ['apps/{service}.yaml'] },
        },
        services: { payments: { team: 'S0PAY' }, search: {} },
      },
    });
  });
  after(() => t.stop());

  test('a signed /arm64 help is acknowledged and answered with every subcommand', async () => {
    const res = await t.command('help');
    assert.equal(res.status, 200);
    await t.slack.waitFor(() => t.slack.responses.length > 0);
    const reply = t.slack.responses.at(-1)!;
    assert.equal(reply.response_type, 'ephemeral');
    for (const s of subcommands) assert.match(String(reply.text), new RegExp(`/arm64 ${s.usage.replace(/[[\]|<>]/g, '.')}`));
  });

  test('a wrongly signed request is refused with 401 and nothing reaches Slack', async () => {
    const before = t.slack.calls.length;
    const body = slashCommandBody({ text: 'help', response_url: t.slack.responseUrl('forged') });
    const forged = await postSigned(t.url, body, { secret: 'not-the-secret' });
    assert.equal(forged.status, 401);
    const stale = await postSigned(t.url, body, { secret: SIGNING_SECRET, timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    assert.equal(stale.status, 401);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(t.slack.calls.length, before);
  });

  test('an unknown subcommand gets an ephemeral usage message', async () => {
    const n = t.slack.responses.length;
    await t.command('frobnicate now');
    await t.slack.waitFor(() => t.slack.responses.length > n);
    assert.match(String(t.slack.responses.at(-1)!.text), /Unknown subcommand `frobnicate`.*`help`/);
  });

  test('absurd command texts get a clear answer and change nothing', async () => {
    const storeBefore = JSON.stringify(t.bot.deps.store.section('x', () => 0).get());
    const texts = ['x'.repeat(10_000), 'help\u0000\u0007\u001b[31m', '<@U123|bob> <!channel>', '--json', '   '];
    for (const text of texts) {
      const n = t.slack.responses.length;
      const res = await t.command(text);
      assert.equal(res.status, 200);
      await t.slack.waitFor(() => t.slack.responses.length > n);
      assert.ok(String(t.slack.responses.at(-1)!.text).length > 0);
    }
    assert.match(String(t.slack.responses.at(-5)!.text), /too long/);
    assert.match(String(t.slack.responses.at(-3)!.text), /Unknown subcommand `<@u123\|bob>`/);
    assert.equal(JSON.stringify(t.bot.deps.store.section('x', () => 0).get()), storeBefore);
  });

  test('a channel the bot cannot post in gets an explanation, not "failed on our side"', async () => {
    const n = t.slack.responses.length;
    t.slack.fail('chat.postMessage', { error: 'not_in_channel' });
    await t.command('check payments', { channel: 'C0NOTJOINED' });
    await t.slack.waitFor(() => t.slack.responses.length > n);
    const text = String(t.slack.responses.at(-1)!.text);
    assert.match(text, /not a member of this channel: invite it/);
    assert.doesNotMatch(text, /failed on our side/);
  });

  test('/arm64 services lists the catalog with templates filled in', async () => {
    const n = t.slack.responses.length;
    await t.command('services');
    await t.slack.waitFor(() => t.slack.responses.length > n);
    const text = String(t.slack.responses.at(-1)!.text);
    assert.match(text, /2 services/);
    assert.match(text, /`payments` {2}repo acme\/payments {2}image registry.acme.io\/payments/);
  });
});
