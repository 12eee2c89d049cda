// Generates a fleet (nodes of both arches, Deployments/StatefulSets/CronJobs/DaemonSets/bare pods with
// their ReplicaSets, Jobs and pods) from a seed, seeds it into a FakeKubeApi, and says what each workload
// is by construction, so tests compare the inventory with the generator's intent, not with a fixture.
import { createHash } from 'node:crypto';
import type { FakeKubeApi, KubeObject } from './kube-api.ts';
import type { RunningRegistry } from './registry.ts';
import type { Store } from '../../src/adapters/store.ts';
import { RegistryCache, registryCacheTable } from '../../src/adapters/registry/cache.ts';
import { parseImageRef } from '../../src/images/ref.ts';
import type { WorkloadStatus } from '../../src/digest/inventory.ts';

export type ImageKind = 'multi' | 'amd64' | 'missing';

export interface FleetSpec {
  seed?: number;
  /** `host:port` the image references point at. */
  registry: string;
  /** Top-level workloads, not counting the DaemonSets and stray pods. */
  workloads: number;
  /** Pods of those workloads in total (spread over them). */
  pods: number;
  /** Distinct application images. */
  images: number;
  amd64Nodes: number;
  arm64Nodes: number;
  namespaces?: number;
  teams?: number;
  /** Shares of workloads by intended state; the rest are ready to move. */
  share?: { arm64?: number; mixed?: number; blocked?: number; missingImage?: number; sidecar?: number; noRequests?: number };
  /** Pods whose ReplicaSet does not exist (owner unknown). */
  orphanPods?: number;
  barePods?: number;
}

export interface ExpectedWorkload {
  kind: string;
  namespace: string;
  name: string;
  team: string;
  status: WorkloadStatus;
  blocksNodeGroups: boolean;
  pods: number;
  podsOnArm64: number;
}

export interface Fleet {
  spec: FleetSpec;
  images: Map<string, ImageKind>;
  /** By `namespace/Kind/name` (inventory's workloadKey). */
  expected: Map<string, ExpectedWorkload>;
  objects: { collection: string; obj: KubeObject }[];
  nodes: { name: string; arch: string; instanceType: string }[];
}

