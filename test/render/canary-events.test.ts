// The one place canary wording is tested: every event kind and outcome, for Slack and the terminal.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cliActor, slackActor } from '../../src/auth/actor.ts';
import { CanaryError, PreconditionsError } from '../../src/canary/controller.ts';
import type { CanaryEvent, CanaryEventKind, CanaryRefusal } from '../../src/canary/events.ts';
import type { PreconditionReport } from '../../src/canary/preconditions.ts';
import type { CanaryPlan } from '../../src/canary/plan.ts';
import { canaryErrorText, canaryEventText, checkLineText, describePlan, formatValue } from '../../src/render/canary-events.ts';

const alice = slackActor('U0ALICE', 'alice');
const plan: CanaryPlan = {
  steps: [5, 25, 100],
  intervalSeconds: 600,
  failedChecksBeforeRollback: 2,
  gates: { beforeStart: false, beforeIncrease: false, beforePromotion: true },
};
const failed = [{ metric: 'success rate' as const, ok: false, text: 'arm64 95.00% < 99.00%' }];

const golden: Array<[CanaryEvent, string, string]> = [
  [
    { kind: 'started', by: alice, plan },
    '🚀 Canary started by <@U0ALICE>: 5 → 25 → 100% arm64, every 10m, rollback after 2 failed checks, approval before promotion.',
    'Canary started by alice (on Slack): 5 → 25 → 100% arm64, every 10m, rollback after 2 failed checks, approval before promotion.',
  ],
  [
    { kind: 'continuing', weight: 25 },
    'The VirtualService already sends 25% to arm64; continuing from there.',
    'The VirtualService already sends 25% to arm64; continuing from there.',
  ],
  [
    { kind: 'awaiting-approval', gate: 'start', weight: 0, to: 5 },
    '✋ Waiting for approval to send 5% to arm64: `/arm64 canary api resume`.',
    'Waiting for approval to send 5% to arm64: `archshift canary api resume`.',
  ],
  [
    { kind: 'awaiting-approval', gate: 'promotion', weight: 25, to: 100 },
    '✋ Checks pass at 25% arm64. Waiting for approval to move to 100%: resume (or promote to finish now).',
    'Checks pass at 25% arm64. Waiting for approval to move to 100%: resume (or promote to finish now).',
  ],
  [
    { kind: 'approved', by: cliActor('bob'), to: 100 },
    '▶ bob (from the terminal) approved the move to 100% arm64.',
    'bob (from the terminal) approved the move to 100% arm64.',
  ],
  [{ kind: 'paused', by: alice, weight: 25 }, '⏸ Paused by <@U0ALICE> at 25% arm64.', 'Paused by alice (on Slack) at 25% arm64.'],
  [
    { kind: 'resumed', by: alice, weight: 25 },
    '▶ Resumed by <@U0ALICE> at 25% arm64; checking at the next tick.',
    'Resumed by alice (on Slack) at 25% arm64; checking at the next tick.',
  ],
  [
    { kind: 'adopted', by: alice, amd64: 70, arm64: 30 },
    "▶ Resumed by <@U0ALICE>, taking the VirtualService's current 70/30 split as the new starting point.",
    "Resumed by alice (on Slack), taking the VirtualService's current 70/30 split as the new starting point.",
  ],
  [
    { kind: 'moved', step: 2, steps: 3, from: 5, to: 25, nextCheckSeconds: 600 },
    '➡ Step 2/3: arm64 5% → 25%. Next check in 10m.',
    'Step 2/3: arm64 5% → 25%. Next check in 10m.',
  ],
  [
    { kind: 'move-refused', from: 5, to: 25, detail: 'the API server refused the patch: 500', retry: 'resume' },
    '⏸ Could not move to 25%: the API server refused the patch: 500. Weights unchanged at 5% arm64; resume to retry.',
    'Could not move to 25%: the API server refused the patch: 500. Weights unchanged at 5% arm64; resume to retry.',
  ],
  [
    { kind: 'check-failed', weight: 5, failedChecks: 1, limit: 2, failed },
    '❌ Check failed at 5% arm64 (1/2): arm64 95.00% < 99.00%.',
    'Check failed at 5% arm64 (1/2): arm64 95.00% < 99.00%.',
  ],
  [
    { kind: 'holding', reason: 'no-data', weight: 5, missing: ['no traffic'], intervalSeconds: 600 },
    '⏸ No data at 5% arm64, holding (not a failure, not a pass): no traffic. Re-checking every 10m.',
    'No data at 5% arm64, holding (not a failure, not a pass): no traffic. Re-checking every 10m.',
  ],
  [
    { kind: 'holding', reason: 'not-ready', weight: 5, deployment: 'api-arm64', ready: 1, desired: 3 },
    '⏸ Metrics pass, but api-arm64 has 1/3 replicas ready; holding at 5% until it is ready.',
    'Metrics pass, but api-arm64 has 1/3 replicas ready; holding at 5% until it is ready.',
  ],
  [{ kind: 'recovered', reason: 'no-data', deployment: 'api-arm64' }, '▶ Data is back; continuing.', 'Data is back; continuing.'],
  [
    { kind: 'settled', to: 25, applied: false, weight: 5 },
    '🔁 Recovered: the move to 25% arm64 had not been applied; still at 5%.',
    'Recovered: the move to 25% arm64 had not been applied; still at 5%.',
  ],
  [
    { kind: 'conflict', detail: 'VirtualService shop/api was changed outside archshift' },
    "⚠ VirtualService shop/api was changed outside archshift. Paused; nothing more is changed until someone resumes (which adopts the cluster's split) or rolls back.",
    "VirtualService shop/api was changed outside archshift. Paused; nothing more is changed until someone resumes (which adopts the cluster's split) or rolls back.",
  ],
  [
    { kind: 'cluster-unreadable', detail: 'ECONNREFUSED' },
    '⚠ Cannot read the cluster: ECONNREFUSED. Retrying every tick; no weight changes meanwhile.',
    'Cannot read the cluster: ECONNREFUSED. Retrying every tick; no weight changes meanwhile.',
  ],
  [{ kind: 'cluster-back' }, 'The cluster answers again.', 'The cluster answers again.'],
  [
    { kind: 'rollback-pending', detail: '503' },
    '⚠ Rollback not applied yet: 503. Retrying every tick.',
    'Rollback not applied yet: 503. Retrying every tick.',
  ],
  [
    { kind: 'finished', outcome: { result: 'rolled-back', cause: 'failed-checks', failedChecks: 2, failed } },
    '↩ Rolled back (automatic rollback after 2 failed checks: arm64 95.00% < 99.00%): 100% of traffic on amd64.',
    'Rolled back (automatic rollback after 2 failed checks: arm64 95.00% < 99.00%): 100% of traffic on amd64.',
  ],
  [
    { kind: 'finished', outcome: { result: 'rolled-back', cause: 'arm64-unready', deployment: 'api-arm64', weight: 25 } },
    '↩ Rolled back (automatic rollback: api-arm64 has no ready replicas while taking 25% of traffic): 100% of traffic on amd64.',
    'Rolled back (automatic rollback: api-arm64 has no ready replicas while taking 25% of traffic): 100% of traffic on amd64.',
  ],
  [
    { kind: 'finished', outcome: { result: 'rolled-back', by: alice } },
    '↩ Rolled back (rolled back by <@U0ALICE>): 100% of traffic on amd64.',
    'Rolled back (rolled back by alice (on Slack)): 100% of traffic on amd64.',
  ],
  [
    { kind: 'finished', outcome: { result: 'promoted', cause: 'checks-passed' } },
    '🎉 Promoted (every check passed up to 100% arm64): 100% of traffic on arm64. Next: the "Open the arm64-only PR" button (or `canary: false` on api in the catalog, then `/arm64 pr api selectors`) opens the PR that moves the main Deployment to arm64, after which the -arm64 copy and the subsets can go.',
    'Promoted (every check passed up to 100% arm64): 100% of traffic on arm64. Next: `canary: false` on api in the catalog, then `archshift pr api selectors` opens the PR that moves the main Deployment to arm64, after which the -arm64 copy and the subsets can go.',
  ],
];

