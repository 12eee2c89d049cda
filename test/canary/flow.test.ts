import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { slackActor } from '../../src/auth/actor.ts';
import { at, CHANNEL, startWorld, VIRTUAL_SERVICES, type World } from './world.ts';
import type { CanaryController, CanaryRecord } from '../../src/canary/controller.ts';

const MIN = 60_000;

/** Slack calls for one canary message: the parent post, its updates, its thread replies. */
function slackTrail(w: World, ts: string) {
  const posts = w.slack.callsTo('chat.postMessage');
  return {
    parents: posts.filter((c) => !c.args.thread_ts && c.args.channel === CHANNEL),
    updates: w.slack.callsTo('chat.update').filter((c) => c.args.ts === ts),
    replies: posts.filter((c) => c.args.thread_ts === ts).map((c) => String(c.args.text)),
  };
}

describe('a canary against the API double, a real Prometheus and the fake Slack API', () => {
  let w: World;
  let c: CanaryController;
  before(async () => {
    w = await startWorld();
    c = await w.controller();
  });
  after(() => w.stop());

  test('walks 5→10→25→50, waits at the promotion gate, then promotes at 100% with the message updated in place', async () => {
    w.clock.set(at(30));
    let rec: CanaryRecord = await c.start('api', {}, slackActor('U0ALICE'));
    assert.equal(rec.phase, 'progressing');
    assert.deepEqual(w.clusterWeight('api'), { amd64: 95, arm64: 5 });
    const ts = rec.message!.ts;
    const patches = () => w.kube.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/virtualservices/api'));
    assert.equal(patches().length, 1);
    assert.equal(patches()[0].contentType, 'application/merge-patch+json');

    // Ticks between checks change nothing, not even the message.
    const updatesBefore = w.slack.callsTo('chat.update').length;
    w.clock.advance(5 * MIN);
    await c.tick();
    assert.equal(patches().length, 1);
    assert.equal(w.slack.callsTo('chat.update').length, updatesBefore);

    for (const expected of [10, 25, 50]) {
      w.clock.advance(5 * MIN);
      await c.tick();
      w.clock.advance(5 * MIN);
      rec = c.status('api')!;
      assert.equal(rec.weight, expected, `after the check, arm64 is at ${expected}%`);
      assert.deepEqual(w.clusterWeight('api'), { amd64: 100 - expected, arm64: expected });
      const last = rec.checks.at(-1)!;
      assert.equal(last.verdict, 'pass');
      // Values measured by the real PromQL over the synthetic series.
      assert.ok(Math.abs(last.arm64.values['success rate'] - 99.9) < 0.01, `arm64 success ${last.arm64.values['success rate']}`);
      assert.ok(Math.abs(last.amd64.values['CPU per request'] - 100) < 1, `amd64 cpu ${last.amd64.values['CPU per request']}`);
      assert.ok(Math.abs(last.arm64.values['CPU per request'] - 60) < 1, `arm64 cpu ${last.arm64.values['CPU per request']}`);
    }
    // The check at 50% (70m) passes; the next step is 100%, behind the promotion gate.
    w.clock.advance(5 * MIN);
    await c.tick();
    rec = c.status('api')!;
    assert.equal(rec.phase, 'awaiting-promotion');
    assert.equal(rec.weight, 50);
    w.clock.advance(20 * MIN);
    await c.tick();
    assert.equal(c.status('api')!.weight, 50, 'nothing moves without approval');

    rec = await c.resume('api', slackActor('U0BOB'));
    assert.equal(rec.weight, 100);
    assert.deepEqual(w.clusterWeight('api'), { amd64: 0, arm64: 100 });
    // At 100m amd64 has had no traffic since 72m: the last amd64 measurement is the baseline.
    w.clock.advance(10 * MIN);
    await c.tick();
    rec = c.status('api')!;
    assert.equal(rec.phase, 'promoted');
    assert.equal(rec.checks.at(-1)!.storedBaseline, true);
    assert.equal(c.list().length, 0);
    // What it measured, for the digest: CPU per request and p99 per arch, the load, each side's nodes.
    const m = rec.measured!;
    assert.equal(m.unit, 'request');
    assert.ok(Math.abs(m.amd64.cpuMsPerUnit! - 100) < 1 && Math.abs(m.arm64.cpuMsPerUnit! - 60) < 1, JSON.stringify(m));
    assert.ok(Math.abs(m.unitsPerSecond! - 10) < 0.1, "at 100% arm64 the load is arm64's alone");
    assert.ok(m.amd64.p99Ms! > 0 && m.arm64.p99Ms! > 0);
    assert.deepEqual(Object.keys(m.amd64.nodes!.types), ['m6i.xlarge']);
    assert.deepEqual(Object.keys(m.arm64.nodes!.types), ['m7g.xlarge']);

    const trail = slackTrail(w, ts);
    assert.equal(trail.parents.filter((p) => String(p.args.text).includes('Canary api')).length, 1, 'posted once');
    // One update per change: 10%, 25%, 50%, waiting at the gate, 100%, promoted. Ticks that change nothing send none.
    assert.equal(trail.updates.length, 6);
    const bars = trail.updates.map((u) => JSON.stringify(u.args.blocks));
    for (const weight of [10, 25, 50, 100])
      assert.ok(
        bars.some((b) => b.includes(`${100 - weight}% `) && b.includes(` ${weight}% arm64`)),
        `an update shows ${weight}%`,
      );
    assert.match(JSON.stringify(trail.updates.at(-1)!.args.blocks), /success rate/);
    assert.match(JSON.stringify(trail.updates.at(-1)!.args.blocks), /40% less CPU per request/);
    assert.deepEqual(w.kinds('api'), ['started', 'moved', 'moved', 'moved', 'moved', 'awaiting-approval', 'approved', 'moved', 'finished']);
    assert.deepEqual(w.events.filter((e) => e.service === 'api').at(-1)!.event, {
      kind: 'finished',
      outcome: { result: 'promoted', cause: 'checks-passed' },
    });
    assert.equal(trail.replies.length, w.kinds('api').length, 'each event is one reply in the thread');
    const finalBlocks = JSON.stringify(trail.updates.at(-1)!.args.blocks);
    assert.match(finalBlocks, /"action_id":"open_arm64_only_pr"/, 'the promoted message offers the arm64-only PR');
    assert.doesNotMatch(finalBlocks, /canary_rollback/, 'and no more canary controls');
  });

  test('rolls back on its own after two failed checks, in one patch', async () => {
    w.clock.set(at(30));
    const rec0 = await c.start('cart', { gates: 'none' }, slackActor('U0ALICE'));
    assert.equal(rec0.weight, 5);
    const before = w.kube.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/virtualservices/cart')).length;
    w.clock.advance(10 * MIN);
    await c.tick();
    let rec = c.status('cart')!;
    assert.equal(rec.failedChecks, 1);
    assert.equal(rec.weight, 5, 'a failed check does not advance');
    assert.ok(rec.checks.at(-1)!.lines.some((l) => !l.ok && l.metric === 'success rate' && Math.abs(l.arm64 - 95) < 0.1));
    w.clock.advance(10 * MIN);
    await c.tick();
    rec = c.status('cart')!;
    assert.equal(rec.phase, 'rolled-back');
    assert.equal(rec.weight, 0);
    assert.deepEqual(w.clusterWeight('cart'), { amd64: 100, arm64: 0 });
    assert.equal(
      w.kube.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/virtualservices/cart')).length - before,
      1,
      'rollback is one patch',
    );
    // The rest of the VirtualService survives the merge patch.
    assert.deepEqual(
      (w.kube.get(VIRTUAL_SERVICES, 'cart') as unknown as { spec: { http: Array<{ retries: unknown }> } }).spec.http[0].retries,
      { attempts: 2 },
    );
    const trail = slackTrail(w, rec.message!.ts);
    assert.deepEqual(w.kinds('cart'), ['started', 'moved', 'check-failed', 'check-failed', 'finished']);
    assert.deepEqual(
      { ...rec.outcome!, failed: undefined },
      { result: 'rolled-back', cause: 'failed-checks', failedChecks: 2, failed: undefined },
    );
    assert.equal(trail.replies.length, 5);
    assert.match(String(trail.updates.at(-1)!.args.text), /0% arm64/);
    assert.doesNotMatch(JSON.stringify(trail.updates.at(-1)!.args.blocks), /canary_rollback/, 'no buttons on a finished canary');
  });

  test('no data pauses with the reason, is neither pass nor failure, and resumes when traffic appears', async () => {
    w.clock.set(at(30));
    await c.start('search', { gates: 'none' }, slackActor('U0ALICE'));
    w.clock.advance(10 * MIN);
    await c.tick();
    let rec = c.status('search')!;
    assert.equal(rec.phase, 'paused');
    assert.equal(rec.pause!.kind, 'no-data');
    assert.match(rec.pause!.reason, /no istio_requests_total\{reporter="destination"\} series for workload shop\/search-arm64/);
    assert.equal(rec.failedChecks, 0);
    assert.equal(rec.weight, 5);
    w.clock.advance(10 * MIN); // 50m: still nothing in the window
    await c.tick();
    assert.equal(c.status('search')!.phase, 'paused');
    w.clock.advance(10 * MIN); // 60m: arm64 traffic since 55m
    await c.tick();
    rec = c.status('search')!;
    assert.equal(rec.phase, 'progressing');
    assert.equal(rec.weight, 10);
    // The same no-data reason is reported once; the hold ends on its own.
    assert.deepEqual(w.kinds('search'), ['started', 'moved', 'holding', 'recovered', 'moved']);
  });
});
