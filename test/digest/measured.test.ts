// Measured savings in the digest: a finished canary's measurement (CPU per unit on each side, the load,
// the prices of each side's nodes) replaces the list-price estimate for its service, is totalled apart
// from the estimates, and names the services where arm64 measured worse.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/adapters/store.ts';
import { recordedMeasurements, type CanaryMeasurement } from '../../src/canary/cost.ts';
import { digestConfigSchema } from '../../src/digest/config.ts';
import { estimateCost, measuredSavings, PriceTable } from '../../src/digest/cost.ts';
import type { Inventory, Workload } from '../../src/digest/inventory.ts';
import { buildModel } from '../../src/digest/model.ts';
import { digestParts, renderDigestText } from '../../src/render/digest-text.ts';
import { workload as baseWorkload } from './setup.ts';

const cfg = digestConfigSchema.parse({});
const nodes = (type: string, hourlyPrice?: number) => ({
  at: '2026-11-20T10:00:00.000Z',
  types: { [type]: { pods: 2, vcpus: 4, ...(hourlyPrice !== undefined ? { hourlyPrice } : {}) } },
});

const MEASURED: Record<string, CanaryMeasurement> = {
  // 10 req/s: amd64 100 CPU ms per request on m6i.xlarge, arm64 60 on m7g.xlarge.
  api: {
    at: '2026-11-20T11:00:00.000Z',
    result: 'promoted',
    unit: 'request',
    unitsPerSecond: 10,
    amd64: { cpuMsPerUnit: 100, p99Ms: 200, nodes: nodes('m6i.xlarge', 0.192) },
    arm64: { cpuMsPerUnit: 60, p99Ms: 180, nodes: nodes('m7g.xlarge', 0.1632) },
  },
  // A consumer at 200 messages/s where arm64 needs 30% more CPU per message: it costs more.
  ledger: {
    at: '2026-11-21T11:00:00.000Z',
    result: 'rolled-back',
    unit: 'message',
    unitsPerSecond: 200,
    amd64: { cpuMsPerUnit: 10, nodes: nodes('m6i.xlarge', 0.192) },
    arm64: { cpuMsPerUnit: 13, nodes: nodes('m7g.xlarge', 0.1632) },
  },
  // Its arm64 nodes' type has no price: measured, not priced.
  search: {
    at: '2026-11-22T11:00:00.000Z',
    result: 'promoted',
    unit: 'request',
    unitsPerSecond: 5,
    amd64: { cpuMsPerUnit: 40, nodes: nodes('m6i.xlarge', 0.192) },
    arm64: { cpuMsPerUnit: 30, nodes: nodes('x9g.large') },
  },
};

const workload = (over: Partial<Workload>): Workload => baseWorkload({ amd64NodeShare: { 'm6i.xlarge': 0.5 }, ...over });

const inventory: Inventory = {
  takenAt: '2026-11-25T09:00:00Z',
  clusters: [
    {
      cluster: 'c',
      ok: true,
      nodes: [{ name: 'a', arch: 'amd64', instanceType: 'm6i.xlarge', cpuMillis: 4000, memoryBytes: 0 }],
      // `api` still runs its amd64 Deployment (the arm64-only PR is not merged), so it is "ready": its measurement stands for it.
      workloads: [workload({ name: 'api', service: 'api' }), workload({ name: 'cart', service: 'cart' })],
    },
  ],
};

const base = {
  day: '2026-11-25',
  generatedAt: '2026-11-25T09:00:00.000Z',
  prs: [],
  topN: 5,
  changes: { migrated: [], regressed: [] },
  trend: {},
  series: [],
  discoveryLabel: 'archshift.io/service',
};

