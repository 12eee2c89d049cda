// Registry adapter benchmark against the real registry (docker-registry):
// (a) requests for one service's 5 images, cold and warm, behind Bearer token auth;
// (b) 500 distinct images behind a proxy adding 50 ms per request: the adapter's concurrency vs sequential.
import { pathToFileURL } from 'node:url';
import { registryConfigSchema } from '../src/config/schema.ts';
import { createRegistryClient, type RegistryStats } from '../src/adapters/registry.ts';
import { startFaultProxy, startRegistry } from '../test/fakes/registry.ts';
import { startTokenServer } from '../test/fakes/token-server.ts';

export interface RegistryBenchResult {
  service: { images: number; repositories: number; singleArch: number; cold: RegistryStats['byKind'] & { total: number }; warm: number; targetMax: number; pass: boolean };
  scale: { images: number; latencyMs: number; concurrency: number; concurrentMs: number; sequentialMs: number; speedup: number; requests: number; targetMs: number; pass: boolean };
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
    const refs = ['shop/api:2.3.1', 'shop/api:2.3.1-debug', 'shop/migrate:1.0', 'base/nginx:1.25', 'base/redis:7.2'].map((r) => `${registry.host}/${r}`);
    const client = createRegistryClient({ config: registryConfigSchema.parse({}) });
    await Promise.all(refs.map((r) => client.inspect(r)));
    const cold = client.stats();
    await Promise.all(refs.map((r) => client.inspect(r)));
    const warm = client.stats().requests - cold.requests;
    const repositories = 4;
    const singleArch = 2;
    // One manifest per reference + one config blob per single-arch image + one token per repository + one ping per host.
    const targetMax = refs.length + singleArch + repositories + 1;
    return { images: refs.length, repositories, singleArch, cold: { ...cold.byKind, total: cold.requests }, warm, targetMax, pass: cold.requests <= targetMax && warm === 0 };
  } finally {
    await registry.stop();
    await tokens.close();
  }
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function manyImages(latencyMs = 50, count = 500): Promise<RegistryBenchResult['scale']> {
  const registry = await startRegistry();
  const proxy = await startFaultProxy(registry.url);
  try {
    // 50 repositories x 10 tags: 8 multi-arch indexes (distinct digests) and 2 single-arch images each.
    const jobs: { repository: string; tag: string; single: boolean }[] = [];
    for (let r = 0; r < count / 10; r++) for (let t = 0; t < 10; t++) jobs.push({ repository: `team${r}/svc`, tag: `1.${t}.0`, single: t >= 8 });
    for (let r = 0; r < count / 10; r++) await registry.pushIndex(`team${r}/svc`, 'seed', both);
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
    const refs = jobs.map((j) => `${proxy.host}/${j.repository}:${j.tag}`);
    proxy.latencyMs = latencyMs;

    const config = registryConfigSchema.parse({});
    const concurrent = createRegistryClient({ config });
    let started = performance.now();
    const results = await Promise.all(refs.map((r) => concurrent.inspect(r)));
    const concurrentMs = performance.now() - started;
    if (results.some((r) => r.status !== 'multi-arch-with-arm64' && r.status !== 'amd64-only')) {
      throw new Error(`benchmark lookups failed: ${results.find((r) => r.reason)?.reason}`);
    }

    const sequential = createRegistryClient({ config: registryConfigSchema.parse({ concurrency: 1 }) });
    started = performance.now();
    for (const r of refs) await sequential.inspect(r);
    const sequentialMs = performance.now() - started;
    const targetMs = 3000;
    return {
      images: refs.length, latencyMs, concurrency: config.concurrency,
      concurrentMs: Math.round(concurrentMs), sequentialMs: Math.round(sequentialMs),
      speedup: Math.round((sequentialMs / concurrentMs) * 10) / 10,
      requests: concurrent.stats().requests, targetMs, pass: concurrentMs < targetMs,
    };
  } finally {
    await proxy.close();
    await registry.stop();
  }
}

export async function run(): Promise<RegistryBenchResult> {
  const service = await serviceImages();
  console.log(`registry (a) 5 images, ${service.repositories} repositories, token auth: cold ${service.cold.total} requests ` +
    `(ping ${service.cold.ping}, token ${service.cold.token}, manifest ${service.cold.manifest}, blob ${service.cold.blob}; target <= ${service.targetMax}), ` +
    `warm ${service.warm} -> ${service.pass ? 'PASS' : 'FAIL'}`);
  const scale = await manyImages();
  console.log(`registry (b) ${scale.images} images, +${scale.latencyMs} ms per request: concurrency ${scale.concurrency} ${scale.concurrentMs} ms ` +
    `(${scale.requests} requests) vs sequential ${scale.sequentialMs} ms, x${scale.speedup}; target < ${scale.targetMs} ms -> ${scale.pass ? 'PASS' : 'FAIL'}`);
  return { service, scale };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
