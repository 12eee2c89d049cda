// The answer cache: zero requests when warm, tag TTL, digests for good, persisted in the store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registryConfigSchema } from '../../src/config/schema.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { Store } from '../../src/adapters/store.ts';
import { startFaultProxy, startRegistry, type FaultProxy, type RunningRegistry } from '../fakes/registry.ts';

describe('registry cache', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let dir: string;
  let armDigest: string;
  let amdDigest: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'archshift-cache-'));
    registry = await startRegistry();
    armDigest = await registry.pushSingle('shop/api', '1.0', { architecture: 'arm64' });
    amdDigest = await registry.pushSingle('shop/api', 'amd', { architecture: 'amd64' });
    proxy = await startFaultProxy(registry.url);
  });
  after(async () => {
    await proxy.close();
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const config = registryConfigSchema.parse({ tagTtlSeconds: 60 });

  test('a second inspect makes zero requests', async () => {
    const c = createRegistryClient({ config });
    const first = await c.inspect(`${proxy.host}/shop/api:1.0`);
    const sent = proxy.log.length;
    const second = await c.inspect(`${proxy.host}/shop/api:1.0`);
    assert.deepEqual(second, first);
    assert.equal(proxy.log.length, sent, 'nothing reached the registry');
    assert.equal(c.stats().cacheHits, 1);
  });

  test('identical lookups in flight share one request', async () => {
    const c = createRegistryClient({ config });
    const results = await Promise.all(Array.from({ length: 10 }, () => c.inspect(`${proxy.host}/shop/api:amd`)));
    assert.ok(results.every((r) => r.status === 'amd64-only'));
    assert.equal(c.stats().byKind.manifest, 1);
    assert.equal(c.stats().deduplicated, 9);
  });

  test('a tag is trusted for tagTtlSeconds, then read again; its digest content is not', async () => {
    await registry.tag('shop/api', armDigest, 'moving');
    let now = Date.now();
    const c = createRegistryClient({ config, now: () => now });
    assert.equal((await c.inspect(`${proxy.host}/shop/api:moving`)).status, 'multi-arch-with-arm64');
    await registry.tag('shop/api', amdDigest, 'moving');
    now += 59_000;
    assert.equal(
      (await c.inspect(`${proxy.host}/shop/api:moving`)).status,
      'multi-arch-with-arm64',
      'within the TTL the cached answer stands',
    );
    assert.equal(c.stats().byKind.manifest, 1);
    now += 2_000;
    const moved = await c.inspect(`${proxy.host}/shop/api:moving`);
    assert.equal(moved.status, 'amd64-only');
    assert.equal(moved.digest, amdDigest);
    assert.equal(c.stats().byKind.manifest, 2);
    await registry.tag('shop/api', armDigest, 'moving');
    now += 61_000;
    assert.equal((await c.inspect(`${proxy.host}/shop/api:moving`)).status, 'multi-arch-with-arm64');
    assert.deepEqual([c.stats().byKind.manifest, c.stats().byKind.blob], [3, 2], 'known digest: no config blob fetched again');
  });

  test('a digest is cached for good', async () => {
    let now = Date.now();
    const c = createRegistryClient({ config, now: () => now });
    await c.inspect(`${proxy.host}/shop/api@${armDigest}`);
    const requests = c.stats().requests;
    now += 10 * 365 * 24 * 3600_000;
    assert.equal((await c.inspect(`${proxy.host}/shop/api@${armDigest}`)).status, 'multi-arch-with-arm64');
    assert.equal(c.stats().requests, requests);
  });

  test('answers persist in the store file across a reopen', async () => {
    const file = join(dir, 'store.json');
    const first = createRegistryClient({ config, store: await Store.open(file) });
    assert.equal((await first.inspect(`${proxy.host}/shop/api:1.0`)).status, 'multi-arch-with-arm64');
    // The tag is one appended line in the cache's own file, next to the store file.
    const lines = (await readFile(join(dir, 'store.registry-cache.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as [string, { digest: string }]);
    assert.deepEqual(lines.find(([k]) => k === `${proxy.host}/shop/api:1.0`)?.[1].digest, armDigest);

    const sent = proxy.log.length;
    const reopened = createRegistryClient({ config, store: await Store.open(file) });
    const r = await reopened.inspect(`${proxy.host}/shop/api:1.0`);
    assert.equal(r.status, 'multi-arch-with-arm64');
    assert.equal(r.digest, armDigest);
    assert.equal(reopened.stats().requests, 0);
    assert.equal(proxy.log.length, sent);
  });

  test('failures are not cached', async () => {
    const c = createRegistryClient({ config });
    assert.equal((await c.inspect(`${proxy.host}/shop/api:nope`)).status, 'not-found');
    assert.equal((await c.inspect(`${proxy.host}/shop/api:nope`)).status, 'not-found');
    assert.equal(c.stats().byKind.manifest, 2);
  });
});
