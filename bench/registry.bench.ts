// Registry adapter benchmark against the real registry (docker-registry):
// (a) requests for one service's 5 images, cold and warm, behind Bearer token auth;
// (b) what users run instead, side by side in one run: `skopeo inspect --raw` (Debian's skopeo) 16 at a
//     time over 500 images vs `archshift check` of a checkout naming the same 500 images (the compiled CLI
//     in its own process, start-up and store included), cold (empty store) and warm (the same store
//     again: 0 requests), all behind a proxy adding 50 ms to every request; medians of alternating pairs;
//     The latency floor is printed beside them: one request's round trip through the proxy when nothing else
//     runs (median of 21), times the requests, over the 16 at a time both sides use;
// (c) how the cold check grows: wall and CPU per image at 50, 500 and 2,000 images.
// Goals (issue 15): cold/skopeo <= 0.25 at 500 images, warm 0 requests, CPU per image 2,000 vs 500 within 20 %.
// REGISTRY_BENCH_PAIRS (3), REGISTRY_BENCH_IMAGES (500) and REGISTRY_BENCH_SCALES (50,500,2000) change the sizes.
import { spawn, spawnSync } from 'node:child_process';
import { Agent, get } from 'node:http';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { registryConfigSchema } from '../src/config/schema.ts';
import { createRegistryClient, type RegistryStats } from '../src/adapters/registry.ts';
import { startFaultProxy, startRegistry, type FaultProxy, type RunningRegistry } from '../test/fakes/registry.ts';
import { startTokenServer } from '../test/fakes/token-server.ts';
import { CLI, childCpuMs, spawnCli } from './startup.bench.ts';

export interface RegistryBenchResult {
  service: {
    images: number;
    repositories: number;
    singleArch: number;
    cold: RegistryStats['byKind'] & { total: number };
    warm: number;
    targetMax: number;
    pass: boolean;
  };
  sideBySide: SideBySide;
  scale: { points: ScalePoint[]; cpuPerImageGrowth500to2000?: number; goal: string; pass: boolean };
  load: { before: number; after: number };
}

const both = [{ architecture: 'amd64' }, { architecture: 'arm64', variant: 'v8' }];

async function serviceImages(): Promise<RegistryBenchResult['service']> {
  const tokens = await startTokenServer();
  const registry = await startRegistry({ kind: 'token', tokenServer: tokens });
  try {
    await registry.pushIndex('shop/api', '2.3.1', both);
    await registry.pushIndex('shop/api', '2.3.1-debug', both);
    await registry.pushSingle('shop/migrate', '1.0', { architecture: 'amd64' });
    await registry.pushSingle('base/nginx', '1.25', { architecture: 'arm64' });
    await registry.pushIndex('base/redis', '7.2', both, { format: 'docker' });
    const refs = ['shop/api:2.3.1', 'shop/api:2.3.1-debug', 'shop/migrate:1.0', 'base/nginx:1.25', 'base/redis:7.2'].map(
      (r) => `${registry.host}/${r}`,
    );
    const client = createRegistryClient({ config: registryConfigSchema.parse({}) });
    await Promise.all(refs.map((r) => client.inspect(r)));
    const cold = client.stats();
    await Promise.all(refs.map((r) => client.inspect(r)));
    const warm = client.stats().requests - cold.requests;
    const repositories = 4;
    const singleArch = 2;
    // One manifest per reference + one config blob per single-arch image + one token per repository + one ping per host.
    const targetMax = refs.length + singleArch + repositories + 1;
    return {
      images: refs.length,
      repositories,
      singleArch,
      cold: { ...cold.byKind, total: cold.requests },
      warm,
      targetMax,
      pass: cold.requests <= targetMax && warm === 0,
    };
  } finally {
    await registry.stop();
    await tokens.close();
  }
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const LATENCY_MS = 50;
const SKOPEO_WIDTH = 16;
const PAIRS = Number(process.env.REGISTRY_BENCH_PAIRS ?? 3);
const SIDE_BY_SIDE = Number(process.env.REGISTRY_BENCH_IMAGES ?? 500);
const SCALES = (process.env.REGISTRY_BENCH_SCALES ?? '50,500,2000').split(',').map(Number);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r2 = (n: number) => Math.round(n * 100) / 100;
const load = () => Math.round(loadavg()[0] * 10) / 10;

/** Debian's skopeo, installed with apt-get when missing (the bench is not run by CI). */
function ensureSkopeo(): void {
  if (spawnSync('skopeo', ['--version']).status === 0) return;
  console.log('registry: installing skopeo (apt-get)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'skopeo'], { stdio: 'inherit', env });
  if (r.status !== 0) throw new Error('skopeo is missing and apt-get could not install it');
}

/** `skopeo inspect --raw` of every reference, SKOPEO_WIDTH processes at a time. */
async function skopeoAll(refs: string[]): Promise<{ ms: number; cpuMs: number }> {
  childCpuMs();
  const t0 = performance.now();
  await pool(
    refs,
    SKOPEO_WIDTH,
    (ref) =>
      new Promise<void>((resolve, reject) => {
        const p = spawn('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (d) => (err += d));
        p.on('error', reject);
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`skopeo ${ref}: exit ${code}: ${err.slice(0, 500)}`))));
      }),
  );
  return { ms: performance.now() - t0, cpuMs: childCpuMs() };
}

