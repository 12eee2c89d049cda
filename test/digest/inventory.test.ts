import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeCluster, Kubernetes } from '../../src/adapters/kubernetes.ts';
import { createRegistryClient, type RegistryClient } from '../../src/adapters/registry.ts';
import { quantity, takeInventory, workloadKey, type Inventory } from '../../src/digest/inventory.ts';
import { knownBrokenComponents } from '../../src/digest/digest.ts';
import { builtinKnowledge } from '../../src/readiness/knowledge/load.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { startHarness, type Harness } from './setup.ts';

describe('inventory of a generated fleet (Kubernetes API double, real registry)', () => {
  let h: Harness;
  let inv: Inventory;
  let registry: RegistryClient;

  before(async () => {
    h = await startHarness([{ name: 'prod-eu' }, { name: 'prod-us', spec: { share: { arm64: 0.1, mixed: 0.1 } } }]);
    const deps = await h.deps();
    registry = deps.registry as RegistryClient;
    inv = await takeInventory({
      kubernetes: deps.kube!,
      images: registry,
      teamLabels: deps.config.digest.teamLabels,
      sidecarContainers: deps.config.digest.sidecarContainers,
    });
  });
  after(async () => h?.stop());

  test('every workload is resolved from its pods through ownerReferences, with the status it was generated with', () => {
    for (const c of h.clusters) {
      const got = inv.clusters.find((x) => x.cluster === c.name);
      assert.ok(got?.ok, `${c.name} was read`);
      const byKey = new Map(got.workloads.map((w) => [workloadKey(w), w]));
      assert.deepEqual([...byKey.keys()].sort(), [...c.fleet.expected.keys()].sort());
      for (const [key, e] of c.fleet.expected) {
        const w = byKey.get(key)!;
        assert.equal(w.status, e.status, `${c.name} ${key}: ${w.reason ?? ''}`);
        assert.equal(w.blocksNodeGroups, e.blocksNodeGroups, `${key} blocks node groups`);
        assert.equal(w.pods, e.pods, `${key} pods`);
        assert.equal(w.podsByArch.arm64 ?? 0, e.podsOnArm64, `${key} pods on arm64`);
        if (e.team) assert.equal(w.team, e.team, `${key} team from labels`);
      }
    }
  });

  test('every status occurs, so the comparison above covers them all', () => {
    const seen = new Set(inv.clusters.flatMap((c) => (c.ok ? c.workloads.map((w) => w.status) : [])));
    assert.deepEqual([...seen].sort(), ['arm64', 'blocked', 'mixed', 'ready', 'unknown']);
  });

  test('blocked and unknown workloads carry a reason a user can act on', () => {
    const c = inv.clusters[0]!;
    assert.ok(c.ok);
    const fluent = c.workloads.find((w) => w.kind === 'DaemonSet' && w.name === 'fluent-bit')!;
    assert.equal(fluent.status, 'blocked');
    assert.match(fluent.reason!, /fluent-bit:1\.6\.10 is built for amd64 only/);
    const orphan = c.workloads.find((w) => w.kind === 'ReplicaSet')!;
    assert.match(orphan.reason!, /owner unknown: its ReplicaSet ns-0\/gone-\d-5c4b was not found/);
    const missing = c.workloads.find((w) => w.status === 'unknown' && w.kind !== 'ReplicaSet')!;
    assert.match(missing.reason!, /image not resolved: .*(not found|does not exist)/);
    const bare = c.workloads.find((w) => w.kind === 'Pod')!;
    assert.equal(bare.podsWithoutRequests, 1, 'a pod without requests is counted apart');
    assert.deepEqual(bare.cpuMillisByArch, {});
  });

  test('a known-broken image blocks a workload that the registry alone would call ready', async () => {
    const c = h.clusters[0]!;
    const [key] = [...c.fleet.expected].find(([, e]) => e.status === 'ready' && e.kind === 'StatefulSet')!;
    const ready = (inv.clusters[0] as Extract<Inventory['clusters'][number], { ok: true }>).workloads.find((w) => workloadKey(w) === key)!;
    const image = ready.images[0]!.image;
    const result = await takeInventory({
      kubernetes: new Kubernetes([(await h.deps()).kube!.cluster('prod-eu')]),
      images: registry,
      blockReason: (i) => (i === image ? 'known broken on arm64' : undefined),
    });
    const c0 = result.clusters[0]!;
    assert.ok(c0.ok);
    const w = c0.workloads.find((x) => workloadKey(x) === key)!;
    assert.equal(w.status, 'blocked');
    assert.equal(w.reason, 'known broken on arm64');
  });

  test('nodes are listed by arch with instance type and allocatable capacity', () => {
    const c = inv.clusters[0]!;
    assert.ok(c.ok);
    const spec = h.clusters[0]!.fleet.spec;
    assert.equal(c.nodes.filter((n) => n.arch === 'amd64').length, spec.amd64Nodes);
    assert.equal(c.nodes.filter((n) => n.arch === 'arm64').length, spec.arm64Nodes);
    const arm = c.nodes.find((n) => n.arch === 'arm64')!;
    assert.equal(arm.instanceType, 'm7g.2xlarge');
    assert.equal(arm.cpuMillis, 7910);
    assert.equal(arm.memoryBytes, 30 * 2 ** 30);
  });

  test('every list is paginated with limit/continue', () => {
    const pods = h.clusters[0]!.api.requests.filter((r) => r.path === '/api/v1/pods');
    const runs = pods.filter((r) => !r.query.get('continue')).length;
    const podCount = h.clusters[0]!.fleet.objects.filter((o) => o.collection.endsWith('/pods')).length;
    assert.ok(runs >= 1);
    assert.equal(pods.length / runs, Math.ceil(podCount / 25), 'one request per page of 25 pods');
    assert.ok(pods.every((r) => r.query.get('limit') === '25'));
  });

  test('a second inventory answers every image from the warm cache', async () => {
    const before = registry.stats();
    await takeInventory({ kubernetes: (await h.deps()).kube!, images: registry });
    const after = registry.stats();
    const resolvable = new Set(h.clusters.flatMap((c) => [...c.fleet.images].filter(([, k]) => k !== 'missing').map(([i]) => i))).size;
    assert.equal(after.cacheHits - before.cacheHits, resolvable);
  });

  test('an unreachable cluster is reported as such; the others are still read', async () => {
    const down = await new FakeKubeApi().start();
    const kc = down.kubeConfig('prod-ap');
    await down.stop();
    const deps = await h.deps();
    const kube = new Kubernetes([...deps.kube!.clusters.values(), new KubeCluster('prod-ap', kc, 2000)]);
    const result = await takeInventory({ kubernetes: kube, images: createRegistryClient({ config: deps.config.registry }) });
    const ap = result.clusters.find((c) => c.cluster === 'prod-ap')!;
    assert.equal(ap.ok, false);
    assert.ok(!ap.ok && /cluster prod-ap: list \w+ failed/.test(ap.error), !ap.ok ? ap.error : '');
    assert.equal(result.clusters.filter((c) => c.ok).length, 2);
  });

  test('the catalog names the service and team of a Deployment before its labels do', async () => {
    const deps = await h.deps();
    const eu = h.clusters[0]!;
    const [key, e] = [...eu.fleet.expected].find(([, x]) => x.kind === 'Deployment')!;
    const result = await takeInventory({
      kubernetes: new Kubernetes([deps.kube!.cluster('prod-eu')]),
      images: registry,
      teamLabels: ['team'],
      owner: (w) =>
        w.kind === 'Deployment' && w.namespace === e.namespace && w.name === e.name ? { service: 'checkout', team: 'payments' } : undefined,
    });
    const c = result.clusters[0]!;
    assert.ok(c.ok);
    const w = c.workloads.find((x) => workloadKey(x) === key)!;
    assert.equal(w.service, 'checkout');
    assert.equal(w.team, 'payments');
    assert.ok(c.workloads.filter((x) => workloadKey(x) !== key && x.team === e.team).length > 0, 'others keep their label team');
  });
});

test('the knowledge base blocks known-broken system components whatever their manifest says', () => {
  const reason = knownBrokenComponents(builtinKnowledge());
  assert.match(reason('fluent/fluent-bit:1.6.10') ?? '', /garbled on arm64.*Bump fluent-bit from 1\.6\.10 to 1\.7\.8/);
  // 2.x mangles multibyte text on aarch64 until 3.2.3 (fluent-bit #8521, PR 8851).
  assert.match(reason('fluent/fluent-bit:2.1.0') ?? '', /-fsigned-char/);
  assert.equal(reason('fluent/fluent-bit:3.2.3'), undefined);
  assert.equal(reason('fluent/fluent-bit:1.7'), undefined, 'a floating tag is a warning for the check, not a blocker here');
});

test('resource quantities', () => {
  assert.equal(quantity('500m'), 0.5);
  assert.equal(quantity('2'), 2);
  assert.equal(quantity('1.5Gi'), 1.5 * 2 ** 30);
  assert.equal(quantity('128974848'), 128974848);
  assert.equal(quantity('129e6'), 129e6);
  assert.equal(quantity('1k'), 1000);
  assert.equal(quantity('nonsense'), 0);
  assert.equal(quantity(undefined), 0);
});
