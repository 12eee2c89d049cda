// The template model without a Prometheus: variables, resolution of built-ins, library and service
// entries, judging in the worse direction, and which failed checks count toward which limit.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinTemplates } from '../../src/canary/analysis.ts';
import { canaryConfigSchema } from '../../src/canary/config.ts';
import {
  countFailure,
  judge,
  MetricConfigError,
  metricLibrarySchema,
  renderQuery,
  resolveTemplates,
  type MetricTemplate,
} from '../../src/canary/metrics.ts';

const builtins = builtinTemplates(canaryConfigSchema.parse({}).thresholds);
const side = (values: Record<string, number>) => ({ values, noData: [] });

describe('canary metric templates', () => {
  test('variables fill per side; {{workload | regex}} is escaped for =~', () => {
    const q = 'rate(jobs_total{ns="{{ namespace }}",svc="{{service}}",arch="{{arch}}",pod=~"{{workload | regex}}-.*"}[{{interval}}])';
    assert.equal(
      renderQuery(q, { namespace: 'shop', service: 'api', workload: 'api.v2-arm64', arch: 'arm64', interval: '2m' }),
      'rate(jobs_total{ns="shop",svc="api",arch="arm64",pod=~"api\\\\.v2-arm64-.*"}[2m])',
    );
  });

  test('a service uses library templates by name, changes built-ins, leaves them out; allServices ones apply everywhere', () => {
    const library = metricLibrarySchema.parse({
      'orders per request': { query: 'orders{w="{{workload}}"}', better: 'higher', relative: { ratio: 1.25 } },
      'panics per request': { query: 'panics{w="{{workload}}"}', better: 'lower', max: 0.001, allServices: true },
    });
    assert.deepEqual(
      resolveTemplates(builtins, library).map((t) => t.name),
      ['success rate', 'p99 latency', 'CPU per request', 'panics per request'],
    );
    const mine = resolveTemplates(builtins, library, {
      'orders per request': { failedChecks: 3 },
      'p99 latency': { max: 800 },
      'CPU per request': false,
      'panics per request': false,
    });
    assert.deepEqual(
      mine.map((t) => t.name),
      ['success rate', 'p99 latency', 'orders per request'],
    );
    assert.equal(mine.find((t) => t.name === 'p99 latency')!.max, 800);
    assert.equal(mine.find((t) => t.name === 'p99 latency')!.ratio, 1.2, 'unchanged fields stay');
    assert.deepEqual(
      mine.find((t) => t.name === 'orders per request'),
      { name: 'orders per request', query: 'orders{w="{{workload}}"}', better: 'higher', ratio: 1.25, failedChecks: 3 },
    );
    assert.throws(() => resolveTemplates(builtins, library, { refunds: { max: 1 } }), MetricConfigError);
    assert.throws(() => resolveTemplates(builtins, library, { 'p99 latency': { min: 900 } }), /min 900 is above max 500/);
  });

  test('judged in the direction that is worse; zero against zero is equal; a template without thresholds is never judged', () => {
    const errors: MetricTemplate = { name: 'errors per request', query: 'x', better: 'lower', ratio: 1.5 };
    assert.equal(judge([errors], side({ 'errors per request': 0 }), side({ 'errors per request': 0 })).verdict, 'pass');
    assert.equal(judge([errors], side({ 'errors per request': 0.01 }), side({ 'errors per request': 0 })).verdict, 'fail');
    const matches: MetricTemplate = { name: 'match success', query: 'x', better: 'higher', ratio: 1.1, difference: 2 };
    const r = judge([matches], side({ 'match success': 90 }), side({ 'match success': 95 }));
    assert.deepEqual(
      r.lines.map((l) => [l.bound, l.ok, Number(l.observed!.toFixed(3))]),
      [
        ['ratio', true, 1.056],
        ['difference', false, 5],
      ],
    );
    assert.equal(
      judge([matches], side({ 'match success': 97 }), side({ 'match success': 95 })).verdict,
      'pass',
      'better than amd64 passes',
    );
    const shown: MetricTemplate = { name: 'queue depth', query: 'x', better: 'lower' };
    assert.deepEqual(judge([shown], side({}), side({})), { verdict: 'pass', lines: [], noData: [] });
  });

  test('a metric with its own failedChecks counts apart; any other failure counts toward the canary limit', () => {
    const own: MetricTemplate = { name: 'payment success', query: 'x', better: 'higher', min: 97, failedChecks: 1 };
    const lenient: MetricTemplate = { name: 'orders per request', query: 'x', better: 'higher', min: 1, failedChecks: 5 };
    const templates = [...builtins, own, lenient];
    const line = (metric: string) => ({ metric, ok: false, bound: 'min' as const, arm64: 0, limit: 1 });
    let c = countFailure(templates, [line('orders per request')], { shared: 0, perMetric: {} }, 2);
    assert.deepEqual([c.shared, c.perMetric, c.rollback], [0, { 'orders per request': 1 }, false]);
    c = countFailure(templates, [line('p99 latency')], c, 2);
    assert.deepEqual([c.shared, c.rollback, c.worst], [1, false, { failedChecks: 1, limit: 2 }]);
    c = countFailure(templates, [line('payment success'), line('success rate')], c, 2);
    assert.deepEqual([c.shared, c.rollback, c.worst], [2, true, { failedChecks: 2, limit: 2 }]);
  });
});