interface Fleet {
  refs: string[];
  checkout: string;
}

/** `count` images (repositories of 10 tags: 8 multi-arch indexes, 2 amd64-only) and a checkout naming them all. */
async function pushImages(registry: RunningRegistry, host: string, dir: string, count: number, prefix: string): Promise<Fleet> {
  const jobs: { repository: string; tag: string; single: boolean }[] = [];
  for (let r = 0; r < Math.ceil(count / 10); r++)
    for (let t = 0; t < 10 && jobs.length < count; t++) jobs.push({ repository: `${prefix}${r}/svc`, tag: `1.${t}.0`, single: t >= 8 });
  // Repositories in parallel, tags of one repository in turn: docker-registry 2.8 can fail two
  // concurrent uploads of the same blob into one repository with DIGEST_INVALID.
  const byRepository = [...new Set(jobs.map((j) => j.repository))].map((repository) => jobs.filter((j) => j.repository === repository));
  await pool(byRepository, 8, async (repoJobs) => {
    for (const j of repoJobs) {
      await (j.single
        ? registry.pushSingle(j.repository, j.tag, { architecture: 'amd64' }, { annotation: j.tag })
        : registry.pushIndex(j.repository, j.tag, both, { annotation: `${j.repository}:${j.tag}` }));
    }
  });
  const refs = jobs.map((j) => `${host}/${j.repository}:${j.tag}`);
  const checkout = join(dir, `${prefix}-${count}`);
  await mkdir(join(checkout, 'deploy'), { recursive: true });
  const docs = refs.map(
    (ref, i) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-${i}\nspec:\n  selector:\n    matchLabels: {app: app-${i}}\n  template:\n    metadata:\n      labels: {app: app-${i}}\n    spec:\n      containers:\n        - name: app\n          image: ${ref}\n`,
  );
  await writeFile(join(checkout, 'deploy', 'apps.yaml'), docs.join('---\n'));
  return { refs, checkout };
}

/** `archshift check <checkout>` as a user runs it (compiled CLI, own process) on the given store file. */
async function archshiftCheck(
  fleet: Fleet,
  dir: string,
  store: string,
  proxy: FaultProxy,
): Promise<{ ms: number; cpuMs: number; requests: number }> {
  const config = join(dir, `${basename(store)}.yml`);
  await writeFile(config, `store:\n  file: ${store}\n`);
  const seen = proxy.log.length;
  childCpuMs();
  const r = await spawnCli(['check', fleet.checkout, '--json', '--config', config], {
    ...process.env,
    LOG_LEVEL: 'silent',
    CI: '1',
    KUBECONFIG: '',
    KUBERNETES_SERVICE_HOST: '',
    GITHUB_TOKEN: '',
  });
  if (r.code === null || r.code > 2) throw new Error(`archshift check exited ${r.code}: ${r.stderr.slice(0, 1000)}`);
  return { ms: r.ms, cpuMs: r.cpuMs, requests: proxy.log.length - seen };
}

export interface SideBySide {
  images: number;
  latencyMs: number;
  /** One manifest request's round trip through the proxy, alone (keep-alive connection). */
  roundTripMs: number;
  /** requests x roundTripMs / 16 for each side: what the latency alone costs at 16 at a time. */
  floorMs: { archshift: number; skopeo: number };
  pairs: number;
  skopeoMs: number;
  archshiftColdMs: number;
  archshiftWarmMs: number;
  /** Medians of the per-pair ratios. */
  coldOverSkopeo: number;
  warmOverSkopeo: number;
  coldRequests: number;
  warmRequests: number;
  goal: string;
  pass: boolean;
}

export interface ScalePoint {
  images: number;
  wallMs: number;
  cpuMs: number;
  cpuMsPerImage: number;
  wallMsPerImage: number;
  requests: number;
}

/** Median round trip of one manifest GET through the proxy, sent one after another on a kept-alive connection. */
async function roundTripMs(ref: string): Promise<number> {
  const [host, ...path] = ref.split('/');
  const [repository, tag] = path.join('/').split(':');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) =>
      get(
        `http://${host}/v2/${repository}/manifests/${tag}`,
        { agent, headers: { accept: 'application/vnd.oci.image.index.v1+json' } },
        (res) => res.resume().on('end', resolve).on('error', reject),
      ).on('error', reject),
    );
    times.push(performance.now() - t0);
  }
  agent.destroy();
  return median(times);
}

