// The canary card and the preconditions as each surface shows them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { slackActor } from '../../src/auth/actor.ts';
import { canaryConfigSchema } from '../../src/canary/config.ts';
import type { CanaryRecord } from '../../src/canary/controller.ts';
import { canaryBlocks, canaryText, fixText, weightBar } from '../../src/render/canary-blocks.ts';

const thresholds = canaryConfigSchema.parse({}).thresholds;
const now = new Date('2026-11-25T10:00:00Z');

function record(over: Partial<CanaryRecord> = {}): CanaryRecord {
  return {
    target: {
      service: 'api',
      namespace: 'shop',
      deployments: { amd64: 'api', arm64: 'api-arm64' },
      virtualService: 'api',
      destinationRule: 'api',
      archLabel: 'archshift.io/arch',
      subsets: { amd64: 'amd64', arm64: 'arm64' },
      mode: 'istio',
    },
    plan: {
      steps: [5, 25, 100],
      intervalSeconds: 600,
      failedChecksBeforeRollback: 2,
      gates: { beforeStart: false, beforeIncrease: false, beforePromotion: false },
    },
    phase: 'progressing',
    weight: 25,
    stepIndex: 1,
    failedChecks: 0,
    checks: [],
    readiness: { amd64: { ready: 3, desired: 3 }, arm64: { ready: 3, desired: 3 } },
    channel: 'C1',
    startedBy: slackActor('U0ALICE', 'alice'),
    startedAt: '2026-11-25T09:00:00.000Z',
    updatedAt: '2026-11-25T09:50:00.000Z',
    nextCheckAt: '2026-11-25T10:05:00.000Z',
    ...over,
  };
}

const header = (r: CanaryRecord) => (canaryBlocks(r, thresholds, now).blocks[0] as { text: { text: string } }).text.text;
const slackText = (r: CanaryRecord) => JSON.stringify(canaryBlocks(r, thresholds, now).blocks);

describe('render/canary-blocks: the progress card', () => {
  test('the header carries the current weight', () => {
    assert.equal(header(record()), 'Canary: api → arm64 · 25%');
  });

  test('Slack gets Slack dates (shown in each reader’s time zone) and a mention; the terminal gets ISO times and names', () => {
    assert.ok(slackText(record()).includes('started by <@U0ALICE> <!date^1795597200^{date_short_pretty} {time}|2026-11-25T09:00:00.000Z>'));
    assert.ok(slackText(record()).includes('next check at <!date^1795601100^{time}|2026-11-25T10:05:00.000Z>'));
    const text = canaryText(record(), thresholds, now);
    assert.ok(text.includes('started by alice (on Slack) 2026-11-25T09:00:00.000Z'));
    assert.ok(text.includes('next check in 5m (2026-11-25T10:05:00.000Z), then 100% if it passes'));
    assert.doesNotMatch(text, /<@|<!date|\*/);
  });

  test('at 100% arm64 with the last check to come, it reads "ready to promote", not "progressing"', () => {
    const r = record({ weight: 100, stepIndex: 2 });
    assert.equal(canaryBlocks(r, thresholds, now).text, 'Canary api: 100% arm64, ready to promote');
    assert.match(
      canaryText(r, thresholds, now),
      /✅ ready to promote\nnext check in 5m \(2026-11-25T10:05:00.000Z\), then promoted if it passes/,
    );
    assert.doesNotMatch(slackText(r), /progressing/);
  });

  test('the bar keeps its place from 0% to 100%', () => {
    assert.equal(weightBar(0, 4), 'amd64 100% ████   0% arm64');
    assert.equal(weightBar(25, 4), 'amd64  75% ███▒  25% arm64');
    assert.equal(weightBar(100, 4), 'amd64   0% ▒▒▒▒ 100% arm64');
    assert.equal(new Set([0, 5, 50, 100].map((w) => weightBar(w).length)).size, 1);
  });

  test('a fix names the command of the surface it is shown on', () => {
    assert.equal(
      fixText({ kind: 'build-arm64' }, 'api', 'slack').line,
      'build the image for linux/arm64 (`/arm64 check api` shows what blocks it)',
    );
    assert.equal(
      fixText({ kind: 'build-arm64' }, 'api', 'terminal').line,
      'build the image for linux/arm64 (`archshift check api` shows what blocks it)',
    );
    assert.deepEqual(fixText({ kind: 'canary-pr', manifest: 'kind: DestinationRule\n' }, 'api', 'terminal'), {
      line: 'with `canary: true` on api in the catalog, `archshift pr api selectors` opens the PR that adds the -arm64 Deployment, the pod labels and the DestinationRule subsets, or apply:',
      manifest: 'kind: DestinationRule\n',
    });
  });
});
