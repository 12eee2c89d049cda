// The digest's "Open PRs for all N ready services" button end to end: Slack's signed block_actions
// payload into the real bot (Bolt, the handler, guarded(), the fleet PR batch, Octokit over HTTP to the
// GitHub double behind a proxy that can hold a request in flight). A viewer is refused and nothing is
// written; an operator's click reports progress and the final table in the digest's thread; a second
// click while the batch runs says it is running and starts nothing.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { auditEntries } from '../../src/auth/audit.ts';
import { OPEN_READY_PRS_ACTION } from '../../src/render/pr-buttons.ts';
import type { TestBot } from '../fakes/bot.ts';
import { FakeGitHub } from '../fakes/github-api.ts';
import { until } from '../fakes/until.ts';
import { startFaultProxy, type FaultProxy } from '../fakes/registry.ts';
import { seedShared, startPrBot } from '../prs/helpers.ts';

const OPERATOR = 'U-OPERATOR';
const VIEWER = 'U-VIEWER';
const TOKEN = 'ghp_writer';
const DIGEST_TS = '1764662400.000100';

describe("the digest's batch PR button through the real bot", () => {
  let gh: FakeGitHub;
  let proxy: FaultProxy;
  let t: TestBot;

  before(async () => {
    gh = await new FakeGitHub().start();
    gh.tokens.set(TOKEN, { write: true });
    proxy = await startFaultProxy(gh.url);
    t = await startPrBot(proxy.url, TOKEN, OPERATOR);
  });
  after(async () => {
    await t?.stop();
    await proxy?.close();
    await gh?.stop();
  });
  beforeEach(() => {
    gh.reset();
    proxy.rules = [];
    for (const s of ['api', 'web']) gh.addRepo(`acme/${s}`, { Dockerfile: `FROM ${t.bot.deps.catalog.resolve(s).image}-base:1\n` });
    seedShared(gh, ['api', 'web']);
  });

  const inThread = () => t.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === DIGEST_TS);
  const click = async (user: string) => {
    const n = t.slack.responses.length;
    assert.equal((await t.click(OPEN_READY_PRS_ACTION, 'api,web', { user, channel: 'C0DIGEST', messageTs: DIGEST_TS })).status, 200);
    return n;
  };

  test('a viewer is refused politely; nothing is written, nothing posted in the thread', async () => {
    const n = await click(VIEWER);
    await t.slack.waitFor(() => t.slack.responses.length > n, 30_000);
    const reply = t.slack.responses.at(-1)!;
    assert.equal(reply.response_type, 'ephemeral');
    assert.match(String(reply.text), /^Sorry, opening the PRs of every ready service needs the operator role/);
    assert.equal(gh.writes(), 0);
    assert.equal(inThread().length, 0);
    assert.deepEqual(
      auditEntries(t.bot.deps.store)
        .map((e) => [e.actor, e.action, e.result])
        .at(-1),
      [VIEWER, 'pr.open-ready', 'denied'],
    );
  });

  test("an operator's click: progress and the final table in the digest's thread; a second click while it runs says so", async () => {
    let release!: () => void;
    proxy.rules = [{ match: /^POST \/repos\/acme\/pipelines\/git\/refs$/, times: 1, hold: new Promise<void>((r) => (release = r)) }];
    const audited = auditEntries(t.bot.deps.store).length;
    await click(OPERATOR);
    // Polled: the held request is in the proxy's log, not a Slack call the fake would wake waitFor on.
    await until(
      () => inThread().length === 1 && proxy.log.some((r) => r.method === 'POST' && /git\/refs$/.test(r.path)),
      30_000,
      'the batch holding its first branch creation',
    );
    assert.match(
      String(inThread()[0]!.args.text),
      /^:hourglass_flowing_sand: Opening the PRs of 2 ready services for <@U-OPERATOR>, paced to GitHub's limits: 0\/2 done/,
    );

    const n = await click(OPERATOR);
    await t.slack.waitFor(() => t.slack.responses.length > n, 30_000);
    assert.equal(t.slack.responses.at(-1)!.response_type, 'ephemeral');
    assert.match(
      String(t.slack.responses.at(-1)!.text),
      /^A PR batch started by <@U-OPERATOR> is running \(0\/2 services done\); its progress is in the digest's thread\./,
    );

    release();
    await t.slack.waitFor(() => inThread().some((c) => /^\*Done: /.test(String(c.args.text))), 60_000);
    const table = String(inThread().at(-1)!.args.text);
    assert.match(table, /^\*Done: 2 services: .*\d+ opened/);
    assert.match(table, /^\*api\*: .*pipeline opened <[^|>]+\|#\d+>/m);
    assert.match(table, /^\*web\*: .*pipeline opened <[^|>]+\|#\d+>/m);
    assert.equal(inThread().length, 2, 'one progress reply, updated in place, and the table');
    // The progress reply's last update comes before the table.
    assert.match(
      String(t.slack.callsTo('chat.update').at(-1)!.args.text),
      /^:white_check_mark: .*2\/2 done · last: web · \d+ GitHub writes this hour/,
    );

    const pulls = gh
      .pulls('acme/pipelines')
      .map((p) => p.head)
      .sort();
    assert.deepEqual(pulls, ['archshift/api/pipeline', 'archshift/web/pipeline'], 'each PR once, the second click started nothing');
    // The batch's own entry is written once the batch returned, after the table.
    await until(
      () => auditEntries(t.bot.deps.store).some((e) => e.action === 'pr.open-ready' && e.result === 'ok'),
      30_000,
      "the batch's audit entry",
    );
    const entries = auditEntries(t.bot.deps.store)
      .slice(audited)
      .map((e) => [e.action, e.service ?? null, e.result]);
    assert.deepEqual(entries, [
      ['pr.open', 'api', 'ok'],
      ['pr.open', 'web', 'ok'],
      ['pr.open-ready', null, 'ok'],
    ]);
  });
});
