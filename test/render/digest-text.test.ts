// The digest's words for ready workloads, per surface.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DigestModel, ReadyItem } from '../../src/digest/model.ts';
import { digestParts } from '../../src/render/digest-text.ts';

function model(ready: ReadyItem[]): DigestModel {
  const workloads = { arm64: 0, mixed: 0, ready: ready.length, blocked: 0, unknown: 0, total: ready.length };
  return {
    day: '2026-11-25',
    generatedAt: '2026-11-25T09:00:00.000Z',
    clusters: [],
    totals: { workloads, pods: { total: 0, arm64: 0 }, cpuMillis: { total: 0, arm64: 0 } },
    shares: { workloads: 0, pods: 0, cpu: 0 },
    trend: {},
    changes: { migrated: [], regressed: [] },
    cost: {
      currency: 'USD',
      pricesAsOf: '2026-11-01',
      amd64MonthlyCost: 0,
      arm64MonthlyCost: 0,
      readySaving: 0,
      unpricedNodes: [],
      measured: [],
      measuredSaving: 0,
    },
    namespaces: [],
    teams: [],
    ready,
    readyCount: ready.length,
    blockers: [],
    unknown: { workloads: [], podsWithoutRequests: 0 },
    prs: [],
    series: [],
    topN: 5,
    discoveryLabel: 'archshift.io/service',
  };
}

const row = (over: Partial<ReadyItem>): ReadyItem => ({
  key: 'shop/Deployment/cart',
  cluster: 'prod',
  kind: 'Deployment',
  namespace: 'shop',
  name: 'cart',
  monthlySaving: 0,
  savingBasis: 'estimated',
  ...over,
});

describe('render/digest-text: ready workloads', () => {
  test('a catalog service is named (its row gets the Open PRs button)', () => {
    assert.equal(digestParts(model([row({ service: 'cart' })]), 'slack').ready[0]!.line, '`shop/Deployment/cart` · service `cart`');
  });

  test('a Deployment outside the catalog says how discovery adds it; other kinds say where to list them', () => {
    const parts = digestParts(model([row({}), row({ key: 'shop/StatefulSet/db', kind: 'StatefulSet', name: 'db' })]), 'slack');
    assert.equal(
      parts.ready[0]!.line,
      '`shop/Deployment/cart` · not in the catalog: `kubectl -n shop label deployment/cart archshift.io/service=cart` adds it (with catalog.discovery.enabled)',
    );
    assert.equal(parts.ready[1]!.line, '`shop/StatefulSet/db` · not in the catalog: add it under catalog.services to open its PRs');
    assert.equal(
      digestParts(model([row({})]), 'terminal').ready[0]!.line,
      'shop/Deployment/cart · not in the catalog: kubectl -n shop label deployment/cart archshift.io/service=cart adds it (with catalog.discovery.enabled)',
    );
  });
});
