// Issue 11 item 3: the app and workspace of every Slack request are checked, with signed requests into
// the real bot. A user of another workspace (Slack Connect) in a channel that grants operator is a
// viewer: the PR flow is refused (audited as denied) and nothing else runs; a request for another app
// is dropped; the same request from a home user gets past the role check.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBot, SIGNING_SECRET, type TestBot, catalogDefaults } from '../fakes/bot.ts';
import { blockActionBody, postSigned, slashCommandBody } from '../fakes/slack-request.ts';
import { auditEntries } from '../../src/auth/audit.ts';
import { identityOf, judgeIdentity } from '../../src/auth/slack-identity.ts';
import { until } from '../fakes/until.ts';
import { createServer } from 'node:http';
import { closeServer, listenLocal } from '../fakes/net.ts';

const catalog = {
  defaults: catalogDefaults,
  services: { payments: {} },
};

describe('Slack app and workspace identity', () => {
  let t: TestBot;
  let n = 0;
  // A GitHub that only counts: a PR flow that got past the role check calls it.
  const githubCalls: string[] = [];
  const github = createServer((req, res) => {
    githubCalls.push(`${req.method} ${req.url}`);
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end('{"message":"unavailable"}');
  });
  before(async () => {
    const githubUrl = await listenLocal(github);
    t = await startTestBot(
      {
        catalog,
        slack: { appId: 'A1' },
        github: { baseUrl: githubUrl, allow: ['acme/*'], timeoutMs: 500 },
        auth: { operator: { channels: ['C_OPS'], users: ['U_GUEST_OP'] } },
      },
      { env: { GITHUB_TOKEN: 'ghp_test' } },
    );
  });
  after(async () => {
    await t.stop();
    await closeServer(github);
  });

  const send = async (fields: { text: string; user_id: string; team_id?: string; api_app_id?: string; enterprise_id?: string }) => {
    const id = `id-${++n}`;
    const res = await postSigned(t.url, slashCommandBody({ ...fields, channel_id: 'C_OPS', response_url: t.slack.responseUrl(id) }), {
      secret: SIGNING_SECRET,
    });
    assert.equal(res.status, 200);
    return id;
  };
  /** The last reply to `id` once one matches `done` (the PR flow says "Checking…" first). */
  const replyTo = async (id: string, done = /./) => {
    const replies = () => t.slack.calls.filter((c) => c.responseId === id).map((c) => String(c.args.text));
    await t.slack.waitFor(() => replies().some((r) => done.test(r) && !/^Checking/.test(r)), 15_000);
    return replies().at(-1)!;
  };
  const audits = (user: string) => auditEntries(t.bot.deps.store).filter((e) => e.actor === user);

  test('a Slack Connect user (another team) in an operator channel is a viewer: pr is refused and audited as denied', async () => {
    const text = await replyTo(await send({ text: 'pr payments', user_id: 'U_GUEST', team_id: 'T_OTHER' }), /needs the|Sorry/);
    assert.match(text, /needs the operator role \(you have viewer\)/);
    assert.deepEqual(
      audits('U_GUEST').map((e) => [e.action, e.result]),
      [['pr.open', 'denied']],
    );
    assert.deepEqual(githubCalls, [], 'GitHub was not called');
    // Still a viewer: reading works.
    assert.doesNotMatch(await replyTo(await send({ text: 'services', user_id: 'U_GUEST', team_id: 'T_OTHER' })), /needs the/);
  });

  test('the same from a home user passes the role check; a guest named in auth.operator.users is an operator', async () => {
    await send({ text: 'pr payments', user_id: 'U_HOME', team_id: 'T1' });
    await until(() => githubCalls.length > 0, 20_000, "the home user's PR flow to call GitHub");
    const called = githubCalls.length;
    await send({ text: 'pr payments', user_id: 'U_GUEST_OP', team_id: 'T_OTHER' });
    await until(() => githubCalls.length > called, 20_000, "the named guest's PR flow to call GitHub");
    assert.ok(
      !audits('U_HOME')
        .concat(audits('U_GUEST_OP'))
        .some((e) => e.result === 'denied'),
    );
  });

  test('a button click by a guest is refused the same way', async () => {
    const id = `click-${++n}`;
    await postSigned(
      t.url,
      blockActionBody({
        actionId: 'open_prs',
        value: 'payments',
        user_id: 'U_GUEST2',
        user_team_id: 'T_OTHER',
        channel_id: 'C_OPS',
        response_url: t.slack.responseUrl(id),
      }),
      { secret: SIGNING_SECRET },
    );
    assert.match(await replyTo(id, /needs the|Sorry/), /needs the operator role/);
  });

  test('a request for another app is acknowledged and dropped: no reply, no audit', async () => {
    const id = await send({ text: 'pr payments', user_id: 'U_HOME2', team_id: 'T1', api_app_id: 'A_OTHER' });
    const control = await send({ text: 'help', user_id: 'U_HOME2', team_id: 'T1' });
    await replyTo(control);
    assert.ok(!t.slack.calls.some((c) => c.responseId === id));
    assert.equal(audits('U_HOME2').length, 0);
  });
});

describe('judgeIdentity', () => {
  const home = { appId: 'A1', teamIds: ['T1', 'T2'], enterpriseId: 'E1' };
  test('home workspaces and the home organization are home; others are external; another app is refused', () => {
    assert.deepEqual(judgeIdentity(home, { appId: 'A1', teamId: 'T2' }), { accepted: true, external: false });
    assert.deepEqual(judgeIdentity(home, { appId: 'A1', teamId: 'T9', enterpriseId: 'E1' }), { accepted: true, external: false });
    assert.deepEqual(judgeIdentity(home, { appId: 'A1', teamId: 'T9' }), { accepted: true, external: true });
    assert.deepEqual(judgeIdentity(home, { appId: 'A1', teamId: 'T1', enterpriseId: 'E9' }), { accepted: true, external: true });
    assert.equal(judgeIdentity(home, { appId: 'A2', teamId: 'T1' }).accepted, false);
    assert.equal(judgeIdentity(home, { teamId: 'T1' }).accepted, false);
  });
  test('identityOf reads commands and interactions', () => {
    assert.deepEqual(identityOf({ api_app_id: 'A1', team_id: 'T1', enterprise_id: 'E1', user_id: 'U1' }), {
      appId: 'A1',
      teamId: 'T1',
      enterpriseId: 'E1',
      userId: 'U1',
    });
    assert.deepEqual(identityOf({ api_app_id: 'A1', team: { id: 'T1' }, user: { id: 'U2', team_id: 'T3' }, enterprise: null }), {
      appId: 'A1',
      teamId: 'T3',
      enterpriseId: undefined,
      userId: 'U2',
    });
  });
});