/** Small deterministic PRNG (mulberry32): the same seed gives the same fleet. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const APPS = '/apis/apps/v1';
const BATCH = '/apis/batch/v1';
const CORE = '/api/v1';
export const SIDECAR_IMAGE = (registry: string) => `${registry}/istio/proxyv2:1.14.3`;
export const FLUENT_BIT_IMAGE = (registry: string) => `${registry}/fluent/fluent-bit:1.6.10`;
const NODE_EXPORTER_IMAGE = (registry: string) => `${registry}/prom/node-exporter:1.8.2`;

export function generateFleet(spec: FleetSpec): Fleet {
  const rand = prng(spec.seed ?? 42);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const share = { arm64: 0.3, mixed: 0.05, blocked: 0.15, missingImage: 0.05, sidecar: 0.05, noRequests: 0.03, ...spec.share };
  const nsCount = spec.namespaces ?? 12;
  const teamCount = spec.teams ?? 6;
  const objects: Fleet['objects'] = [];
  const expected = new Map<string, ExpectedWorkload>();
  const images = new Map<string, ImageKind>();
  let uidN = 0;
  const uid = () => `u-${++uidN}`;

  const nodes: Fleet['nodes'] = [];
  for (let i = 0; i < spec.amd64Nodes; i++)
    nodes.push({ name: `node-x86-${i}`, arch: 'amd64', instanceType: i % 3 === 2 ? 'c6i.4xlarge' : 'm6i.2xlarge' });
  for (let i = 0; i < spec.arm64Nodes; i++) nodes.push({ name: `node-arm-${i}`, arch: 'arm64', instanceType: 'm7g.2xlarge' });
  for (const n of nodes) {
    const cpu = n.instanceType.includes('4xlarge') ? '15890m' : '7910m';
    objects.push({
      collection: `${CORE}/nodes`,
      obj: {
        metadata: {
          name: n.name,
          uid: uid(),
          labels: { 'kubernetes.io/arch': n.arch, 'node.kubernetes.io/instance-type': n.instanceType, 'kubernetes.io/os': 'linux' },
        },
        status: { allocatable: { cpu, memory: '30Gi', pods: '110' }, nodeInfo: { architecture: n.arch } },
      },
    });
  }
  const amdNodes = nodes.filter((n) => n.arch === 'amd64');
  const armNodes = nodes.filter((n) => n.arch === 'arm64');

  // Image pools by kind; each workload's main image comes from the pool its state needs.
  const pool: Record<ImageKind, string[]> = { multi: [], amd64: [], missing: [] };
  const nImages = Math.max(3, spec.images);
  for (let k = 0; k < nImages; k++) {
    const kind: ImageKind = k % 20 < 2 && share.missingImage > 0 ? 'missing' : k % 20 < 6 && share.blocked > 0 ? 'amd64' : 'multi';
    pool[kind].push(`${spec.registry}/apps/app-${k}:1.${k % 7}.0`);
  }
  if (!pool.multi.length) pool.multi.push(`${spec.registry}/apps/app-base:1.0.0`);
  // Round-robin through each pool so every generated image is used (the benchmark asks for N distinct).
  const next: Record<ImageKind, number> = { multi: 0, amd64: 0, missing: 0 };
  const take = (kind: ImageKind) => pool[kind][next[kind]++ % pool[kind].length]!;
  const use = (image: string, kind: ImageKind) => {
    images.set(image, kind);
    return image;
  };

  const pod = (o: {
    name: string;
    namespace: string;
    owner?: { kind: string; name: string; uid: string };
    node?: string;
    images: string[];
    sidecar?: string;
    requests: boolean;
    labels: Record<string, string>;
  }): void => {
    const containers = o.images.map((image, i) => ({
      name: i === 0 ? 'app' : `helper-${i}`,
      image,
      ...(o.requests ? { resources: { requests: { cpu: `${250 * (1 + (i % 3))}m`, memory: '256Mi' } } } : {}),
    }));
    if (o.sidecar)
      containers.push({
        name: 'istio-proxy',
        image: o.sidecar,
        ...(o.requests ? { resources: { requests: { cpu: '100m', memory: '128Mi' } } } : {}),
      });
    objects.push({
      collection: `${CORE}/namespaces/${o.namespace}/pods`,
      obj: {
        metadata: {
          name: o.name,
          uid: uid(),
          labels: o.labels,
          ...(o.owner
            ? { ownerReferences: [{ apiVersion: 'v1', kind: o.owner.kind, name: o.owner.name, uid: o.owner.uid, controller: true }] }
            : {}),
        },
        spec: { ...(o.node ? { nodeName: o.node } : {}), containers },
        status: { phase: o.node ? 'Running' : 'Pending' },
      },
    });
  };

  const base = Math.floor(spec.pods / Math.max(1, spec.workloads));
  let extra = spec.pods - base * spec.workloads;
  for (let i = 0; i < spec.workloads; i++) {
    const namespace = `ns-${i % nsCount}`;
    const team = `team-${i % teamCount}`;
    const name = `svc-${i}`;
    const kind = i % 20 < 15 ? 'Deployment' : i % 20 < 18 ? 'StatefulSet' : 'CronJob';
    const r = rand();
    let state: 'arm64' | 'mixed' | 'blocked' | 'missing' | 'ready' =
      r < share.arm64
        ? 'arm64'
        : r < share.arm64 + share.mixed
          ? 'mixed'
          : r < share.arm64 + share.mixed + share.blocked
            ? 'blocked'
            : r < share.arm64 + share.mixed + share.blocked + share.missingImage
              ? 'missing'
              : 'ready';
    if (state === 'blocked' && !pool.amd64.length) state = 'ready';
    if (state === 'missing' && !pool.missing.length) state = 'ready';
    const replicas = Math.max(1, base + (extra > 0 ? 1 : 0));
    if (extra > 0) extra--;
    if (state === 'mixed' && replicas < 2) state = 'arm64';
    const main =
      state === 'blocked'
        ? use(take('amd64'), 'amd64')
        : state === 'missing'
          ? use(take('missing'), 'missing')
          : use(take('multi'), 'multi');
    const sidecar =
      state === 'ready' && kind === 'Deployment' && rand() < share.sidecar * 4 ? use(SIDECAR_IMAGE(spec.registry), 'amd64') : undefined;
    const requests = rand() >= share.noRequests;
    const labels = { app: name, team };
    const template = { metadata: { labels }, spec: { containers: [{ name: 'app', image: main }] } };
    const ownerUid = uid();
    let podOwner: { kind: string; name: string; uid: string };
    if (kind === 'Deployment') {
      objects.push({
        collection: `${APPS}/namespaces/${namespace}/deployments`,
        obj: { metadata: { name, uid: ownerUid, labels }, spec: { replicas, selector: { matchLabels: { app: name } }, template } },
      });
      const rs = { kind: 'ReplicaSet', name: `${name}-7d9f8`, uid: uid() };
      objects.push({
        collection: `${APPS}/namespaces/${namespace}/replicasets`,
        obj: {
          metadata: {
            name: rs.name,
            uid: rs.uid,
            labels,
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: ownerUid, controller: true }],
          },
          spec: { replicas, template },
        },
      });
      podOwner = rs;
    } else if (kind === 'StatefulSet') {
      objects.push({
        collection: `${APPS}/namespaces/${namespace}/statefulsets`,
        obj: { metadata: { name, uid: ownerUid, labels }, spec: { replicas, serviceName: name, template } },
      });
      podOwner = { kind: 'StatefulSet', name, uid: ownerUid };
    } else {
      objects.push({
        collection: `${BATCH}/namespaces/${namespace}/cronjobs`,
        obj: { metadata: { name, uid: ownerUid, labels }, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template } } } },
      });
      const job = { kind: 'Job', name: `${name}-2900`, uid: uid() };
      objects.push({
        collection: `${BATCH}/namespaces/${namespace}/jobs`,
        obj: {
          metadata: {
            name: job.name,
            uid: job.uid,
            labels,
            ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name, uid: ownerUid, controller: true }],
          },
          spec: { template },
        },
      });
      podOwner = job;
    }
    let onArm = 0;
    for (let p = 0; p < replicas; p++) {
      const arm = state === 'arm64' || (state === 'mixed' && p % 2 === 0);
      if (arm) onArm++;
      const node = pick(arm && armNodes.length ? armNodes : amdNodes).name;
      pod({ name: `${podOwner.name}-${p}`, namespace, owner: podOwner, node, images: [main], sidecar, requests, labels });
    }
    const status: WorkloadStatus =
      state === 'arm64'
        ? 'arm64'
        : state === 'mixed'
          ? 'mixed'
          : state === 'blocked' || sidecar
            ? 'blocked'
            : state === 'missing'
              ? 'unknown'
              : 'ready';
    expected.set(`${namespace}/${kind}/${name}`, {
      kind,
      namespace,
      name,
      team,
      status,
      blocksNodeGroups: Boolean(sidecar),
      pods: replicas,
      podsOnArm64: onArm,
    });
  }

  // DaemonSets: an old fluent-bit without arm64 (only on amd64 nodes), a multi-arch node-exporter everywhere.
  const daemonSets = [
    { name: 'fluent-bit', namespace: 'logging', image: use(FLUENT_BIT_IMAGE(spec.registry), 'amd64'), nodes: amdNodes },
    { name: 'node-exporter', namespace: 'monitoring', image: use(NODE_EXPORTER_IMAGE(spec.registry), 'multi'), nodes },
  ];
  for (const ds of daemonSets) {
    const dsUid = uid();
    const labels = { app: ds.name, team: 'platform' };
    objects.push({
      collection: `${APPS}/namespaces/${ds.namespace}/daemonsets`,
      obj: {
        metadata: { name: ds.name, uid: dsUid, labels },
        spec: { template: { metadata: { labels }, spec: { containers: [{ name: ds.name, image: ds.image }] } } },
      },
    });
    ds.nodes.forEach((n, i) =>
      pod({
        name: `${ds.name}-${i}`,
        namespace: ds.namespace,
        owner: { kind: 'DaemonSet', name: ds.name, uid: dsUid },
        node: n.name,
        images: [ds.image],
        requests: true,
        labels,
      }),
    );
    const onArm = ds.nodes.filter((n) => n.arch === 'arm64').length;
    const status: WorkloadStatus =
      onArm === ds.nodes.length && onArm > 0 ? 'arm64' : onArm > 0 ? 'mixed' : images.get(ds.image) === 'amd64' ? 'blocked' : 'ready';
    expected.set(`${ds.namespace}/DaemonSet/${ds.name}`, {
      kind: 'DaemonSet',
      namespace: ds.namespace,
      name: ds.name,
      team: 'platform',
      status,
      blocksNodeGroups: images.get(ds.image) === 'amd64',
      pods: ds.nodes.length,
      podsOnArm64: onArm,
    });
  }

  for (let i = 0; i < (spec.orphanPods ?? 0); i++) {
    const owner = { kind: 'ReplicaSet', name: `gone-${i}-5c4b`, uid: `u-missing-${i}` };
    pod({
      name: `gone-${i}-5c4b-x`,
      namespace: 'ns-0',
      owner,
      node: amdNodes[0]?.name,
      images: [use(pool.multi[0]!, 'multi')],
      requests: true,
      labels: { app: `gone-${i}` },
    });
    expected.set(`ns-0/ReplicaSet/${owner.name}`, {
      kind: 'ReplicaSet',
      namespace: 'ns-0',
      name: owner.name,
      team: '',
      status: 'unknown',
      blocksNodeGroups: false,
      pods: 1,
      podsOnArm64: 0,
    });
  }
  for (let i = 0; i < (spec.barePods ?? 0); i++) {
    const name = `debug-${i}`;
    pod({
      name,
      namespace: 'ns-1',
      node: amdNodes[0]?.name,
      images: [use(pool.multi[0]!, 'multi')],
      requests: false,
      labels: { team: 'team-1' },
    });
    expected.set(`ns-1/Pod/${name}`, {
      kind: 'Pod',
      namespace: 'ns-1',
      name,
      team: 'team-1',
      status: 'ready',
      blocksNodeGroups: false,
      pods: 1,
      podsOnArm64: 0,
    });
  }
  return { spec, images, expected, objects, nodes };
}

export function seedFleet(api: FakeKubeApi, fleet: Fleet): void {
  for (const { collection, obj } of fleet.objects) api.put(collection, obj);
}

/** Pushes every image the fleet uses (except the deliberately missing ones) to a real registry. */
export async function pushFleetImages(registry: RunningRegistry, fleet: Fleet): Promise<void> {
  for (const [image, kind] of fleet.images) {
    if (kind === 'missing') continue;
    const ref = parseImageRef(image);
    if (kind === 'multi') await registry.pushIndex(ref.repository, ref.tag!, [{ architecture: 'amd64' }, { architecture: 'arm64' }]);
    else await registry.pushSingle(ref.repository, ref.tag!, { architecture: 'amd64' });
  }
}

/** Fills the registry adapter's cache (its own cache API) as a previous run would have: a warm cache. */
export async function warmRegistryCache(store: Store, fleet: Fleet, now = Date.now): Promise<void> {
  const cache = new RegistryCache(registryCacheTable(store), 24 * 3600_000, 24 * 3600_000, now, (err) => {
    throw err;
  });
  const writes: Promise<void>[] = [];
  for (const [image, kind] of fleet.images) {
    if (kind === 'missing') continue;
    const ref = parseImageRef(image);
    const digest = `sha256:${createHash('sha256').update(image).digest('hex')}`;
    const platforms =
      kind === 'multi'
        ? [
            { os: 'linux', architecture: 'amd64' },
            { os: 'linux', architecture: 'arm64' },
          ]
        : [{ os: 'linux', architecture: 'amd64' }];
    writes.push(
      cache.remember(`${ref.registry}/${ref.repository}@${digest}`, { platforms }, `${ref.registry}/${ref.repository}:${ref.tag}`, digest),
    );
  }
  await Promise.all(writes);
}
