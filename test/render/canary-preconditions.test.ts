// Each precondition fact, worded once; the use case's tests (test/canary/) assert the facts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Precondition } from '../../src/canary/preconditions.ts';
import { preconditionText } from '../../src/render/canary-preconditions.ts';

const cases: Array<[Precondition, string]> = [
  [{ check: 'amd64-deployment', ok: true, namespace: 'shop', name: 'api' }, 'amd64 Deployment: shop/api exists'],
  [
    { check: 'amd64-deployment', ok: false, namespace: 'shop', name: 'api', missingIn: 'prod-eu' },
    'amd64 Deployment: shop/api not found in cluster prod-eu',
  ],
  [
    { check: 'amd64-pod-label', ok: false, name: 'api', label: 'archshift.io/arch' },
    'amd64 pod label: api pods lack the label archshift.io/arch: amd64 the amd64 subset selects on',
  ],
  [{ check: 'arm64-deployment', ok: false, namespace: 'shop', name: 'api-arm64' }, 'arm64 Deployment: shop/api-arm64 not found'],
  [
    { check: 'arm64-deployment', ok: false, namespace: 'shop', name: 'api-arm64', readiness: { ready: 1, desired: 3 } },
    'arm64 Deployment: api-arm64: 1/3 replicas ready',
  ],
  [
    { check: 'arm64-scheduling', ok: true, label: 'archshift.io/arch', labelled: true, pinned: true },
    'arm64 scheduling: pods are labelled and pinned to arm64 nodes',
  ],
  [
    { check: 'arm64-scheduling', ok: false, label: 'archshift.io/arch', labelled: false, pinned: false },
    'arm64 scheduling: pods lack archshift.io/arch: arm64; pods are not pinned to kubernetes.io/arch: arm64',
  ],
  [{ check: 'arm64-image', ok: false }, 'arm64 image: cannot inspect images: no registry adapter configured'],
  [
    { check: 'arm64-image', ok: true, image: 'r.io/api:1', status: 'multi-arch-with-arm64', platforms: ['linux/amd64', 'linux/arm64'] },
    'arm64 image: r.io/api:1 publishes linux/arm64',
  ],
  [
    { check: 'arm64-image', ok: false, image: 'r.io/api:1', status: 'amd64-only', platforms: ['linux/amd64'] },
    'arm64 image: r.io/api:1 has no linux/arm64 (linux/amd64)',
  ],
  [
    { check: 'arm64-image', ok: false, image: 'r.io/api:1', status: 'error', platforms: [], reason: 'HTTP 401' },
    'arm64 image: r.io/api:1: HTTP 401',
  ],
  [{ check: 'destination-rule', ok: false, namespace: 'shop', name: 'api' }, 'DestinationRule: shop/api not found'],
  [
    {
      check: 'destination-rule-subsets',
      ok: false,
      name: 'api',
      label: 'archshift.io/arch',
      subsets: { amd64: 'amd64', arm64: 'arm64' },
      missing: ['amd64', 'arm64'],
    },
    'DestinationRule subsets: api needs subsets amd64 (archshift.io/arch: amd64) and arm64 (archshift.io/arch: arm64)',
  ],
  [
    {
      check: 'destination-rule-subsets',
      ok: true,
      name: 'api',
      label: 'archshift.io/arch',
      subsets: { amd64: 'amd64', arm64: 'arm64' },
      missing: [],
    },
    'DestinationRule subsets: amd64 and arm64 select on archshift.io/arch',
  ],
  [{ check: 'virtual-service', ok: false, namespace: 'shop', name: 'api' }, 'VirtualService: shop/api not found'],
  [
    { check: 'virtual-service-route', ok: true, name: 'api', split: { amd64: 90, arm64: 10 } },
    'VirtualService route: api: 90% amd64 / 10% arm64',
  ],
  [{ check: 'virtual-service-route', ok: false, name: 'api', problem: 'has no http route' }, 'VirtualService route: api has no http route'],
];

describe('render/canary-preconditions', () => {
  for (const [p, words] of cases) {
    test(words, () => assert.equal(preconditionText(p), words));
  }
});
