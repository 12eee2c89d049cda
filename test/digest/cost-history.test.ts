import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/adapters/store.ts';
import { renderBurndownPng, renderBurndownSvg } from '../../src/digest/chart.ts';
import { digestConfigSchema } from '../../src/digest/config.ts';
import { estimateCost, PriceTable } from '../../src/digest/cost.ts';
import { History, emptyTotals, type HistoryPoint } from '../../src/digest/history.ts';
import type { Inventory } from '../../src/digest/inventory.ts';
import { workload } from './setup.ts';

test('prices: built-in estimates per instance type, overridable, with the arm64 equivalent of a family', () => {
  const cfg = digestConfigSchema.parse({ prices: { 'm6i.2xlarge': 0.3 }, arm64Equivalents: { c6i: 'c6g' } });
  const table = new PriceTable(cfg);
  assert.equal(new PriceTable(digestConfigSchema.parse({})).monthly('m6i.2xlarge'), 0.384 * 730);
  assert.equal(table.monthly('m6i.2xlarge'), 0.3 * 730, 'the config overrides the default');
  assert.equal(table.arm64Equivalent('m6i.2xlarge'), 'm7g.2xlarge');
  assert.equal(table.arm64Equivalent('c6i.xlarge'), 'c6g.xlarge', 'the config overrides the family map');
  assert.equal(table.arm64Equivalent('x2iedn.large'), undefined);
  assert.equal(table.monthly('x2iedn.large'), undefined);
});

test('cost: amd64 capacity per month, the saving of the ready workloads, and unpriced nodes named', () => {
  const cfg = digestConfigSchema.parse({});
  const table = new PriceTable(cfg);
  const inv: Inventory = {
    takenAt: '2026-11-25T09:00:00Z',
    clusters: [
      {
        cluster: 'c',
        ok: true,
        nodes: [
          { name: 'a', arch: 'amd64', instanceType: 'm6i.2xlarge', cpuMillis: 8000, memoryBytes: 0 },
          { name: 'b', arch: 'arm64', instanceType: 'm7g.2xlarge', cpuMillis: 8000, memoryBytes: 0 },
          { name: 'c', arch: 'amd64', instanceType: 'weird.type', cpuMillis: 8000, memoryBytes: 0 },
        ],
        workloads: [
          workload({ name: 'ready', amd64NodeShare: { 'm6i.2xlarge': 0.5 } }),
          workload({ name: 'blocked', status: 'blocked', amd64NodeShare: { 'm6i.2xlarge': 0.25 } }),
        ],
      },
      { cluster: 'down', ok: false, error: 'unreachable' },
    ],
  };
  const cost = estimateCost(inv, table, cfg);
  const m6i = table.monthly('m6i.2xlarge')!;
  const m7g = table.monthly('m7g.2xlarge')!;
  assert.equal(cost.amd64MonthlyCost, m6i);
  assert.equal(cost.arm64MonthlyCost, m7g);
  assert.ok(Math.abs(cost.readySaving - 0.5 * (m6i - m7g)) < 1e-9, 'only ready workloads, by their share of the node');
  assert.deepEqual(cost.unpricedNodes, [{ instanceType: 'weird.type', nodes: 1 }]);
  assert.equal(cost.pricesAsOf, cfg.pricesAsOf);
});

test('history is bounded to historyDays points per cluster and survives a reopen', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'archshift-history-'));
  try {
    const file = join(dir, 'store.json');
    const history = new History(await Store.open(file), 40);
    const inv = (n: number): Inventory => ({
      takenAt: '',
      clusters: [
        {
          cluster: 'c',
          ok: true,
          nodes: [],
          workloads: Array.from({ length: 3 }, (_, i) =>
            workload({ name: `w${i}`, ...(i < n ? { podsByArch: { arm64: 1 }, status: 'arm64' as const } : {}) }),
          ),
        },
      ],
    });
    const start = Date.UTC(2026, 0, 1);
    for (let d = 0; d < 60; d++) await history.record(inv(d % 4), new Date(start + d * 86_400_000).toISOString().slice(0, 10));
    const reopened = new History(await Store.open(file), 40);
    const series = reopened.series(['c'], 1000);
    assert.equal(series.length, 40);
    assert.equal(series.at(-1)!.day, '2026-03-01');
    const trend = reopened.trend(['c'], '2026-03-02');
    assert.equal(trend.yesterday?.day, '2026-03-01');
    assert.equal(trend.week?.day, '2026-02-23');
    assert.equal(trend.month?.day, '2026-01-31');
    assert.equal(trend.yesterday?.workloads, 1, 'day 59: 59 % 4 = 3 of 3 workloads on arm64');
    assert.equal(trend.week?.workloads, 1 / 3, 'day 53: 1 of 3');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the burn-down chart is a PNG of the requested size with one bar per day', () => {
  const points: HistoryPoint[] = Array.from({ length: 12 }, (_, i) => {
    const t = emptyTotals();
    t.workloads.total = 100;
    t.workloads.arm64 = i * 8;
    t.cpuMillis = { total: 1000, arm64: i * 80 };
    return { day: `2026-11-${String(i + 10).padStart(2, '0')}`, ...t };
  });
  const svg = renderBurndownSvg(points, { title: 'burn-down <all>' });
  assert.equal((svg.match(/fill="#e8912d"\/>/g) ?? []).length, 12 + 1, '12 bars and the legend swatch');
  assert.match(svg, /burn-down &lt;all&gt;/);
  const png = renderBurndownPng(points, { title: 'x', width: 640, height: 300 });
  assert.equal(png.subarray(1, 4).toString('ascii'), 'PNG');
  assert.equal(png.readUInt32BE(16), 640);
  assert.equal(png.readUInt32BE(20), 300);
});
