// Metric templates end to end: business metrics read by the real PromQL from a real Prometheus with
// backfilled series, judged beside the built-in ones, shown in the progress table; a query Prometheus
// cannot parse refused before anything moves; a query with no series holding the canary.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createBot } from '../../src/app.ts';
import { slackActor } from '../../src/auth/actor.ts';
import { createLogger } from '../../src/logger.ts';
import { CanaryError } from '../../src/canary/controller.ts';
import { refuseBadMetricQueries } from '../../src/canary/wire.ts';
import { canaryErrorText } from '../../src/render/canary-events.ts';
import { Catalog } from '../../src/config/catalog.ts';
import { catalogSchema } from '../../src/config/catalog-schema.ts';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { Live } from '../../src/config/live.ts';
import { reloadConfig } from '../../src/config/reload.ts';
import { canaryText } from '../../src/render/canary-blocks.ts';
import { canaryConfigSchema } from '../../src/canary/config.ts';
import { at, PAYMENT_SUCCESS, startWorld, worldCatalog, type World } from './world.ts';

const MIN = 60_000;
const alice = slackActor('U0ALICE');
const BAD_QUERY = 'sum(rate(orders_total{namespace="{{namespace}}"}[{{interval}}])';

describe('canary metric templates against a real Prometheus', () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  });
  after(() => w.stop());

  const patchesOf = (service: string) =>
    w.kube.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/virtualservices/${service}`)).length;

  test('a business metric that breaches only on arm64 rolls back at its own limit, shown beside the built-ins', async () => {
    const c = await w.controller();
    w.clock.set(at(30));
    const started = await c.start('checkout', { gates: 'none' }, alice);
    assert.equal(started.weight, 5);
    assert.deepEqual(
      started.target.metrics!.map((m) => m.name),
      ['success rate', 'p99 latency', 'CPU per request', 'payment success'],
    );
    w.clock.advance(10 * MIN);
    await c.tick();
    const rec = c.status('checkout')!;
    const last = rec.checks.at(-1)!;
    // amd64 pays 99.8% of payments, arm64 94%: the built-ins pass, the business metric fails on arm64 only.
    assert.ok(Math.abs(last.amd64.values['payment success'] - 99.8) < 0.01, `amd64 ${last.amd64.values['payment success']}`);
    assert.ok(Math.abs(last.arm64.values['payment success'] - 94) < 0.01, `arm64 ${last.arm64.values['payment success']}`);
    assert.deepEqual([...new Set(last.lines.filter((l) => !l.ok).map((l) => l.metric))], ['payment success']);
    assert.deepEqual(
      last.lines.filter((l) => !l.ok).map((l) => l.bound),
      ['min', 'difference'],
    );
    // `failedChecks: 1` on the template: the first breach rolls back, though the canary allows 2.
    assert.equal(rec.phase, 'rolled-back');
    assert.deepEqual(w.clusterWeight('checkout'), { amd64: 100, arm64: 0 });
    assert.equal(rec.outcome && 'cause' in rec.outcome && rec.outcome.cause, 'failed-checks');
    assert.deepEqual(rec.metricFailures, { 'payment success': 1 });

    const table = canaryText(rec, canaryConfigSchema.parse({}).thresholds, w.clock.now());
    assert.match(table, /success rate\s+99\.90%\s+99\.90%\s+≥ 99%, ≤ 1 pt below amd64\s+✅/);
    assert.match(table, /payment success\s+99\.80%\s+94\.00%\s+≥ 97%, ≤ 1 pt below amd64\s+❌/);
    const slack = JSON.stringify(
      w.slack
        .callsTo('chat.update')
        .filter((u) => u.args.ts === rec.message!.ts)
        .at(-1)!.args.blocks,
    );
    assert.match(slack, /payment success +99\.80% +94\.00%/);
    const replies = w.slack
      .callsTo('chat.postMessage')
      .filter((p) => p.args.thread_ts === rec.message!.ts)
      .map((p) => String(p.args.text));
    assert.ok(
      replies.some((r) =>
        r.includes("payment success: arm64 94.00% < 97%; payment success: arm64 94.00% is 5.80 pt below amd64's 99.80% (max 1 pt below)"),
      ),
      replies.join('\n'),
    );
  });

  test('a query with no series is "no data": the canary holds at its weight, it never passes', async () => {
    const raw = worldCatalog(w.registry.host) as { services: Record<string, unknown> };
    raw.services.ledger = {
      metrics: {
        'orders per request': {
          query:
            'sum(rate(orders_total{namespace="{{namespace}}",workload="{{workload}}"}[{{interval}}])) / sum(rate(istio_requests_total{destination_workload="{{workload}}"}[{{interval}}]))',
          better: 'higher',
          min: 0.5,
          noDataHint: 'is the orders exporter scraped?',
        },
      },
    };
    const c = await w.controller({ catalog: new Catalog(catalogSchema.parse(raw)), storeFile: join(w.dir, 'no-series.json') });
    w.clock.set(at(30));
    await c.start('ledger', { gates: 'none' }, alice);
    for (let i = 0; i < 2; i++) {
      w.clock.advance(10 * MIN);
      await c.tick();
    }
    const rec = c.status('ledger')!;
    assert.equal(rec.weight, 5, 'no step without a verdict');
    assert.equal(rec.phase, 'paused');
    assert.equal(rec.pause!.kind, 'no-data');
    assert.deepEqual(
      rec.checks.map((k) => k.verdict),
      ['no-data', 'no-data'],
    );
    assert.match(
      rec.pause!.reason,
      /no series for orders per request on shop\/ledger-arm64: the query returned nothing \(is the orders exporter scraped\?\)/,
    );
    // The built-ins were judged all the same, and passed.
    assert.ok(rec.checks.at(-1)!.lines.length > 0 && rec.checks.at(-1)!.lines.every((l) => l.ok));
  });

  test('a template Prometheus cannot parse is refused at start-up, at reload and at canary start, with its name and the parser error', async () => {
    const bad = { 'orders per second': { query: BAD_QUERY, better: 'higher', min: 1, allServices: true } };
    const c = await w.controller({ raw: { metrics: bad }, storeFile: join(w.dir, 'bad.json') });
    const { invalid } = await c.validateMetrics(w.catalog);
    assert.equal(invalid.length, 1);
    assert.equal(invalid[0].where, 'canary.metrics."orders per second"');
    assert.equal(invalid[0].query, BAD_QUERY);
    assert.match(invalid[0].error, /bad_data.*parse error/);
    await assert.rejects(
      refuseBadMetricQueries(c, w.catalog, { warn: () => undefined }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /canary\.metrics\."orders per second": Prometheus cannot parse the query "sum\(rate\(orders_total.*parse error/.test(e.message),
    );

    const before = patchesOf('stock');
    const refused = await c.start('stock', { gates: 'none' }, alice).catch((e: unknown) => e as CanaryError);
    assert.ok(refused instanceof CanaryError && refused.refusal.code === 'metrics-invalid', String(refused));
    assert.match(
      canaryErrorText(refused, 'terminal'),
      /^the canary for stock cannot start: Prometheus cannot parse the query of metric "orders per second" \(sum\(rate.*parse error.*Nothing was changed/,
    );
    assert.equal(patchesOf('stock'), before, 'nothing moved');
    assert.equal(c.status('stock'), undefined);

    // Reload: the new catalog's bad query refuses the whole file; the running catalog stays.
    const deps = await w.deps({ storeName: 'reload.json', operators: [] });
    const file = join(w.dir, 'reload.yml');
    const catalog = worldCatalog(w.registry.host) as { services: Record<string, unknown> };
    catalog.services.billing = { metrics: { refunds: { query: BAD_QUERY, better: 'lower', max: 5 } } };
    await writeFile(file, stringify({ canary: { prometheusUrl: w.prom.url }, catalog }));
    const settings = new Live({ config: deps.config, catalog: deps.catalog, auth: deps.auth });
    await assert.rejects(
      reloadConfig({ ...deps, settings }, file),
      (e: unknown) =>
        e instanceof ConfigError &&
        /^Nothing was reloaded: .*catalog\.services\.billing\.metrics\."refunds": Prometheus cannot parse/.test(e.message),
    );
    assert.equal(settings.get().catalog, deps.catalog, 'the running catalog stays');
  });

  test('the bot does not start with a query Prometheus cannot parse', async () => {
    const config = parseConfig({
      slack: { mode: 'http', port: 0, apiUrl: w.slack.apiUrl, retries: 0 },
      store: { file: join(w.dir, 'bot-store.json') },
      server: { port: 0, host: '127.0.0.1' },
      digest: { schedule: '0 3 1 1 *', catchUpHours: 0 },
      catalog: worldCatalog(w.registry.host),
      canary: {
        prometheusUrl: w.prom.url,
        metrics: { 'orders per second': { query: BAD_QUERY, better: 'higher', min: 1, allServices: true } },
      },
    });
    const bot = await createBot(config, {
      logger: createLogger('silent'),
      secrets: { slackBotToken: 'xoxb-test', slackSigningSecret: 'test-signing-secret' },
      kubeConfig: w.kube.kubeConfig(),
    });
    try {
      await assert.rejects(
        bot.start(),
        (e: unknown) =>
          e instanceof ConfigError &&
          /canary metric queries that Prometheus cannot parse: canary\.metrics\."orders per second": .*parse error/.test(e.message),
      );
    } finally {
      await bot.deps.store.close();
    }
  });

  test('a template is refused when the config loads: unknown variables, no query, no direction', () => {
    const refused = (raw: unknown) => {
      try {
        parseConfig(raw);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    assert.match(
      refused({ canary: { metrics: { lag: { query: 'kafka_lag{group="{{group}}"}', better: 'lower', max: 5 } } } }),
      /unknown variable \{\{group\}\}/,
    );
    assert.match(
      refused({ canary: { metrics: { lag: { query: 'kafka_lag{pod=~"{{workload | upper}}"}', better: 'lower' } } } }),
      /unknown filter "upper"/,
    );
    assert.match(
      refused({ catalog: { services: { api: { metrics: { refunds: { max: 5 } } } } } }),
      /catalog\.services\.api\.metrics.*metric "refunds" has no query/,
    );
    assert.match(
      refused({ catalog: { services: { api: { metrics: { refunds: { query: 'refunds_total', max: 5 } } } } } }),
      /metric "refunds" needs `better: higher` or `better: lower`/,
    );
    // A service may change a built-in's threshold or leave it out, and use a library template by name.
    const ok = parseConfig({
      canary: { metrics: { 'payment success': { ...PAYMENT_SUCCESS } } },
      catalog: { services: { api: { metrics: { 'p99 latency': { max: 800 }, 'CPU per request': false, 'payment success': {} } } } },
    });
    assert.equal(Object.keys(ok.catalog.services.api.metrics!).length, 3);
  });
});
