import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { parseArgs, tokenize, UsageError } from '../../src/args.ts';
import { ForbiddenError } from '../../src/auth/authorize.ts';
import type { CanaryController } from '../../src/canary/controller.ts';
import type { Deps } from '../../src/deps.ts';
import { runCanariesCommand, runCanaryCommand } from '../../src/cli/canary.ts';
import { canary } from '../../commands/canary.ts';
import { canaries } from '../../commands/canaries.ts';
import { registerCanaryButtons } from '../../commands/actions/canary-buttons.ts';
import type { SlackReply } from '../../commands/types.ts';
import { at, CHANNEL, startWorld, type World } from './world.ts';

const OPERATOR = 'U0OPER';
const VIEWER = 'U0VIEW';

describe('canary commands, buttons and CLI over the same controller', () => {
  let w: World;
  let deps: Deps;
  let controller: CanaryController;
  const replies: SlackReply[] = [];

  before(async () => {
    w = await startWorld();
    deps = await w.deps({ storeName: 'surfaces.json', operators: [OPERATOR] });
    controller = deps.canary!;
  });
  after(() => w.stop());

  const slash = (text: string, user = OPERATOR) => {
    const tokens = tokenize(text);
    return (tokens[0] === 'canaries' ? canaries : canary).run({
      args: parseArgs(tokens.slice(1)),
      user: { id: user },
      channelId: 'C0OPS',
      respond: async (r) => void replies.push(r),
      client: new WebClient('xoxb-test', { slackApiUrl: w.slack.apiUrl, retryConfig: { retries: 0 } }),
      deps,
    });
  };

  test('bad input is a usage error; moving traffic needs the operator role', async () => {
    await assert.rejects(
      slash('canary orders frobnicate'),
      (e: unknown) => e instanceof UsageError && /unknown canary action "frobnicate"/.test(e.message),
    );
    await assert.rejects(slash('canary Orders! status'), UsageError);
    await assert.rejects(slash('canary orders pause --steps 10,100'), /plan options only apply to start/);
    await assert.rejects(
      slash('canary orders start', VIEWER),
      (e: unknown) => e instanceof ForbiddenError && /moving canary traffic needs the operator role/.test(e.message),
    );
    assert.equal(controller.status('orders'), undefined);
  });

  test('status without a canary shows the preconditions; start posts one progress message', async () => {
    await slash('canary orders status', VIEWER);
    assert.match(String(replies.at(-1)!.text), /Preconditions for orders: all met/);
    w.clock.set(at(30));
    await slash('canary orders start --steps 10,50,100 --interval 5m --gates none');
    assert.match(String(replies.at(-1)!.text), new RegExp(`Done: start orders. Progress: <#${CHANNEL}>`));
    const rec = controller.status('orders')!;
    assert.deepEqual(rec.plan.steps, [10, 50, 100]);
    assert.equal(rec.plan.intervalSeconds, 300);
    assert.equal(w.clusterWeight('orders').arm64, 10);
    await slash('canaries', VIEWER);
    assert.match(String(replies.at(-1)!.text), /orders\s+10% arm64\s+step 1\/3/);
  });

  test('buttons check permission, then act; the message is the one updated', async () => {
    const handlers = new Map<string, (args: unknown) => Promise<void>>();
    registerCanaryButtons(
      { action: (id: string, fn: (args: unknown) => Promise<void>) => void handlers.set(id, fn) } as unknown as App,
      deps,
    );
    assert.deepEqual([...handlers.keys()].sort(), ['canary_pause', 'canary_promote', 'canary_resume', 'canary_rollback']);
    const click = async (id: string, user: string) => {
      const out: SlackReply[] = [];
      let acked = false;
      await handlers.get(id)!({
        ack: async () => void (acked = true),
        body: { user: { id: user }, channel: { id: CHANNEL } },
        action: { value: 'orders' },
        respond: async (r: SlackReply) => void out.push(r),
      });
      assert.ok(acked);
      return out;
    };
    const refused = await click('canary_rollback', VIEWER);
    assert.match(String(refused[0].text), /operator role/);
    assert.equal(controller.status('orders')!.phase, 'progressing');

    const ts = controller.status('orders')!.message!.ts;
    const updates = w.slack.callsTo('chat.update').filter((c) => c.args.ts === ts).length;
    assert.deepEqual(await click('canary_pause', OPERATOR), []);
    assert.equal(controller.status('orders')!.pause!.kind, 'manual');
    assert.match(String((await click('canary_pause', OPERATOR))[0].text), /already paused/);
    assert.ok(w.slack.callsTo('chat.update').filter((c) => c.args.ts === ts).length > updates);
    const paused = w.slack
      .callsTo('chat.update')
      .filter((c) => c.args.ts === ts)
      .at(-1)!;
    assert.match(JSON.stringify(paused.args.blocks), /canary_resume/);

    await click('canary_promote', OPERATOR);
    assert.equal(controller.status('orders')!.phase, 'promoted');
    assert.deepEqual(w.clusterWeight('orders'), { amd64: 0, arm64: 100 });
  });

  test('the CLI runs the same verbs', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void out.push(`ERR ${t}`) };
    assert.equal(await runCanaryCommand(parseArgs(['orders', 'status']), io, async () => deps), 0);
    assert.match(out.at(-1)!, /Canary orders\namd64 +0% ▒+ 100% arm64/);
    assert.match(out.at(-1)!, /promoted: promoted by /);
    assert.doesNotMatch(out.at(-1)!, /<@|<!date|<#|`\/arm64/, 'the terminal never prints Slack markup');
    const outcome = controller.status('orders')!.outcome!;
    assert.deepEqual([outcome.result, 'by' in outcome && outcome.by.via === 'slack' && outcome.by.userId], ['promoted', OPERATOR]);
    assert.equal(await runCanaryCommand(parseArgs(['legacy', 'start']), io, async () => deps), 1);
    assert.match(out.at(-1)!, /ERR Preconditions for legacy: not met[\s\S]*❌ arm64 image/);
    assert.equal(await runCanariesCommand(parseArgs([]), io, async () => deps), 0);
    assert.equal(out.at(-1), 'No canaries running.');
  });
});
