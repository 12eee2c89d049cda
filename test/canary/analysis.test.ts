import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { Prometheus, PrometheusError } from '../../src/adapters/prometheus.ts';
import { builtinTemplates, BUILTIN_QUERIES, evaluate, measure, type Measurement } from '../../src/canary/analysis.ts';
import { renderQuery } from '../../src/canary/metrics.ts';
import { canaryConfigSchema } from '../../src/canary/config.ts';
import { startPrometheus, type RunningPrometheus } from '../fakes/prometheus.ts';
import { freePort } from '../fakes/net.ts';
import { at, NS, syntheticMetrics } from './world.ts';

const thresholds = canaryConfigSchema.parse({}).thresholds;
const builtins = builtinTemplates(thresholds);
const opts = { window: '5m', minRequestRate: 0.1, templates: builtins };
const wl = (deployment: string) => ({
  namespace: NS,
  deployment,
  service: deployment.replace(/-arm64$/, ''),
  arch: deployment.endsWith('-arm64') ? ('arm64' as const) : ('amd64' as const),
});

describe('canary analysis: the real PromQL against a real Prometheus', () => {
  let p: RunningPrometheus;
  let prom: Prometheus;
  before(async () => {
    p = await startPrometheus(syntheticMetrics());
    prom = new Prometheus(p.url, 2000);
  });
  after(() => p.stop());

  test('measures success rate, p99 and CPU per request per workload', async () => {
    const amd = await measure(prom, wl('api'), at(40), opts);
    const arm = await measure(prom, wl('api-arm64'), at(40), opts);
    assert.deepEqual([amd.noData, arm.noData], [[], []]);
    assert.ok(Math.abs(amd.requestRate! - 10) < 0.01);
    assert.ok(Math.abs(arm.values['success rate'] - 99.9) < 0.001);
    // 98% at 20 ms, 2% at 200 ms: p99 interpolated inside the 100–250 bucket.
    assert.ok(arm.values['p99 latency'] > 100 && arm.values['p99 latency'] <= 250, `p99 ${arm.values['p99 latency']}`);
    // 2 pods × 0.5 cores / 10 req/s = 100 CPU ms per request; api-arm64's pods are not counted as api's.
    assert.ok(Math.abs(amd.values['CPU per request'] - 100) < 0.5, `amd64 ${amd.values['CPU per request']}`);
    assert.ok(Math.abs(arm.values['CPU per request'] - 60) < 0.5, `arm64 ${arm.values['CPU per request']}`);
    assert.equal(evaluate(arm, amd, builtins).verdict, 'pass');
  });

  test('a total outage is 0% success, not "no data" (Flagger\'s form would see nothing)', async () => {
    const arm = await measure(prom, wl('outage-arm64'), at(40), opts);
    assert.equal(arm.values['success rate'], 0);
    const flaggerForm = `sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="${NS}",destination_workload="outage-arm64",response_code!~"5.*"}[5m])) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="${NS}",destination_workload="outage-arm64"}[5m])) * 100`;
    assert.equal(await prom.value(flaggerForm, at(40)), undefined);
    const result = evaluate(arm, await measure(prom, wl('outage'), at(40), opts), builtins);
    assert.equal(result.verdict, 'fail');
  });

  test('slow arm64 fails the absolute and the relative p99 threshold; errors fail success rate', async () => {
    const slow = evaluate(await measure(prom, wl('slow-arm64'), at(40), opts), await measure(prom, wl('slow'), at(40), opts), builtins);
    assert.equal(slow.verdict, 'fail');
    assert.deepEqual(
      slow.lines.filter((l) => !l.ok).map((l) => l.metric),
      ['p99 latency', 'p99 latency'],
    );
    const cart = evaluate(await measure(prom, wl('cart-arm64'), at(40), opts), await measure(prom, wl('cart'), at(40), opts), builtins);
    assert.deepEqual(
      cart.lines.filter((l) => !l.ok).map((l) => l.metric),
      ['success rate', 'success rate'],
    );
  });

  test('no traffic, missing series and too little traffic are "no data" with a reason', async () => {
    const before = await measure(prom, wl('search-arm64'), at(40), opts);
    assert.match(before.noData[0], /no istio_requests_total\{reporter="destination"\} series for workload shop\/search-arm64/);
    assert.equal(evaluate(before, await measure(prom, wl('search'), at(40), opts), builtins).verdict, 'no-data');
    const noIstio = await measure(prom, wl('legacy-arm64'), at(40), opts);
    assert.equal(noIstio.requestRate, undefined);
    const quiet = await measure(prom, wl('api'), at(40), { ...opts, minRequestRate: 50 });
    assert.match(quiet.noData[0], /10\.000 req\/s .* below the 50 req\/s/);
    // The series end at 180m: after that, nothing.
    assert.equal((await measure(prom, wl('api-arm64'), at(200), opts)).noData.length, 1);
  });

  test('Prometheus errors are typed: bad query, unreachable, timeout', async () => {
    await assert.rejects(prom.query('sum(rate(', at(40)), (e: unknown) => e instanceof PrometheusError && e.kind === 'query');
    await assert.rejects(
      new Prometheus(`http://127.0.0.1:${await freePort()}`, 500).query('up', at(40)),
      (e: unknown) => e instanceof PrometheusError && e.kind === 'unreachable',
    );
    const hang: Server = createServer(() => undefined);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    try {
      const slow = new Prometheus(`http://127.0.0.1:${(hang.address() as { port: number }).port}`, 200);
      await assert.rejects(slow.query('up', at(40)), (e: unknown) => e instanceof PrometheusError && e.kind === 'timeout');
      const m = await measure(slow, wl('api'), at(40), opts);
      assert.match(m.noData[0], /did not answer within 200 ms/);
    } finally {
      hang.closeAllConnections();
      await new Promise((r) => hang.close(r));
    }
  });

  test('the queries select by namespace and workload and anchor the pod regex', () => {
    const vars = { namespace: NS, service: 'api', workload: 'api', arch: 'amd64', interval: '5m' };
    assert.match(renderQuery(BUILTIN_QUERIES['CPU per request'], vars), /pod=~"api-\[a-z0-9\]\+-\[a-z0-9\]\+"/);
    assert.match(renderQuery(BUILTIN_QUERIES['success rate'], vars), /or on\(\) vector\(0\)/);
    // A Deployment name with a dot is matched literally.
    assert.match(renderQuery(BUILTIN_QUERIES['CPU per request'], { ...vars, workload: 'api.v2' }), /pod=~"api\\\\\.v2-/);
  });
});

describe('canary evaluation against thresholds', () => {
  const m = (o: Partial<Record<string, number>> = {}): Measurement => ({
    requestRate: 10,
    values: { 'success rate': 99.9, 'p99 latency': 100, 'CPU per request': 50, ...o } as Record<string, number>,
    noData: [],
  });
  const failedFacts = (r: ReturnType<typeof evaluate>) =>
    r.lines.filter((l) => !l.ok).map((l) => ({ metric: l.metric, bound: l.bound, observed: l.observed, limit: l.limit }));

  test('relative thresholds compare with amd64', () => {
    const r = evaluate(m({ 'success rate': 99.2 }), m({ 'success rate': 99.95 }), builtins);
    assert.equal(r.verdict, 'pass', 'a 0.75 point drop is within 1 point');
    const drop = evaluate(
      m({ 'success rate': 99.5 }),
      m({ 'success rate': 100 }),
      builtinTemplates({ ...thresholds, maxSuccessRateDrop: 0.25 }),
    );
    assert.equal(drop.verdict, 'fail');
    assert.deepEqual(failedFacts(drop), [{ metric: 'success rate', bound: 'difference', observed: 0.5, limit: 0.25 }]);
    const cpu = evaluate(m({ 'CPU per request': 80 }), m({ 'CPU per request': 50 }), builtins);
    assert.deepEqual(failedFacts(cpu), [{ metric: 'CPU per request', bound: 'ratio', observed: 1.6, limit: 1.5 }]);
    assert.equal(
      evaluate(m({ 'CPU per request': 80 }), m({ 'CPU per request': 50 }), builtinTemplates({ ...thresholds, maxCpuRatio: null })).verdict,
      'pass',
    );
  });

  test('without a baseline the relative checks are no data; a definite failure still fails', () => {
    const r = evaluate(m({}), undefined, builtins);
    assert.equal(r.verdict, 'no-data');
    assert.match(r.noData[0], /no amd64 baseline/);
    assert.equal(evaluate(m({ 'success rate': 90 }), undefined, builtins).verdict, 'fail');
  });
});
