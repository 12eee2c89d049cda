// The registry going away under the real bot: `/arm64 check` of a service that was ready answers
// "unknown" and names the registry it could not reach, never "ready" from a guess. The tag cache is
// outlived first (the bot's clock moves past registry.tagTtlSeconds), so the answer must come from the registry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../fakes/clock.ts';
import { startTestBot, type TestBot } from '../fakes/bot.ts';
import { FakeGitHub } from '../fakes/github-api.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';
import { pushOpenImages, seedServiceRepos } from '../readiness/service-fixtures.ts';

describe('/arm64 check while the registry is down', () => {
  let registry: RunningRegistry;
  let gh: FakeGitHub;
  let t: TestBot;
  const clock = new FakeClock('2026-11-24T10:00:00Z');

  before(async () => {
    [registry, gh] = await Promise.all([startRegistry(), new FakeGitHub().start()]);
    await pushOpenImages(registry);
    gh.tokens.set('ghp_reader', { write: false });
    const entry = await seedServiceRepos(gh, 'checkout-api', registry.host);
    t = await startTestBot(
      { github: { baseUrl: gh.url }, registry: { retries: 1, tagTtlSeconds: 600 }, catalog: { services: { 'checkout-api': entry } } },
      { env: { GITHUB_TOKEN: 'ghp_reader' }, clock },
    );
  });
  after(async () => {
    await t?.stop();
    await Promise.all([registry?.stop(), gh?.stop()]);
  });

  /** `/arm64 check checkout-api`, and the report it updated its "Checking…" message with. */
  const check = async () => {
    const n = t.slack.callsTo('chat.update').length;
    assert.equal((await t.command('check checkout-api', { channel: 'C0CHECK' })).status, 200);
    await t.slack.waitFor(() => t.slack.callsTo('chat.update').length > n, 30_000);
    const update = t.slack.callsTo('chat.update').at(-1)!;
    return { text: String(update.args.text), blocks: JSON.stringify(update.args.blocks) };
  };

  test('ready while the registry answers; unknown, naming the registry, once it is gone', async () => {
    const up = await check();
    assert.match(up.text, /^checkout-api: .*\(/);
    assert.match(up.blocks, /\*ready\*/, 'the fixture service is ready when every image can be read');

    await registry.stop();
    clock.advance(3600_000);
    const down = await check();
    assert.match(down.blocks, /\*unknown\*/);
    assert.doesNotMatch(down.blocks, /\*ready\*/);
    assert.ok(down.blocks.includes(`cannot reach ${registry.host}`), `the registry is named: ${down.blocks.slice(0, 2000)}`);
  });
});