async function sideBySide(proxy: FaultProxy, dir: string, fleet: Fleet): Promise<SideBySide> {
  const roundTrip = await roundTripMs(fleet.refs[0]!);
  const skopeo: number[] = [];
  const cold: number[] = [];
  const warm: number[] = [];
  const coldRatios: number[] = [];
  const warmRatios: number[] = [];
  let coldRequests = 0;
  let warmRequests = 0;
  for (let i = 0; i < PAIRS; i++) {
    // Alternating which runs first, so a burst of load on the machine does not favour one side.
    const store = join(dir, `pair-${i}.json`);
    const s = async () => (await skopeoAll(fleet.refs)).ms;
    const a = async () => archshiftCheck(fleet, dir, store, proxy);
    let sMs: number;
    let c: Awaited<ReturnType<typeof a>>;
    if (i % 2 === 0) {
      sMs = await s();
      c = await a();
    } else {
      c = await a();
      sMs = await s();
    }
    const w = await archshiftCheck(fleet, dir, store, proxy);
    skopeo.push(sMs);
    cold.push(c.ms);
    warm.push(w.ms);
    coldRatios.push(c.ms / sMs);
    warmRatios.push(w.ms / sMs);
    coldRequests = c.requests;
    warmRequests = Math.max(warmRequests, w.requests);
  }
  const coldOverSkopeo = r2(median(coldRatios));
  // skopeo inspect --raw asks twice per image: GET /v2/ and the manifest.
  const floor = (requests: number) => Math.round((requests * roundTrip) / SKOPEO_WIDTH);
  return {
    images: fleet.refs.length,
    latencyMs: LATENCY_MS,
    roundTripMs: r2(roundTrip),
    floorMs: { archshift: floor(coldRequests), skopeo: floor(2 * fleet.refs.length) },
    pairs: PAIRS,
    skopeoMs: Math.round(median(skopeo)),
    archshiftColdMs: Math.round(median(cold)),
    archshiftWarmMs: Math.round(median(warm)),
    coldOverSkopeo,
    warmOverSkopeo: r2(median(warmRatios)),
    coldRequests,
    warmRequests,
    goal: 'archshift cold / skopeo <= 0.25; warm run 0 requests',
    pass: coldOverSkopeo <= 0.25 && warmRequests === 0,
  };
}