describe('render/canary-events: the words for each canary event', () => {
  for (const [event, slack, terminal] of golden) {
    test(`${event.kind}${'reason' in event ? ` (${event.reason})` : ''}${'outcome' in event ? ` (${JSON.stringify(event.outcome).slice(0, 40)})` : ''}`, () => {
      assert.equal(canaryEventText(event, 'api', 'slack'), slack);
      assert.equal(canaryEventText(event, 'api', 'terminal'), terminal);
    });
  }

  test('no terminal line carries Slack markup (mentions, dates, channel links, emoji, /arm64 commands)', () => {
    const markup = /<@|<!|<#|`\/arm64|\p{Extended_Pictographic}/u;
    for (const [event] of golden) assert.doesNotMatch(canaryEventText(event, 'api', 'terminal'), markup, event.kind);
    for (const [refusal] of refusals)
      assert.doesNotMatch(canaryErrorText(new CanaryError('api', refusal), 'terminal'), markup, refusal.code);
  });

  test('every event kind has golden lines', () => {
    const kinds: CanaryEventKind[] = [
      'started',
      'continuing',
      'awaiting-approval',
      'approved',
      'paused',
      'resumed',
      'adopted',
      'moved',
      'move-refused',
      'check-failed',
      'holding',
      'recovered',
      'settled',
      'conflict',
      'cluster-unreadable',
      'cluster-back',
      'rollback-pending',
      'finished',
    ];
    assert.deepEqual([...new Set(golden.map(([e]) => e.kind))].sort(), [...kinds].sort());
  });

  test('check lines are facts; each bound reads in the direction that is worse', () => {
    const p99 = { metric: 'p99 latency', unit: 'ms', better: 'lower' as const, arm64: 812.4 };
    assert.equal(checkLineText({ ...p99, ok: false, bound: 'max', limit: 500 }), 'p99 latency: arm64 812 ms > 500 ms');
    assert.equal(
      checkLineText({ ...p99, ok: false, bound: 'ratio', limit: 1.2, amd64: 300, observed: 812.4 / 300 }),
      "p99 latency: arm64 812 ms is 2.71× amd64's 300 ms (max 1.2×)",
    );
    const orders = { metric: 'orders per request', better: 'higher' as const, arm64: 0.04 };
    assert.equal(checkLineText({ ...orders, ok: true, bound: 'min', limit: 0.01 }), 'orders per request: arm64 0.04 ≥ 0.01');
    assert.equal(
      checkLineText({ ...orders, ok: false, bound: 'ratio', limit: 1.1, amd64: 0.05, observed: 1.25 }),
      "orders per request: amd64's 0.05 is 1.25× arm64's 0.04 (max 1.1×)",
    );
    assert.equal(
      checkLineText({ ...orders, ok: true, bound: 'difference', limit: 0.02, amd64: 0.03, observed: -0.01 }),
      "orders per request: arm64 0.04 is 0.01 above amd64's 0.03 (max 0.02 below)",
    );
    assert.equal(
      checkLineText({ metric: 'success rate', ok: false, text: 'arm64 95.00% < 99.00%' }),
      'arm64 95.00% < 99.00%',
      'lines recorded as sentences read as they were',
    );
    assert.deepEqual(
      [formatValue(99.9, '%'), formatValue(1234.5, 'ms'), formatValue(60, 'ms'), formatValue(42.25), formatValue(0.0042, 'lag/s')],
      ['99.90%', '1235 ms', '60 ms', '42.3', '0.0042 lag/s'],
    );
  });

  test('the plan in one line', () => {
    assert.equal(
      describePlan({
        ...plan,
        gates: { beforeStart: true, beforeIncrease: true, beforePromotion: false },
        intervalSeconds: 5400,
        failedChecksBeforeRollback: 3,
      }),
      '5 → 25 → 100% arm64, every 1h30m, rollback after 3 failed checks, approval before start, increase',
    );
  });

  test('refusals name who and what to type next, on each surface', () => {
    const running = new CanaryError('api', { code: 'already-running', phase: 'paused', weight: 10, startedBy: alice });
    assert.equal(
      canaryErrorText(running, 'slack'),
      'a canary for api is already running (paused at 10% arm64), started by <@U0ALICE>: `/arm64 canary api status`',
    );
    assert.equal(
      canaryErrorText(running, 'terminal'),
      'a canary for api is already running (paused at 10% arm64), started by alice (on Slack): `archshift canary api status`',
    );
    const none = new CanaryError('api', { code: 'no-canary' });
    assert.equal(canaryErrorText(none, 'terminal'), 'no canary for api: `archshift canary api start`');
  });

  // Every refusal code, worded once (the use case's tests assert the codes).
  const refusals: Array<[CanaryRefusal, string]> = [
    [
      { code: 'ended', phase: 'promoted', outcome: { result: 'promoted', by: cliActor('bob') }, verb: 'pause' },
      'the canary for api already ended (promoted); nothing to pause (promoted by bob (from the terminal))',
    ],
    [{ code: 'ended', phase: 'rolled-back', verb: 'resume' }, 'the canary for api already ended (rolled-back); nothing to resume'],
    [{ code: 'rolling-back', verb: 'resume' }, 'api is rolling back; it cannot resume; start a new canary afterwards'],
    [{ code: 'rolling-back', verb: 'promote' }, 'api is rolling back; it cannot promote'],
    [{ code: 'already-paused', reason: 'paused by bob' }, 'api is already paused: paused by bob'],
    [{ code: 'not-waiting', phase: 'progressing' }, 'api is progressing, not paused or waiting for approval'],
    [
      { code: 'cluster-unreadable', detail: 'cluster prod-eu: connect ECONNREFUSED', verb: 'start' },
      'cannot start the canary for api: cluster prod-eu: connect ECONNREFUSED. Nothing was changed; try again once the cluster answers.',
    ],
    [
      { code: 'cluster-unreadable', detail: 'timeout', verb: 'preconditions' },
      'cannot check the preconditions for api: timeout. Nothing was changed; try again once the cluster answers.',
    ],
    [{ code: 'route-missing', namespace: 'shop', name: 'api' }, 'VirtualService shop/api no longer exists; roll back or recreate it'],
    [
      { code: 'route-invalid', detail: 'VirtualService api weights 60 + 30 do not sum to 100' },
      'VirtualService api weights 60 + 30 do not sum to 100; fix it before resuming',
    ],
    [{ code: 'not-promoted', detail: 'api-arm64 has 2/3 replicas ready' }, 'not promoted: api-arm64 has 2/3 replicas ready'],
    [
      { code: 'preconditions', failed: ['arm64-image', 'destination-rule'] },
      'the canary for api cannot start: arm64 image; DestinationRule',
    ],
    [{ code: 'busy' }, 'the canary for api is being moved by another replica right now; try again'],
    [
      { code: 'locked', owner: 'replica-1', until: '2026-12-02T01:00:00.000Z' },
      'the canary for api is driven by replica-1 until 2026-12-02T01:00:00.000Z',
    ],
  ];
  for (const [refusal, words] of refusals) {
    test(`refusal ${refusal.code}${'verb' in refusal ? ` (${refusal.verb})` : ''}: ${words}`, () => {
      assert.equal(canaryErrorText(new CanaryError('api', refusal), 'terminal'), words);
    });
  }

  test('a precondition refusal lists what the report found', () => {
    const report: PreconditionReport = {
      ok: false,
      items: [
        { check: 'arm64-deployment', ok: false, namespace: 'shop', name: 'api-arm64', readiness: { ready: 1, desired: 3 } },
        { check: 'amd64-deployment', ok: true, namespace: 'shop', name: 'api' },
      ],
    };
    const err = new PreconditionsError('api', report);
    assert.deepEqual(err.refusal, { code: 'preconditions', failed: ['arm64-deployment'] });
    assert.equal(canaryErrorText(err, 'slack'), 'the canary for api cannot start: arm64 Deployment: api-arm64: 1/3 replicas ready');
    assert.equal(err.message, 'canary api refused: preconditions (arm64-deployment)', 'the log and the audit get the codes');
  });
});