describe('digest: measured savings', () => {
  test("each measurement is priced as the CPU the load keeps busy on each side × that side's price per vCPU-hour", () => {
    const [api, search, ledger] = measuredSavings(MEASURED, cfg.hoursPerMonth);
    // amd64: 0.1 CPU s × 10/s = 1 core × $0.048/vCPU-h; arm64: 0.6 core × $0.0408; × 730 h.
    assert.equal(api.service, 'api');
    assert.ok(Math.abs(api.monthly!.amd64 - 35.04) < 1e-6, String(api.monthly!.amd64));
    assert.ok(Math.abs(api.monthly!.arm64 - 17.8704) < 1e-6, String(api.monthly!.arm64));
    assert.ok(Math.abs(api.monthly!.saving - 17.1696) < 1e-6);
    assert.ok(Math.abs(api.cpuRatio! - 0.6) < 1e-9);
    assert.deepEqual(api.p99Ms, { amd64: 200, arm64: 180 });
    assert.equal(api.worse, false);
    assert.equal(search.service, 'search');
    assert.equal(search.monthly, undefined);
    assert.deepEqual(search.missing, ['arm64 node price']);
    assert.equal(search.worse, false, 'unpriced, and less CPU per request');
    assert.equal(ledger.result, 'rolled-back');
    assert.ok(ledger.monthly!.saving < 0, 'arm64 costs more');
    assert.equal(ledger.worse, true);
  });

  test('the estimate leaves out the measured services; the measured total counts promoted services only', () => {
    const prices = new PriceTable(cfg);
    const estimated = estimateCost(inventory, prices, cfg);
    const both = estimateCost(inventory, prices, cfg, MEASURED);
    const perWorkload = 0.5 * (prices.monthly('m6i.xlarge')! - prices.monthly('m7g.xlarge')!);
    assert.ok(Math.abs(estimated.readySaving - 2 * perWorkload) < 1e-9);
    assert.ok(Math.abs(both.readySaving - perWorkload) < 1e-9, 'api is measured, so only cart is estimated');
    assert.ok(Math.abs(both.measuredSaving - 17.1696) < 1e-6, 'api (promoted); ledger rolled back and search is unpriced');
    assert.deepEqual(estimated.measured, []);
  });

  test('ready rows say which saving is measured; the digest shows measured and estimated apart and names where arm64 measured worse', () => {
    const model = buildModel(inventory, new PriceTable(cfg), cfg, base, undefined, MEASURED);
    const api = model.ready.find((r) => r.service === 'api')!;
    assert.equal(api.savingBasis, 'measured');
    assert.ok(Math.abs(api.monthlySaving - 17.1696) < 1e-6);
    assert.equal(model.ready.find((r) => r.service === 'cart')!.savingBasis, 'estimated');

    const parts = digestParts(model, 'terminal');
    assert.match(parts.cost, /saves ≈ \$\d+\/month \(estimated\)/);
    assert.equal(
      parts.measured,
      [
        "Measured by canaries (CPU used per unit of work × the price of each side's nodes): the 1 moved service priced save $17/month; arm64 measured worse for ledger",
        '• api saves $17/month, CPU per request −40%, p99 200 → 180 ms',
        '• search not priced (no arm64 node price), CPU per request −25%',
        '• ledger (rolled back) costs $7/month, CPU per message +30%',
      ].join('\n'),
    );
    assert.ok(
      parts.ready.some((r) => r.line === 'ns/Deployment/api saves $17/month (measured) · service api'),
      parts.ready.map((r) => r.line).join('\n'),
    );
    assert.match(renderDigestText(model), /Measured by canaries/);
    assert.equal(
      digestParts(buildModel(inventory, new PriceTable(cfg), cfg, base), 'terminal').measured,
      undefined,
      'no canary measured: no line',
    );
  });

  test('the digest reads what finished canaries recorded in the store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'archshift-measured-'));
    try {
      const store = await Store.open(join(dir, 'store.json'));
      await store
        .section<Record<string, unknown>>('canaries', () => ({}))
        .update((d) => {
          d.api = { phase: 'promoted', measured: MEASURED.api };
          d.cart = { phase: 'progressing' };
        });
      assert.deepEqual(recordedMeasurements(store), { api: MEASURED.api });
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
