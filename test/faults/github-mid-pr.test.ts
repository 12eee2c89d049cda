// GitHub failing in the middle of `/arm64 pr`, through the real bot (Bolt app, dispatch, guarded(),
// readiness check, PR flow, Octokit with its plugins over HTTP to the GitHub double): the person is told
// in Slack, and no branch is left behind without its PR.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GitHubClient } from '../../src/adapters/github.ts';
import { auditEntries } from '../../src/auth/audit.ts';
import { createLogger } from '../../src/logger.ts';
import { startTestBot, type TestBot } from '../fakes/bot.ts';
import { FakeGitHub } from '../fakes/github-api.ts';
import { freePort } from '../fakes/registry.ts';
import { catalogConfig, seedShared } from '../prs/helpers.ts';

const OPERATOR = 'U-OPERATOR';
const TOKEN = 'ghp_writer';

describe('GitHub answers 500 in the middle of a PR', () => {
  let gh: FakeGitHub;
  let t: TestBot;

  before(async () => {
    gh = await new FakeGitHub().start();
    gh.tokens.set(TOKEN, { write: true });
    // No registry answers on this port: images are "unknown", which the pipeline PR does not need.
    const noRegistry = `127.0.0.1:${await freePort()}`;
    t = await startTestBot(
      {
        github: { baseUrl: gh.url, allow: ['acme/*'], writeIntervalMs: 0 },
        registry: { retries: 0 },
        catalog: { ...catalogConfig, defaults: { ...catalogConfig.defaults, image: `${noRegistry}/{service}` } },
        auth: { operator: { users: [OPERATOR] } },
      },
      { env: { GITHUB_TOKEN: TOKEN } },
    );
    // The same adapter the bot built, with Octokit's retry back-off in milliseconds instead of seconds
    // (1 s + 4 s + 9 s per failing request otherwise); every request still goes over HTTP to the double.
    t.bot.deps.github = new GitHubClient({ baseUrl: gh.url, allow: ['acme/*'], writeIntervalMs: 0, auth: { kind: 'token', token: TOKEN }, timeScaleMs: 1, logger: createLogger('silent') });
  });
  after(async () => {
    await t?.stop();
    await gh?.stop();
  });
  beforeEach(() => {
    gh.repos.clear();
    gh.clearInjections();
    gh.requests.length = 0;
    gh.addRepo('acme/api', { Dockerfile: `FROM ${t.bot.deps.catalog.resolve('api').image}-base:1\n` });
    seedShared(gh, ['api']);
  });

  /** Sends `/arm64 <text>` and waits for the reply that ends it (the PR result is posted in the channel). */
  const prCommand = async (text: string) => {
    const n = t.slack.responses.length;
    assert.equal((await t.command(text, { user: OPERATOR, channel: 'C0PRS' })).status, 200);
    await t.slack.waitFor(() => t.slack.responses.slice(n).some((r) => r.response_type === 'in_channel' || /Sorry/.test(String(r.text))), 30_000);
    return t.slack.responses.slice(n);
  };

  test('500 on every try of POST /pulls: the reply says so, and the branch archshift made is deleted again', async () => {
    gh.inject({ method: 'POST', path: /^\/repos\/acme\/pipelines\/pulls$/, status: 500, message: 'Server Error', times: 10 });
    const replies = await prCommand('pr api pipeline');
    const result = String(replies.at(-1)!.text);
    assert.match(result, /pipeline/);
    assert.match(result, /GitHub answered 500 while trying to open a pull request in acme\/pipelines/);
    assert.match(result, /deleted again/);
    assert.ok(gh.requests.some((r) => r.method === 'POST' && r.path === '/repos/acme/pipelines/git/refs'), 'the branch had been created');
    assert.ok(gh.requests.some((r) => r.method === 'DELETE' && r.path.startsWith('/repos/acme/pipelines/git/refs/')), 'and was deleted');
    assert.deepEqual(gh.branches('acme/pipelines'), ['main'], 'no branch without a PR');
    assert.deepEqual(gh.pulls('acme/pipelines'), []);
    assert.equal(auditEntries(t.bot.deps.store).at(-1)!.action, 'pr.open');
  });

  test('500 on every try of POST /git/refs: the reply says so; the branch never exists', async () => {
    gh.inject({ method: 'POST', path: /^\/repos\/acme\/pipelines\/git\/refs$/, status: 500, message: 'Server Error', times: 10 });
    const replies = await prCommand('pr api pipeline');
    assert.match(String(replies.at(-1)!.text), /GitHub answered 500 while trying to create branch archshift\/api\/pipeline in acme\/pipelines/);
    assert.deepEqual(gh.branches('acme/pipelines'), ['main']);
    assert.deepEqual(gh.pulls('acme/pipelines'), []);
    assert.ok(!gh.requests.some((r) => r.method === 'POST' && r.path === '/repos/acme/pipelines/pulls'), 'no PR is attempted without its branch');
  });

  test('a single 500 is retried and the PR is opened, once', async () => {
    gh.inject({ method: 'POST', path: /^\/repos\/acme\/pipelines\/pulls$/, status: 500, times: 1 });
    const replies = await prCommand('pr api pipeline');
    assert.match(String(replies.at(-1)!.text), /\*pipeline\* opened/);
    assert.equal(gh.pulls('acme/pipelines').length, 1);
    assert.deepEqual(gh.branches('acme/pipelines').sort(), ['archshift/api/pipeline', 'main']);
  });
});
