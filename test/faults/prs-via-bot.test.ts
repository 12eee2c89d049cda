// PRs through the real bot (Bolt app, dispatch or the button handler, guarded(), readiness check, PR
// flow, Octokit with its plugins over HTTP to the GitHub double). GitHub failing in the middle of
// `/arm64 pr`: the person is told in Slack, and no branch is left behind without its PR. The "Open PRs"
// button: a viewer is refused politely and nothing is written; an operator's click opens each PR once.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { auditEntries } from '../../src/auth/audit.ts';
import type { TestBot } from '../fakes/bot.ts';
import { FakeGitHub } from '../fakes/github-api.ts';
import { ARM64_ONLY_PR_ACTION, OPEN_PRS_ACTION } from '../../src/render/pr-buttons.ts';
import { seedShared, startPrBot } from '../prs/helpers.ts';

const OPERATOR = 'U-OPERATOR';
const VIEWER = 'U-VIEWER';
const TOKEN = 'ghp_writer';

describe('PRs through the real bot', () => {
  let gh: FakeGitHub;
  let t: TestBot;

  before(async () => {
    gh = await new FakeGitHub().start();
    gh.tokens.set(TOKEN, { write: true });
    t = await startPrBot(gh.url, TOKEN, OPERATOR);
  });
  after(async () => {
    await t?.stop();
    await gh?.stop();
  });
  beforeEach(() => {
    gh.reset();
    gh.addRepo('acme/api', { Dockerfile: `FROM ${t.bot.deps.catalog.resolve('api').image}-base:1\n` });
    gh.addRepo('acme/web', { Dockerfile: `FROM ${t.bot.deps.catalog.resolve('web').image}-base:1\n` });
    seedShared(gh, ['api', 'web']);
  });

  /** Sends the request and waits for the reply that ends it: the PR result (posted in the channel) or a refusal. */
  const until = async (send: () => Promise<Response>) => {
    const n = t.slack.responses.length;
    assert.equal((await send()).status, 200);
    await t.slack.waitFor(
      () => t.slack.responses.slice(n).some((r) => r.response_type === 'in_channel' || /Sorry/.test(String(r.text))),
      30_000,
    );
    return t.slack.responses.slice(n);
  };
  const runPrCommand = (text: string) => until(() => t.command(text, { user: OPERATOR, channel: 'C0PRS' }));
  const clickOpenPrs = (user: string) => until(() => t.click(OPEN_PRS_ACTION, 'api', { user, channel: 'C0PRS' }));

  test('500 on every try of POST /pulls: the reply says so, and the branch archshift made is deleted again', async () => {
    gh.inject({ method: 'POST', path: /^\/repos\/acme\/pipelines\/pulls$/, status: 500, message: 'Server Error', times: 10 });
    const replies = await runPrCommand('pr api pipeline');
    const result = String(replies.at(-1)!.text);
    assert.match(result, /pipeline/);
    assert.match(result, /GitHub answered 500 while trying to open a pull request in acme\/pipelines/);
    assert.match(result, /deleted again/);
    assert.ok(
      gh.requests.some((r) => r.method === 'POST' && r.path === '/repos/acme/pipelines/git/refs'),
      'the branch had been created',
    );
    assert.ok(
      gh.requests.some((r) => r.method === 'DELETE' && r.path.startsWith('/repos/acme/pipelines/git/refs/')),
      'and was deleted',
    );
    assert.deepEqual(gh.branches('acme/pipelines'), ['main'], 'no branch without a PR');
    assert.deepEqual(gh.pulls('acme/pipelines'), []);
    assert.equal(auditEntries(t.bot.deps.store).at(-1)!.action, 'pr.open');
  });

  test('500 on every try of POST /git/refs: the reply says so; the branch never exists', async () => {
    gh.inject({ method: 'POST', path: /^\/repos\/acme\/pipelines\/git\/refs$/, status: 500, message: 'Server Error', times: 10 });
    const replies = await runPrCommand('pr api pipeline');
    assert.match(
      String(replies.at(-1)!.text),
      /GitHub answered 500 while trying to create branch archshift\/api\/pipeline in acme\/pipelines/,
    );
    assert.deepEqual(gh.branches('acme/pipelines'), ['main']);
    assert.deepEqual(gh.pulls('acme/pipelines'), []);
    assert.ok(
      !gh.requests.some((r) => r.method === 'POST' && r.path === '/repos/acme/pipelines/pulls'),
      'no PR is attempted without its branch',
    );
  });

  test('a single 500 is retried and the PR is opened, once', async () => {
    gh.inject({ method: 'POST', path: /^\/repos\/acme\/pipelines\/pulls$/, status: 500, times: 1 });
    const replies = await runPrCommand('pr api pipeline');
    assert.match(String(replies.at(-1)!.text), /\*pipeline\* opened/);
    assert.equal(gh.pulls('acme/pipelines').length, 1);
    assert.deepEqual(gh.branches('acme/pipelines').sort(), ['archshift/api/pipeline', 'main']);
  });

  test('the Open PRs button: a viewer is refused politely and nothing is written', async () => {
    const replies = await clickOpenPrs(VIEWER);
    assert.equal(replies.length, 1);
    assert.equal(replies[0]!.response_type, 'ephemeral');
    assert.match(String(replies[0]!.text), /^Sorry, opening PRs for api needs the operator role/);
    assert.equal(gh.writes(), 0);
    assert.equal(auditEntries(t.bot.deps.store).at(-1)!.result, 'denied');
  });

  test('after a promoted canary, "Open the arm64-only PR" moves the main Deployment itself, with no -arm64 copy', async () => {
    assert.equal(t.bot.deps.catalog.resolve('web').canary, true, 'web goes through canaries');
    const replies = await until(() => t.click(ARM64_ONLY_PR_ACTION, 'web', { user: OPERATOR, channel: 'C0PRS' }));
    assert.match(String(replies.at(-1)!.text), /\*selectors\* opened/);
    const [pull] = gh.pulls('acme/k8s');
    assert.equal(pull!.head, 'archshift/web/selectors');
    const manifest = gh.file('acme/k8s', pull!.head, 'apps/web/deployment.yaml')!;
    assert.match(manifest, /kubernetes\.io\/arch: arm64/);
    assert.doesNotMatch(manifest, /web-arm64/, 'the arm64-only shape, not the canary shape');
    assert.equal(gh.pulls('acme/pipelines').length, 0, 'only the scheduling change');
  });

  test("the Open PRs button: an operator's click opens each PR once and links them", async () => {
    const audited = auditEntries(t.bot.deps.store).length;
    const replies = await clickOpenPrs(OPERATOR);
    const result = String(replies.at(-1)!.text);
    const opened = [...result.matchAll(/\*(\w+)\* opened <([^|>]+)\|#\d+>/g)].map((m) => m[1]);
    assert.ok(opened.includes('pipeline') && opened.includes('selectors'), result);
    const pulls = [...gh.repos.keys()].flatMap((repo) => gh.pulls(repo).map((p) => `${repo} ${p.head}`));
    assert.equal(pulls.length, opened.length, 'one PR per change the reply names');
    assert.equal(new Set(pulls).size, pulls.length, 'no change opened twice');
    const entries = auditEntries(t.bot.deps.store).slice(audited);
    assert.deepEqual(
      entries.map((e) => [e.actor, e.action, e.service, e.result]),
      [[OPERATOR, 'pr.open', 'api', 'ok']],
    );
  });
});
