// Inspecting every kind of image against the real registry (docker-registry) over real HTTP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { registryConfigSchema } from '../../src/config/schema.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { freePort } from '../fakes/net.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';

describe('inspect against the real registry', () => {
  let registry: RunningRegistry;
  const digests: Record<string, string> = {};
  before(async () => {
    registry = await startRegistry();
    digests.oci = await registry.pushIndex('shop/api', '1.0', [{ architecture: 'amd64' }, { architecture: 'arm64', variant: 'v8' }]);
    digests.list = await registry.pushIndex(
      'shop/worker',
      '2.1',
      [{ architecture: 'amd64' }, { architecture: 'arm', variant: 'v7' }, { architecture: 'arm64' }],
      { format: 'docker' },
    );
    digests.amd64List = await registry.pushIndex('shop/legacy', '0.9', [{ architecture: 'amd64' }, { architecture: 's390x' }], {
      format: 'docker',
    });
    digests.singleArm = await registry.pushSingle('shop/tool', 'arm', { architecture: 'arm64', variant: 'v8' });
    digests.singleAmd = await registry.pushSingle('shop/tool', 'amd', { architecture: 'amd64' }, { format: 'docker' });
    digests.attested = await registry.pushIndex('shop/attested', '3', [{ architecture: 'amd64' }], { attestations: true });
    digests.attestedArm = await registry.pushIndex('shop/attested', '4', [{ architecture: 'amd64' }, { architecture: 'arm64' }], {
      attestations: true,
    });
  });
  after(() => registry.stop());

  const client = () => createRegistryClient({ config: registryConfigSchema.parse({}) });

  test('OCI index with linux/arm64 (variant kept)', async () => {
    const r = await client().inspect(`${registry.host}/shop/api:1.0`);
    assert.equal(r.status, 'multi-arch-with-arm64');
    assert.equal(r.digest, digests.oci);
    assert.equal(r.normalized, `${registry.host}/shop/api:1.0`);
    assert.deepEqual(r.platforms, [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]);
  });

  test('Docker manifest list with arm64 among others', async () => {
    const r = await client().inspect(`${registry.host}/shop/worker:2.1`);
    assert.equal(r.status, 'multi-arch-with-arm64');
    assert.deepEqual(
      r.platforms.map((p) => `${p.architecture}${p.variant ?? ''}`),
      ['amd64', 'armv7', 'arm64'],
    );
  });

  test('manifest list without arm64 is amd64-only', async () => {
    const r = await client().inspect(`${registry.host}/shop/legacy:0.9`);
    assert.equal(r.status, 'amd64-only');
    assert.equal(r.platforms.length, 2);
  });

  test('single-arch images are judged by their config blob', async () => {
    const c = client();
    const arm = await c.inspect(`${registry.host}/shop/tool:arm`);
    assert.equal(arm.status, 'multi-arch-with-arm64');
    assert.deepEqual(arm.platforms, [{ os: 'linux', architecture: 'arm64', variant: 'v8' }]);
    const amd = await c.inspect(`${registry.host}/shop/tool:amd`);
    assert.equal(amd.status, 'amd64-only');
    assert.deepEqual(amd.platforms, [{ os: 'linux', architecture: 'amd64' }]);
    assert.equal(c.stats().byKind.blob, 2, 'one config blob per single-arch image');
  });

  test('attestation entries (unknown/unknown) are ignored', async () => {
    const c = client();
    const only = await c.inspect(`${registry.host}/shop/attested:3`);
    assert.equal(only.status, 'amd64-only');
    assert.deepEqual(only.platforms, [{ os: 'linux', architecture: 'amd64' }]);
    const withArm = await c.inspect(`${registry.host}/shop/attested:4`);
    assert.equal(withArm.status, 'multi-arch-with-arm64');
    assert.deepEqual(
      withArm.platforms.map((p) => p.architecture),
      ['amd64', 'arm64'],
    );
  });

  test('by digest, and tag@digest', async () => {
    const c = client();
    const byDigest = await c.inspect(`${registry.host}/shop/api@${digests.oci}`);
    assert.equal(byDigest.status, 'multi-arch-with-arm64');
    assert.equal(byDigest.digest, digests.oci);
    const both = await c.inspect(`${registry.host}/shop/legacy:0.9@${digests.amd64List}`);
    assert.equal(both.status, 'amd64-only');
  });

  test('missing tag, missing repository and missing digest are not-found with a reason', async () => {
    const c = client();
    const tag = await c.inspect(`${registry.host}/shop/api:9.9`);
    assert.equal(tag.status, 'not-found');
    assert.match(tag.reason!, /shop\/api:9\.9 was not found .*MANIFEST_UNKNOWN.*check the tag/);
    const repo = await c.inspect(`${registry.host}/shop/nothing:1`);
    assert.equal(repo.status, 'not-found');
    assert.match(repo.reason!, /does not exist|not found/);
    const digest = await c.inspect(`${registry.host}/shop/api@sha256:${'0'.repeat(64)}`);
    assert.equal(digest.status, 'not-found');
    assert.deepEqual(digest.platforms, []);
  });

  test('a malformed reference is an error that names the problem, with no request', async () => {
    const c = client();
    const r = await c.inspect('${BASE}:1');
    assert.equal(r.status, 'error');
    assert.match(r.reason!, /unresolved variable/);
    assert.equal(c.stats().requests, 0);
  });

  test('an unreachable registry is an error, not a verdict', async () => {
    const c = createRegistryClient({ config: registryConfigSchema.parse({ retries: 1 }), backoffMs: 1 });
    const port = await freePort(); // nothing listens there
    const r = await c.inspect(`127.0.0.1:${port}/shop/api:1.0`);
    assert.equal(r.status, 'error');
    assert.equal(r.reason, `cannot reach 127.0.0.1:${port}: ECONNREFUSED (2 attempts)`);
  });

  test('cold requests: one ping per host, one manifest per reference, one blob per single-arch image', async () => {
    const c = client();
    const refs = ['shop/api:1.0', 'shop/worker:2.1', 'shop/tool:arm', 'shop/tool:amd', 'shop/legacy:0.9'].map(
      (r) => `${registry.host}/${r}`,
    );
    const results = await Promise.all(refs.map((r) => c.inspect(r)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['multi-arch-with-arm64', 'multi-arch-with-arm64', 'multi-arch-with-arm64', 'amd64-only', 'amd64-only'],
    );
    const s = c.stats();
    assert.deepEqual(s.byKind, { ping: 1, token: 0, manifest: 5, blob: 2, tags: 0 });
    assert.equal(s.requests, 8);
  });
});
