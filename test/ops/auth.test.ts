// Roles from config, Slack user groups (through WebClient against the fake Slack API), service owners,
// and the audit trail that guarded() writes to the store and the log.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { WebClient } from '@slack/web-api';
import { pino } from 'pino';
import { Store } from '../../src/adapters/store.ts';
import { Authorizer, ForbiddenError, SlackGroupDirectory } from '../../src/auth/authorize.ts';
import { auditEntries, guarded } from '../../src/auth/audit.ts';
import { authConfigSchema } from '../../src/auth/config.ts';
import { FakeSlackApi } from '../fakes/slack-api.ts';

const config = authConfigSchema.parse({
  operator: { users: ['U_OP'], groups: ['S_SRE'] },
  admin: { users: ['U_ADMIN'] },
  viewer: { channels: ['C_MIGRATION'] },
  everyoneIsViewer: false,
  auditLimit: 100,
});
const payments = { name: 'payments', team: 'S_PAY' };
const search = { name: 'search' };

describe('authorization', () => {
  let slack: FakeSlackApi;
  let dir: string;
  let store: Store;
  let now = 1_000_000;
  let auth: Authorizer;
  const logLines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, cb) {
        logLines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        cb();
      },
    }),
  );

  before(async () => {
    slack = await new FakeSlackApi().start();
    slack.userGroups.set('S_SRE', ['U_SRE']);
    slack.userGroups.set('S_PAY', ['U_PAYDEV', 'U_SRE']);
    dir = await mkdtemp(join(tmpdir(), 'archshift-auth-'));
    store = await Store.open(join(dir, 'store.json'), 'exclusive', { auditLimit: config.auditLimit });
    const client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    auth = new Authorizer(config, new SlackGroupDirectory(client, 60_000, () => now));
  });
  after(async () => {
    await slack.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const deps = () => ({ store, logger, clock: { now: () => new Date(now) }, config: { auth: config }, auth });

  test('roles come from users, channels and Slack user groups; nobody else is anything', async () => {
    assert.equal(auth.roleOf(await auth.actorFor('U_ADMIN')), 'admin');
    assert.equal(auth.roleOf(await auth.actorFor('U_OP')), 'operator');
    assert.equal(auth.roleOf(await auth.actorFor('U_SRE')), 'operator');
    assert.equal(auth.roleOf(await auth.actorFor('U_RANDOM', 'C_MIGRATION')), 'viewer');
    assert.equal(auth.roleOf(await auth.actorFor('U_RANDOM', 'C_OTHER')), undefined);
  });

  test('group memberships are cached for the TTL, then asked again', async () => {
    const calls = () => slack.callsTo('usergroups.users.list').length;
    const before = calls();
    await auth.actorFor('U_X');
    await auth.actorFor('U_Y');
    assert.equal(calls(), before);
    now += 61_000;
    await auth.actorFor('U_X');
    assert.equal(calls(), before + 1, 'one call for the one configured group');
  });

  test('owners (the service team group) are operators on their service only, never admins', async () => {
    const dev = await auth.actorFor('U_PAYDEV', 'C_OTHER', payments);
    assert.deepEqual(dev.groups, ['S_PAY']);
    assert.equal(auth.roleOf(dev, payments), 'operator');
    assert.doesNotThrow(() => auth.require(dev, 'operator', 'moving the payments canary', payments));
    const elsewhere = await auth.actorFor('U_PAYDEV', 'C_OTHER', search);
    assert.throws(() => auth.require(elsewhere, 'operator', 'opening a PR for search', search), ForbiddenError);
    assert.throws(() => auth.require(dev, 'admin', 'reloading the config', payments), /needs the admin role \(you have operator\)/);
  });

  test('check() counts roles granted through user groups, as read-only commands need', async () => {
    // U_SRE holds no user or channel grant: only membership of S_SRE makes them an operator (so a viewer).
    await auth.check('U_SRE', 'C_OTHER', 'viewer', 'checking a service');
    await auth.check('U_PAYDEV', 'C_OTHER', 'operator', 'moving the payments canary', payments);
    await assert.rejects(
      auth.check('U_RANDOM', 'C_OTHER', 'viewer', 'checking a service'),
      (e: Error) => e instanceof ForbiddenError && /checking a service needs the viewer role/.test(e.message),
    );
  });

  test('guarded: a denial names the role, changes nothing and is audited', async () => {
    let ran = false;
    await assert.rejects(
      guarded(
        deps(),
        {
          user: { id: 'U_RANDOM' },
          channelId: 'C_MIGRATION',
          action: 'pr.open',
          role: 'operator',
          what: 'opening a PR for payments',
          service: payments,
        },
        async () => {
          ran = true;
        },
      ),
      (err: Error) =>
        err instanceof ForbiddenError &&
        /needs the operator role \(you have viewer\)/.test(err.message) &&
        /<!subteam\^S_PAY>/.test(err.message),
    );
    assert.equal(ran, false);
    const last = auditEntries(store).at(-1)!;
    assert.deepEqual(
      { actor: last.actor, action: last.action, service: last.service, result: last.result },
      { actor: 'U_RANDOM', action: 'pr.open', service: 'payments', result: 'denied' },
    );
  });

  test('guarded: success and failure are audited in the store and the structured log', async () => {
    const url = await guarded(
      deps(),
      {
        user: { id: 'U_PAYDEV' },
        action: 'pr.open',
        role: 'operator',
        what: 'opening a PR',
        service: payments,
        requestId: 'req1',
        describe: (u: string) => u,
      },
      async () => 'https://github.com/acme/payments/pull/7',
    );
    assert.equal(url, 'https://github.com/acme/payments/pull/7');
    await assert.rejects(
      guarded(
        deps(),
        { user: { id: 'U_OP' }, action: 'canary.start', role: 'operator', what: 'starting a canary', service: search },
        async () => {
          throw new Error('VirtualService search/search not found');
        },
      ),
    );
    const [ok, failed] = auditEntries(store).slice(-2);
    assert.equal(ok.result, 'ok');
    assert.equal(ok.detail, 'https://github.com/acme/payments/pull/7');
    assert.equal(ok.requestId, 'req1');
    assert.equal(failed.result, 'failed');
    assert.match(failed.detail!, /not found/);
    const logged = logLines.filter((l) => l.audit).map((l) => l.audit as Record<string, unknown>);
    assert.ok(logged.some((a) => a.action === 'pr.open' && a.result === 'ok' && a.actor === 'U_PAYDEV' && a.service === 'payments'));
    assert.ok(logged.some((a) => a.action === 'canary.start' && a.result === 'failed'));
  });

  test('Slack failing to list a group: user grants still work, group grants do not, and the denial says why', async () => {
    now += 120_000;
    slack.fail('usergroups.users.list', { error: 'ratelimited', times: 3 });
    const sre = await auth.actorFor('U_SRE', undefined, payments);
    assert.equal(sre.groupsUnknown, true);
    assert.throws(() => auth.require(sre, 'operator', 'moving a canary', payments), /could not be read just now/);
    assert.equal(auth.roleOf(await auth.actorFor('U_OP')), 'operator');
  });

  test('the audit trail keeps the newest auth.auditLimit entries at hand, across a reopen', async () => {
    for (let i = 0; i < 120; i++) {
      await guarded(
        deps(),
        { user: { id: 'U_ADMIN' }, action: 'config.reload', role: 'admin', what: 'reloading', describe: () => `n${i}` },
        async () => i,
      );
    }
    const entries = auditEntries(store);
    assert.equal(entries.length, 100);
    assert.equal(entries.at(-1)!.detail, 'n119');
    assert.equal(entries[0].detail, 'n20');
    // The file keeps them too, and a reopen reads back the newest ones.
    await store.close();
    store = await Store.open(join(dir, 'store.json'), 'exclusive', { auditLimit: config.auditLimit });
    assert.deepEqual(
      auditEntries(store).map((e) => e.detail),
      entries.map((e) => e.detail),
    );
  });
});
