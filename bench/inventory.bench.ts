// Inventory benchmark: 2,000 workloads / 20,000 pods / ~800 distinct images behind a Kubernetes API
// double with 20 ms added latency per request, registry cache warm (filled through the adapter's cache
// API). The double runs in its own process and the measurement in another fresh one, so neither the
// double's memory nor earlier benchmarks' garbage is counted. The floor is the same paginated list
// calls through the same adapter with no processing, measured in the same process.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeCluster, Kubernetes } from '../src/adapters/kubernetes.ts';
import { createRegistryClient } from '../src/adapters/registry.ts';
import { Store } from '../src/adapters/store.ts';
import { registryConfigSchema } from '../src/config/schema.ts';
import { takeInventory } from '../src/digest/inventory.ts';
import { FakeKubeApi } from '../test/fakes/kube-api.ts';
import { generateFleet, seedFleet, warmRegistryCache, type FleetSpec } from '../test/fakes/fleet.ts';

const SPEC: FleetSpec = {
  seed: 7,
  // Never contacted: a warm cache answers every image (a miss would fail fast on the discard port).
  registry: '127.0.0.1:9',
  workloads: 2000,
  pods: 19_500, // + 500 DaemonSet pods (one per node per DaemonSet) = 20,000
  images: 800,
  amd64Nodes: 200,
  arm64Nodes: 100,
  namespaces: 40,
  teams: 25,
  share: { missingImage: 0 },
};
const LATENCY_MS = 20;
const RUNS = 3;
const self = fileURLToPath(import.meta.url);

/**
 * Child 1: the API double with the fleet (20 ms latency), and the store file with the registry cache as
 * an earlier run left it; prints its URL and serves until stdin closes.
 */
async function serve(storeFile: string): Promise<void> {
  const api = await new FakeKubeApi().start();
  const fleet = generateFleet(SPEC);
  seedFleet(api, fleet);
  const store = await Store.open(storeFile);
  await warmRegistryCache(store, fleet);
  await store.close(); // the measured process opens this store next: one writer per store file
  api.latencyMs = LATENCY_MS;
  // Recording every request would only grow the double's memory.
  api.requests.push = () => 0;
  process.stdout.write(
    `${JSON.stringify({ url: api.url, token: api.token, pods: fleet.objects.filter((o) => o.collection.endsWith('/pods')).length, images: fleet.images.size })}\n`,
  );
  process.stdin.resume();
  process.stdin.on('end', () => void api.stop().then(() => process.exit(0)));
}

/**
 * Child 2: a fresh process that runs one thing once, as the bot does each morning: the plain list calls
 * (the floor) or the inventory; reports its time and the process's peak RSS.
 */
async function measureOnce(what: string, url: string, token: string, storeFile: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'bench', server: url, skipTLSVerify: true }],
    users: [{ name: 'bot', token }],
    contexts: [{ name: 'bench', cluster: 'bench', user: 'bot' }],
    currentContext: 'bench',
  });
  const cluster = new KubeCluster('bench', kc, 60_000);
  const store = await Store.open(storeFile);
  const registry = createRegistryClient({ config: registryConfigSchema.parse({ retries: 0, timeoutMs: 500 }), store });
  const baselineRssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
  const t0 = performance.now();
  let extra: Record<string, unknown>;
  if (what === 'floor') {
    const lists = await Promise.all([
      cluster.listNodes(),
      cluster.listPods(),
      cluster.listReplicaSets(),
      cluster.listDeployments(),
      cluster.listStatefulSets(),
      cluster.listDaemonSets(),
      cluster.listJobs(),
      cluster.listCronJobs(),
    ]);
    extra = { objects: lists.reduce((n, l) => n + l.length, 0) };
  } else {
    const inv = await takeInventory({ kubernetes: new Kubernetes([cluster]), images: registry, teamLabels: ['team'] });
    const c = inv.clusters[0]!;
    if (!c.ok) throw new Error(c.error);
    const stats = registry.stats();
    extra = {
      workloads: c.workloads.length,
      pods: c.workloads.reduce((n, w) => n + w.pods, 0),
      distinctImages: new Set(c.workloads.flatMap((w) => w.images.map((i) => i.image))).size,
      registryCacheHits: stats.cacheHits,
      registryCacheMisses: stats.cacheMisses,
    };
  }
  const ms = Math.round(performance.now() - t0);
  process.stdout.write(
    `${JSON.stringify({ ms, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), baselineRssMb, ...extra })}\n`,
  );
}

function child(args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', self, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
}

async function firstLine(proc: ReturnType<typeof child>): Promise<string> {
  const rl = createInterface({ input: proc.stdout! });
  for await (const line of rl) if (line.startsWith('{')) return line;
  throw new Error('benchmark child exited without a result');
}

interface Result {
  ms: number;
  peakRssMb: number;
  baselineRssMb: number;
  [k: string]: unknown;
}

export async function run(): Promise<unknown> {
  const dir = await mkdtemp(join(tmpdir(), 'archshift-bench-'));
  const storeFile = join(dir, 'store.json');
  const server = child(['--serve', storeFile]);
  try {
    const served = JSON.parse(await firstLine(server)) as { url: string; token: string; pods: number; images: number };
    const floors: Result[] = [];
    const inventories: Result[] = [];
    // Alternate so both see the same machine load; each run in a fresh process.
    for (let i = 0; i < RUNS; i++) {
      floors.push(JSON.parse(await firstLine(child(['--measure', 'floor', served.url, served.token, storeFile]))) as Result);
      inventories.push(JSON.parse(await firstLine(child(['--measure', 'inventory', served.url, served.token, storeFile]))) as Result);
    }
    const median = (xs: Result[], k: 'ms' | 'peakRssMb') => [...xs].map((x) => x[k]).sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const { ms: _ms, peakRssMb: _p, baselineRssMb: _b, ...shape } = inventories[0]!;
    return {
      fleet: {
        workloads: SPEC.workloads,
        podsServed: served.pods,
        imagesGenerated: served.images,
        nodes: SPEC.amd64Nodes + SPEC.arm64Nodes,
        apiLatencyMs: LATENCY_MS,
        pageSize: 500,
      },
      inventoryResult: shape,
      floorListCallsMs: { median: median(floors, 'ms'), runs: floors.map((f) => f.ms) },
      inventoryMs: { median: median(inventories, 'ms'), runs: inventories.map((f) => f.ms) },
      peakRssMb: {
        floor: median(floors, 'peakRssMb'),
        inventory: median(inventories, 'peakRssMb'),
        inventoryMax: Math.max(...inventories.map((r) => r.peakRssMb)),
        processBaseline: inventories[0]!.baselineRssMb,
      },
    };
  } finally {
    server.stdin!.end();
    await new Promise((r) => server.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === self) {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === '--serve') await serve(rest[0]!);
  else if (mode === '--measure') await measureOnce(rest[0]!, rest[1]!, rest[2]!, rest[3]!);
}
