// Shared by the digest tests: a real registry with the fleet's images, one Kubernetes API double per
// cluster seeded with a generated fleet, a temp store, and DigestDeps wired like the bot wires them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeCluster, Kubernetes } from '../../src/adapters/kubernetes.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { Store } from '../../src/adapters/store.ts';
import { Catalog } from '../../src/config/catalog.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { DigestDeps } from '../../src/digest/digest.ts';
import { createLogger } from '../../src/logger.ts';
import { FakeClock } from '../fakes/clock.ts';
import { FakeKubeApi } from '../fakes/kube-api.ts';
import { generateFleet, pushFleetImages, seedFleet, type Fleet, type FleetSpec } from '../fakes/fleet.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';
import type { Workload } from '../../src/digest/inventory.ts';

export interface ClusterUnderTest {
  name: string;
  api: FakeKubeApi;
  fleet: Fleet;
}

export interface Harness {
  registry: RunningRegistry;
  clusters: ClusterUnderTest[];
  dir: string;
  clock: FakeClock;
  /** Fresh deps over the same store file, as after a restart when `reopen` is set. */
  deps(raw?: Record<string, unknown>, opts?: { reopen?: boolean }): Promise<DigestDeps>;
  stop(): Promise<void>;
}

export const SMALL_FLEET: Omit<FleetSpec, 'registry'> = {
  workloads: 60,
  pods: 180,
  images: 12,
  amd64Nodes: 6,
  arm64Nodes: 3,
  orphanPods: 2,
  barePods: 1,
};

export async function startHarness(
  clusters: { name: string; spec?: Partial<FleetSpec> }[],
  opts: { pageSize?: number } = {},
): Promise<Harness> {
  const registry = await startRegistry();
  const dir = await mkdtemp(join(tmpdir(), 'archshift-digest-'));
  const clock = new FakeClock(new Date('2026-11-25T09:00:00Z'));
  const under: ClusterUnderTest[] = [];
  for (const [i, c] of clusters.entries()) {
    const fleet = generateFleet({ ...SMALL_FLEET, seed: 100 + i, ...c.spec, registry: registry.host });
    const api = await new FakeKubeApi().start();
    seedFleet(api, fleet);
    await pushFleetImages(registry, fleet);
    under.push({ name: c.name, api, fleet });
  }
  let store: Store | undefined;
  return {
    registry,
    clusters: under,
    dir,
    clock,
    async deps(raw = {}, o = {}) {
      if (!store || o.reopen) {
        await store?.close();
        store = await Store.open(join(dir, 'store.json'));
      }
      const config = parseConfig({ kubernetes: { contexts: under.map((c) => c.name) }, ...raw });
      return {
        config,
        catalog: new Catalog(config.catalog),
        store,
        logger: createLogger('silent'),
        clock,
        // Small pages so every list really paginates against the double.
        kube: new Kubernetes(under.map((c) => new KubeCluster(c.name, c.api.kubeConfig(c.name), 5000, opts.pageSize ?? 25))),
        registry: createRegistryClient({ config: config.registry, store, backoffMs: 1 }),
      };
    },
    async stop() {
      await store?.close();
      for (const c of under) await c.api.stop();
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One inventory workload with plain defaults (1 amd64 pod, 1 core, ready); tests override what they judge. */
export const workload = (over: Partial<Workload>): Workload => ({
  cluster: 'c',
  kind: 'Deployment',
  namespace: 'ns',
  name: 'w',
  pods: 1,
  podsByArch: { amd64: 1 },
  cpuMillisByArch: { amd64: 1000 },
  memoryBytes: 0,
  podsWithoutRequests: 0,
  amd64NodeShare: {},
  images: [],
  status: 'ready',
  blocksNodeGroups: false,
  ...over,
});
