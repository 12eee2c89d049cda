// Every canary move, from the slash command, a button or the terminal, leaves one audit entry (who,
// what, which service, result) in the store's `audit` section and one `audit` line in the JSON log:
// denied before anything moves, ok with the resulting phase, failed with the reason. Looking is not audited.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { userInfo } from 'node:os';
import type { App } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { pino } from 'pino';
import { parseArgs, tokenize } from '../../src/args.ts';
import { auditEntries, type AuditEntry } from '../../src/auth/audit.ts';
import { ForbiddenError } from '../../src/auth/authorize.ts';
import type { CanaryController } from '../../src/canary/controller.ts';
import type { Deps } from '../../src/deps.ts';
import { runCanaryCommand } from '../../src/cli/canary.ts';
import { canary } from '../../commands/canary.ts';
import { registerCanaryButtons } from '../../commands/actions/canary-buttons.ts';
import type { SlackReply } from '../../commands/types.ts';
import { CHANNEL, startWorld, type World } from './world.ts';

const OPERATOR = 'U0OPER';
const VIEWER = 'U0VIEW';

describe('canary moves are audited from every surface', () => {
  let w: World;
  let deps: Deps;
  let controller: CanaryController;
  const logged: Array<Record<string, unknown>> = [];
  const buttons = new Map<string, (args: unknown) => Promise<void>>();
  const replies: SlackReply[] = [];

  before(async () => {
    w = await startWorld();
    const logger = pino(
      { level: 'info' },
      new Writable({ write: (chunk, _e, cb) => (logged.push(JSON.parse(String(chunk)) as Record<string, unknown>), cb()) }),
    );
    deps = await w.deps({ storeName: 'audit.json', operators: [OPERATOR], logger });
    controller = deps.canary!;
    registerCanaryButtons(
      { action: (id: string, fn: (args: unknown) => Promise<void>) => void buttons.set(id, fn) } as unknown as App,
      deps,
    );
  });
  after(() => w?.stop());

  const slash = (text: string, user: string) =>
    canary.run({
      args: parseArgs(tokenize(text)),
      user: { id: user },
      channelId: 'C0OPS',
      respond: async (r) => void replies.push(r),
      client: new WebClient('xoxb-test', { slackApiUrl: w.slack.apiUrl, retryConfig: { retries: 0 } }),
      deps,
    });
  const click = async (id: string, user: string) => {
    const replies: SlackReply[] = [];
    await buttons.get(id)!({
      ack: async () => undefined,
      body: { user: { id: user }, channel: { id: CHANNEL } },
      action: { value: 'billing' },
      respond: async (r: SlackReply) => void replies.push(r),
    });
    return replies;
  };
  /** The entries and log lines the action adds. */
  const audited = async (action: () => Promise<unknown>) => {
    const [entries, lines] = [auditEntries(deps.store).length, logged.length];
    await action().catch(() => undefined);
    return {
      entries: auditEntries(deps.store).slice(entries),
      logs: logged
        .slice(lines)
        .filter((l) => l.audit)
        .map((l) => l.audit as AuditEntry),
    };
  };
  const pick = (e: AuditEntry) => ({ actor: e.actor, action: e.action, service: e.service, result: e.result });

  test('a denied start: one entry naming the role needed, and nothing is written to the canaries', async () => {
    await assert.rejects(slash('billing start', VIEWER), ForbiddenError);
    const { entries, logs } = await audited(() => slash('billing start', VIEWER));
    assert.equal(entries.length, 1);
    assert.deepEqual(pick(entries[0]!), { actor: VIEWER, action: 'canary.start', service: 'billing', result: 'denied' });
    assert.equal(entries[0]!.channel, 'C0OPS');
    assert.equal(entries[0]!.detail, 'needs operator');
    assert.deepEqual(logs.map(pick), entries.map(pick), 'the log line carries the same entry');
    assert.equal(controller.status('billing'), undefined);
  });

  test('an allowed start: one ok entry with the phase and weight it reached', async () => {
    const { entries, logs } = await audited(() => slash('billing start --steps 10,50,100 --gates none', OPERATOR));
    assert.equal(entries.length, 1);
    assert.deepEqual(pick(entries[0]!), { actor: OPERATOR, action: 'canary.start', service: 'billing', result: 'ok' });
    assert.equal(entries[0]!.detail, 'progressing at 10% arm64');
    assert.deepEqual(
      logs.map((e) => [pick(e), e.detail]),
      entries.map((e) => [pick(e), e.detail]),
    );
    assert.equal(w.clusterWeight('billing').arm64, 10);
  });

  test("buttons: a viewer's pause is denied and audited; the operator's pause is ok", async () => {
    const denied = await audited(() => click('canary_pause', VIEWER));
    assert.deepEqual(denied.entries.map(pick), [{ actor: VIEWER, action: 'canary.pause', service: 'billing', result: 'denied' }]);
    assert.equal(denied.entries[0]!.channel, CHANNEL);
    const ok = await audited(() => click('canary_pause', OPERATOR));
    assert.deepEqual(ok.entries.map(pick), [{ actor: OPERATOR, action: 'canary.pause', service: 'billing', result: 'ok' }]);
    assert.equal(controller.status('billing')!.phase, 'paused');
  });

  test('a move that fails is audited as failed with the reason; status is not audited', async () => {
    const failed = await audited(() => slash('legacy start', OPERATOR));
    assert.deepEqual(failed.entries.map(pick), [{ actor: OPERATOR, action: 'canary.start', service: 'legacy', result: 'failed' }]);
    assert.match(failed.entries[0]!.detail!, /refused: preconditions \(.*arm64-image/);
    assert.match(String(replies.at(-1)!.text), /Preconditions for legacy: not met/, 'the person is told why');
    const looked = await audited(() => slash('billing status', VIEWER));
    assert.deepEqual(looked.entries, []);
  });

  test('the terminal is audited under the login that ran it', async () => {
    const io = { out: () => undefined, err: () => undefined };
    const { entries } = await audited(async () =>
      assert.equal(await runCanaryCommand(parseArgs(['billing', 'rollback']), io, async () => deps), 0),
    );
    assert.deepEqual(entries.map(pick), [
      { actor: `cli:${userInfo().username}`, action: 'canary.rollback', service: 'billing', result: 'ok' },
    ]);
    assert.equal(controller.status('billing')!.phase, 'rolled-back');
    assert.deepEqual(controller.status('billing')!.outcome, { result: 'rolled-back', by: { via: 'cli', login: userInfo().username } });
  });
});
