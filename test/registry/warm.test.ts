// A warm re-run asks the REAL registry nothing: manifests, config blobs, tag lists and the layer scans'
// results come from the store (counted at a proxy in front of docker-registry). Tag lists have their
// own TTL and are dropped when a tag they named is gone; expired entries are deleted from the store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createRegistryClient, type RegistryClient } from '../../src/adapters/registry.ts';
import { Store } from '../../src/adapters/store.ts';
import { registryConfigSchema } from '../../src/config/schema.ts';
import { verifyArm64Binaries } from '../../src/readiness/image-elf.ts';
import { scanImageLayers } from '../../src/readiness/image-scan.ts';
import { startFaultProxy, startRegistry, tarOf, type FaultProxy, type RunningRegistry, type TarFile } from '../fakes/registry.ts';
import { elf, zip } from '../fixtures/binaries.ts';

const layer = (files: TarFile[]) => ({ data: gzipSync(tarOf(files)) });
const exe = (path: string, machine: number): TarFile => ({ path, data: elf(machine), mode: 0o755 });
const amd64 = { architecture: 'amd64' };
const arm64 = { architecture: 'arm64', variant: 'v8' };
const x86Jar = zip(['META-INF/MANIFEST.MF', 'linux-x86_64/libfoo.so']);

describe('a warm re-run against the real registry', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let dir: string;
  const config = registryConfigSchema.parse({ tagTtlSeconds: 60, tagListTtlSeconds: 600 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'archshift-warm-'));
    registry = await startRegistry();
    const base = layer([exe('usr/lib/libc.so.6', 0xb7)]);
    await registry.pushIndexLayered('shop/api', '1.4.0', [
      {
        platform: amd64,
        layers: [base, layer([{ path: 'app/lib/native.jar', data: x86Jar }, exe('app/server', 0x3e)])],
        config: { Entrypoint: ['/app/server'] },
      },
      { platform: arm64, layers: [base, layer([exe('app/server', 0xb7)])], config: { Entrypoint: ['/app/server'] } },
    ]);
    await registry.pushSingle('base/runtime', '3.1.0', amd64);
    await registry.pushSingle('base/runtime', '3.1.2', amd64);
    await registry.pushIndex('base/runtime', '3.1.4', [amd64, arm64]);
    proxy = await startFaultProxy(registry.url);
  });
  after(async () => {
    await proxy.close();
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** What one `check` asks the registry: the images, the nearest arm64 tag, the layer scan and the arm64 binary check. */
  const check = async (c: RegistryClient) => ({
    image: await c.inspect(`${proxy.host}/shop/api:1.4.0`),
    base: await c.inspect(`${proxy.host}/base/runtime:3.1.0`),
    suggestion: await c.suggestArm64Image(`${proxy.host}/base/runtime:3.1.0`),
    scan: await scanImageLayers(c, `${proxy.host}/shop/api:1.4.0`),
    verify: await verifyArm64Binaries(c, `${proxy.host}/shop/api:1.4.0`),
  });

  test('the second run, in a new process on the same store file, makes 0 requests and answers the same', async () => {
    const file = join(dir, 'store.json');
    let store = await Store.open(file);
    const cold = await check(createRegistryClient({ config, store }));
    await store.close();
    assert.equal(cold.image.status, 'multi-arch-with-arm64');
    assert.equal(cold.suggestion.image, `${proxy.host}/base/runtime:3.1.4`);
    assert.deepEqual(
      cold.scan.map((f) => [f.id, f.evidence.file]),
      [['jvm.jar-x86-only', 'app/lib/native.jar']],
    );
    assert.deepEqual(
      cold.verify.map((f) => f.id),
      ['image.arm64-verified'],
    );
    const sent = proxy.log.length;

    store = await Store.open(file);
    const client = createRegistryClient({ config, store });
    const warm = await check(client);
    await store.close();
    assert.deepEqual(
      proxy.log.slice(sent).map((r) => `${r.method} ${r.path}`),
      [],
    );
    assert.deepEqual(warm, cold);
    assert.equal(client.stats().requests, 0);
  });

  test('layers shared by two images are read once: the scan result is kept by layer digest', async () => {
    const shared = layer([{ path: 'opt/vendor/native.jar', data: x86Jar }]);
    await registry.pushLayered('shop/one', '1', [shared, layer([{ path: 'etc/one', data: '1' }])]);
    await registry.pushLayered('shop/two', '1', [shared, layer([{ path: 'etc/two', data: '2' }])]);
    const c = createRegistryClient({ config });
    const sent = proxy.log.length;
    const one = await scanImageLayers(c, `${proxy.host}/shop/one:1`);
    const two = await scanImageLayers(c, `${proxy.host}/shop/two:1`);
    assert.deepEqual(
      [one, two].map((fs) => fs.map((f) => f.evidence.file)),
      [['opt/vendor/native.jar'], ['opt/vendor/native.jar']],
    );
    const sharedDigest = `sha256:${createHash('sha256').update(shared.data).digest('hex')}`;
    assert.equal(
      proxy.log.slice(sent).filter((r) => r.path.endsWith(`/blobs/${sharedDigest}`)).length,
      1,
      'the shared layer is downloaded once',
    );
  });

  test('a tag list is kept for tagListTtlSeconds, then listed again', async () => {
    let now = Date.now();
    const c = createRegistryClient({ config, now: () => now });
    const lists = () => c.stats().byKind.tags;
    await c.listTags(`${proxy.host}/base/runtime:3.1.0`);
    await c.listTags(`${proxy.host}/base/runtime:3.1.0`);
    now += 599_000;
    await c.listTags(`${proxy.host}/base/runtime:3.1.0`);
    assert.equal(lists(), 1);
    now += 2_000;
    await c.listTags(`${proxy.host}/base/runtime:3.1.0`);
    assert.equal(lists(), 2);
  });

  test('two amd64-only tags of one repository asking for its tag list at once share one listing', async () => {
    const c = createRegistryClient({ config });
    const [a, b] = await Promise.all([
      c.suggestArm64Image(`${proxy.host}/base/runtime:3.1.0`),
      c.suggestArm64Image(`${proxy.host}/base/runtime:3.1.2`),
    ]);
    assert.deepEqual([a.image, b.image], [`${proxy.host}/base/runtime:3.1.4`, `${proxy.host}/base/runtime:3.1.4`]);
    assert.equal(c.stats().byKind.tags, 1);
  });

  test('a tag found missing drops the tag list that named it', async () => {
    const c = createRegistryClient({ config });
    await c.listTags(`${proxy.host}/base/runtime:3.1.0`);
    proxy.rules.push({ match: /^GET \/v2\/base\/runtime\/manifests\/3\.1\.2$/, status: 404, times: 1 });
    assert.equal((await c.inspect(`${proxy.host}/base/runtime:3.1.2`)).status, 'not-found');
    await c.listTags(`${proxy.host}/base/runtime:3.1.0`);
    assert.equal(c.stats().byKind.tags, 2);
  });

  test('expired tags and tag lists are deleted from the store when a client starts; digests stay', async () => {
    const file = join(dir, 'prune.json');
    let now = Date.now();
    let store = await Store.open(file);
    const c = createRegistryClient({ config, store, now: () => now });
    await c.inspect(`${proxy.host}/base/runtime:3.1.0`);
    await c.listTags(`${proxy.host}/base/runtime:3.1.0`);
    const keys = () =>
      [
        ...new Set(
          (store as unknown as { tableEntries(n: string): [string][] })
            .tableEntries('registry-cache')
            .map(([k]) => k.replace(/sha256:\w+/, 'sha256:…')),
        ),
      ].sort();
    assert.deepEqual(keys(), [
      `${proxy.host}/base/runtime:3.1.0`,
      `${proxy.host}/base/runtime@sha256:…`,
      `tags ${proxy.host}/base/runtime`,
    ]);
    await store.close();
    now += 3600_000;
    store = await Store.open(file);
    createRegistryClient({ config, store, now: () => now }); // starting is enough
    await store.close();
    store = await Store.open(file);
    assert.deepEqual(keys(), [`${proxy.host}/base/runtime@sha256:…`]);
    const journal = await readFile(join(dir, 'prune.registry-cache.jsonl'), 'utf8');
    assert.ok(journal.trim().split('\n').length <= 4, 'the deletions are lines; a file mostly of dead lines is rewritten at open');
    await store.close();
  });
});
