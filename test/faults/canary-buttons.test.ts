// A canary button clicked end to end: Slack's signed block_actions payload into the real bot (Bolt app,
// the button handler, guarded(), the controller patching the VirtualService in the API double). A
// viewer's Pause is refused politely and moves nothing; an operator's Pause acts once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { auditEntries } from '../../src/auth/audit.ts';
import type { CanaryController } from '../../src/canary/controller.ts';
import { startTestBot, type TestBot } from '../fakes/bot.ts';
import { until } from '../fakes/until.ts';
import { startWorld, worldCatalog, type World } from '../canary/world.ts';

const OPERATOR = 'U0OPER';
const VIEWER = 'U0VIEW';

describe('canary Pause button through the real bot', () => {
  let w: World;
  let t: TestBot;
  let controller: CanaryController;

  before(async () => {
    w = await startWorld();
    t = await startTestBot(
      {
        catalog: worldCatalog(w.registry.host),
        canary: { prometheusUrl: w.prom.url, intervalSeconds: 600 },
        auth: { operator: { users: [OPERATOR] } },
      },
      { kubeConfig: w.kube.kubeConfig(), clock: w.clock },
    );
    controller = t.bot.deps.canary!;
    const n = t.slack.responses.length;
    await t.command('canary orders start --steps 10,50,100 --gates none', { user: OPERATOR });
    await t.slack.waitFor(() => t.slack.responses.length > n, 30_000);
    assert.match(String(t.slack.responses.at(-1)!.text), /Done: start orders/);
  });
  after(async () => {
    await t?.stop();
    await w?.stop();
  });

  const pauseEvents = () => t.slack.callsTo('chat.postMessage').filter((c) => /Paused by/.test(String(c.args.text))).length;

  test('a viewer is refused politely; the canary does not move', async () => {
    const n = t.slack.responses.length;
    assert.equal((await t.click('canary_pause', 'orders', { user: VIEWER })).status, 200);
    await t.slack.waitFor(() => t.slack.responses.length > n, 30_000);
    const reply = t.slack.responses.at(-1)!;
    assert.equal(reply.response_type, 'ephemeral');
    assert.match(String(reply.text), /^Sorry, moving canary traffic needs the operator role/);
    assert.equal(controller.status('orders')!.phase, 'progressing');
    assert.equal(pauseEvents(), 0);
    assert.deepEqual(
      auditEntries(t.bot.deps.store)
        .map((e) => [e.actor, e.action, e.result])
        .at(-1),
      [VIEWER, 'canary.pause', 'denied'],
    );
  });

  test("an operator's click pauses the canary once: one audit entry, one thread event, weight kept", async () => {
    const audited = auditEntries(t.bot.deps.store).length;
    assert.equal((await t.click('canary_pause', 'orders', { user: OPERATOR })).status, 200);
    // The audit entry is written once the verb returned, after the thread event.
    await until(() => auditEntries(t.bot.deps.store).length > audited, 30_000, 'the audit entry of the pause');
    assert.equal(controller.status('orders')!.phase, 'paused');
    assert.equal(controller.status('orders')!.pause!.kind, 'manual');
    assert.equal(w.clusterWeight('orders').arm64, 10, 'pausing keeps the weight');
    assert.deepEqual(
      auditEntries(t.bot.deps.store)
        .slice(audited)
        .map((e) => [e.actor, e.action, e.service, e.result]),
      [[OPERATOR, 'canary.pause', 'orders', 'ok']],
    );
    assert.equal(pauseEvents(), 1);
  });
});
