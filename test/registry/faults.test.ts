// Retries, Retry-After and timeouts, with faults injected by a loopback proxy in front of the real registry.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { registryConfigSchema } from '../../src/config/schema.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { startFaultProxy, startRegistry, type FaultProxy, type RunningRegistry } from '../fakes/registry.ts';

describe('faults between the adapter and the registry', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  before(async () => {
    registry = await startRegistry();
    await registry.pushIndex('shop/api', '1.0', [{ architecture: 'amd64' }, { architecture: 'arm64' }]);
    proxy = await startFaultProxy(registry.url);
  });
  after(async () => {
    await proxy.close();
    await registry.stop();
  });
  beforeEach(() => {
    proxy.rules.length = 0;
    proxy.log.length = 0;
  });

  const manifests = /^GET \/v2\/shop\/api\/manifests\//;
  const client = (extra: object = {}) =>
    createRegistryClient({ config: registryConfigSchema.parse({ retries: 2, ...extra }), backoffMs: 20 });
  const manifestCalls = () => proxy.log.filter((r) => manifests.test(`${r.method} ${r.path}`));

  test('429 with Retry-After: waits as asked, then succeeds', async () => {
    proxy.rules.push({ match: manifests, status: 429, retryAfter: '1', times: 1 });
    const c = client();
    const r = await c.inspect(`${proxy.host}/shop/api:1.0`);
    assert.equal(r.status, 'multi-arch-with-arm64');
    const calls = manifestCalls();
    assert.deepEqual(
      calls.map((x) => x.status),
      [429, 200],
    );
    assert.ok(calls[1]!.at - calls[0]!.at >= 950, `retried after ${calls[1]!.at - calls[0]!.at} ms, Retry-After was 1 s`);
    assert.equal(c.stats().retries, 1);
  });

  test('a Retry-After beyond the limit fails at once and says how long to wait', async () => {
    proxy.rules.push({ match: manifests, status: 429, retryAfter: '120' });
    const r = await client().inspect(`${proxy.host}/shop/api:1.0`);
    assert.equal(r.status, 'error');
    assert.match(r.reason!, /rate-limited .*HTTP 429.* after 1 attempts; it asks to wait 120 s/);
    assert.equal(manifestCalls().length, 1);
  });

  test('500 on every attempt: error after the configured retries', async () => {
    proxy.rules.push({ match: manifests, status: 500 });
    const r = await client({ retries: 2 }).inspect(`${proxy.host}/shop/api:1.0`);
    assert.equal(r.status, 'error');
    assert.match(r.reason!, /failed with HTTP 500 .* after 3 attempts; try again later/);
    assert.deepEqual(
      manifestCalls().map((x) => x.status),
      [500, 500, 500],
    );
  });

  test('503 once, then success', async () => {
    proxy.rules.push({ match: manifests, status: 503, times: 1 });
    assert.equal((await client().inspect(`${proxy.host}/shop/api:1.0`)).status, 'multi-arch-with-arm64');
    assert.deepEqual(
      manifestCalls().map((x) => x.status),
      [503, 200],
    );
  });

  test('a registry that never answers: timeout error per attempt', async () => {
    proxy.rules.push({ match: manifests, hang: true });
    const started = Date.now();
    const r = await client({ timeoutMs: 300, retries: 1 }).inspect(`${proxy.host}/shop/api:1.0`);
    assert.equal(r.status, 'error');
    assert.equal(r.reason, `no answer from ${proxy.host} within 300 ms (2 attempts)`);
    assert.equal(manifestCalls().length, 2);
    assert.ok(Date.now() - started < 3000);
  });
});