export async function run(): Promise<RegistryBenchResult> {
  const loadBefore = load();
  const service = await serviceImages();
  console.log(
    `registry (a) 5 images, ${service.repositories} repositories, token auth: cold ${service.cold.total} requests ` +
      `(ping ${service.cold.ping}, token ${service.cold.token}, manifest ${service.cold.manifest}, blob ${service.cold.blob}; target <= ${service.targetMax}), ` +
      `warm ${service.warm} -> ${service.pass ? 'PASS' : 'FAIL'}`,
  );

  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm run bench does)`);
  ensureSkopeo();
  const dir = await mkdtemp(join(tmpdir(), 'archshift-registry-bench-'));
  const registry = await startRegistry();
  const proxy = await startFaultProxy(registry.url);
  try {
    const fleets = new Map<number, Fleet>();
    for (const n of [...new Set([SIDE_BY_SIDE, ...SCALES])]) fleets.set(n, await pushImages(registry, proxy.host, dir, n, `s${n}-team`));
    proxy.latencyMs = LATENCY_MS;

    const side = await sideBySide(proxy, dir, fleets.get(SIDE_BY_SIDE)!);
    console.log(
      `registry (b) ${side.images} images, +${LATENCY_MS} ms per request, ${side.pairs} alternating pairs: skopeo inspect --raw x${SKOPEO_WIDTH} ${side.skopeoMs} ms; ` +
        `archshift check cold ${side.archshiftColdMs} ms (${side.coldRequests} requests), warm ${side.archshiftWarmMs} ms (${side.warmRequests} requests); ` +
        `ratios cold/skopeo ${side.coldOverSkopeo}, warm/skopeo ${side.warmOverSkopeo}; goal cold <= 0.25 and warm 0 requests -> ${side.pass ? 'PASS' : 'FAIL'}`,
    );
    console.log(
      `registry (b) latency floor, 16 at a time, ${side.roundTripMs} ms a round trip alone: archshift ${side.coldRequests} requests ${side.floorMs.archshift} ms ` +
        `(cold check ${r2(side.archshiftColdMs / side.floorMs.archshift)}x it), skopeo ${2 * side.images} requests ${side.floorMs.skopeo} ms (${r2(side.skopeoMs / side.floorMs.skopeo)}x it); ` +
        `the goal of 0.25 is ${Math.round(side.skopeoMs * 0.25)} ms`,
    );

    const scale: ScalePoint[] = [];
    for (const n of SCALES) {
      const runs = await Promise.resolve().then(async () => {
        const out: Awaited<ReturnType<typeof archshiftCheck>>[] = [];
        for (let i = 0; i < PAIRS; i++) out.push(await archshiftCheck(fleets.get(n)!, dir, join(dir, `scale-${n}-${i}.json`), proxy));
        return out;
      });
      const wallMs = median(runs.map((r) => r.ms));
      const cpuMs = median(runs.map((r) => r.cpuMs));
      scale.push({
        images: n,
        wallMs: Math.round(wallMs),
        cpuMs,
        cpuMsPerImage: r2(cpuMs / n),
        wallMsPerImage: r2(wallMs / n),
        requests: runs[0]!.requests,
      });
    }
    const at = (n: number) => scale.find((p) => p.images === n);
    const growth = at(500) && at(2000) ? r2(at(2000)!.cpuMsPerImage / at(500)!.cpuMsPerImage) : undefined;
    console.log(
      `registry (c) archshift check cold, medians of ${PAIRS}: ${scale.map((p) => `${p.images} images ${p.wallMs} ms wall (${p.wallMsPerImage} ms/image), ${p.cpuMs} ms CPU (${p.cpuMsPerImage} ms/image), ${p.requests} requests`).join('; ')}` +
        (growth !== undefined ? `; CPU per image 2,000 vs 500: x${growth} (goal within 1.2) -> ${growth <= 1.2 ? 'PASS' : 'FAIL'}` : ''),
    );
    const loadAfter = load();
    console.log(
      `registry load average (1 min) ${loadBefore} before, ${loadAfter} after (2 shared cores: wall figures stretch with load; CPU figures less)`,
    );
    return {
      service,
      sideBySide: side,
      scale: { points: scale, cpuPerImageGrowth500to2000: growth, goal: 'within 1.2', pass: growth !== undefined && growth <= 1.2 },
      load: { before: loadBefore, after: loadAfter },
    };
  } finally {
    await proxy.close();
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
