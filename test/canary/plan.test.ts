import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canaryConfigSchema } from '../../src/canary/config.ts';
import { buildPlan, parseDuration, PlanError } from '../../src/canary/plan.ts';

const config = canaryConfigSchema.parse({});

describe('canary plans', () => {
  test('defaults come from config; options override them', () => {
    const p = buildPlan(config);
    assert.deepEqual(p.steps, [5, 10, 25, 50, 100]);
    assert.equal(p.intervalSeconds, 600);
    assert.deepEqual(p.gates, { beforeStart: false, beforeIncrease: false, beforePromotion: true });
    const o = buildPlan(config, { steps: '10,25,50,100', interval: '1h30m', failedChecks: '3', gates: 'start,increase' });
    assert.deepEqual(o.steps, [10, 25, 50, 100]);
    assert.equal(o.intervalSeconds, 5400);
    assert.equal(o.failedChecksBeforeRollback, 3);
    assert.deepEqual(o.gates, { beforeStart: true, beforeIncrease: true, beforePromotion: false });
  });

  test('stepWeight/maxWeight expand Flagger-style and end at 100', () => {
    assert.deepEqual(buildPlan(config, { stepWeight: '20' }).steps, [20, 40, 60, 80, 100]);
    assert.deepEqual(buildPlan(config, { stepWeight: '10', maxWeight: '30' }).steps, [10, 20, 30, 100]);
    assert.deepEqual(buildPlan(canaryConfigSchema.parse({ stepWeight: 25 })).steps, [25, 50, 75, 100]);
  });

  test('plans whose arithmetic does not end at 100 are refused with the reason', () => {
    const bad: Array<[Parameters<typeof buildPlan>[1], RegExp]> = [
      [{ steps: '5,10,25' }, /ends at 25% arm64, not 100%/],
      [{ steps: '10,5,100' }, /must increase: 10% is followed by 5%/],
      [{ steps: '0,100' }, /step 1 is 0%/],
      [{ steps: '10,abc,100' }, /whole number/],
      [{ stepWeight: '30' }, /stepWeight 30 reaches 90, not maxWeight 100/],
      [{ stepWeight: '20', maxWeight: '50' }, /reaches 40, not maxWeight 50/],
      [{ maxWeight: '50' }, /--max-weight needs --step-weight/],
      [{ steps: '10,100', stepWeight: '10' }, /either --steps or --step-weight/],
      [{ interval: 'soon' }, /not a duration/],
      [{ failedChecks: '0' }, /at least 1/],
      [{ gates: 'lunch' }, /unknown gate "lunch"/],
    ];
    for (const [o, message] of bad)
      assert.throws(
        () => buildPlan(config, o),
        (e: unknown) => e instanceof PlanError && message.test(e.message),
        JSON.stringify(o),
      );
  });

  test('durations', () => {
    assert.equal(parseDuration('90'), 90);
    assert.equal(parseDuration('10m'), 600);
    assert.equal(parseDuration('1h'), 3600);
    assert.throws(() => parseDuration(''), PlanError);
    assert.throws(() => parseDuration('5d'), PlanError);
  });
});
