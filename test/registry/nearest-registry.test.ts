// nearestArm64Tag and suggestArm64Image against the real registry: paged tag lists, ranking, verification.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { registryConfigSchema } from '../../src/config/schema.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { startFaultProxy, startRegistry, type FaultProxy, type RunningRegistry } from '../fakes/registry.ts';

const amd = [{ architecture: 'amd64' }];
const both = [{ architecture: 'amd64' }, { architecture: 'arm64' }];

describe('nearest arm64 tag', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  const many: string[] = [];
  before(async () => {
    registry = await startRegistry();
    await registry.pushSingle('lib/app', '1.2.3', { architecture: 'amd64' });
    await registry.pushIndex('lib/app', '1.2.4', amd);
    await registry.pushIndex('lib/app', '1.2.5', amd, { format: 'docker' });
    await registry.pushIndex('lib/app', '1.2.6', both);
    await registry.pushIndex('lib/app', '1.3.0', both);
    await registry.pushIndex('lib/app', '2.0.0', both);
    await registry.pushIndex('lib/app', '1.2.3-alpine', amd);
    await registry.pushIndex('lib/app', '1.2.4-alpine', amd);
    await registry.pushSingle('lib/app', '1.2.7-alpine', { architecture: 'arm64', variant: 'v8' });
    await registry.pushIndex('lib/app', '1.2.8-slim-bookworm', both);
    await registry.pushIndex('lib/app', 'latest', amd);
    await registry.pushIndex('lib/old', '1.0', amd);
    await registry.pushIndex('lib/old', '1.1', amd);
    const digest = await registry.pushIndex('lib/many', '0.1.0', amd);
    for (let i = 1; i <= 23; i++) {
      many.push(`0.1.${i}`);
      await registry.tag('lib/many', digest, `0.1.${i}`);
    }
    proxy = await startFaultProxy(registry.url);
    proxy.pageTags = true;
  });
  after(async () => {
    await proxy.close();
    await registry.stop();
  });

  const client = (extra: object = {}) => createRegistryClient({ config: registryConfigSchema.parse({}), ...extra });

  test('picks the closest newer tag that really publishes linux/arm64', async () => {
    const c = client();
    assert.equal(await c.nearestArm64Tag(`${registry.host}/lib/app:1.2.3`), '1.2.6');
    // 1.2.4, 1.2.5 (amd64 only) and 1.2.6 were inspected, nothing further.
    assert.equal(c.stats().byKind.manifest, 3);
  });

  test('keeps the flavour suffix', async () => {
    assert.equal(await client().nearestArm64Tag(`${registry.host}/lib/app:1.2.3-alpine`), '1.2.7-alpine');
  });

  test('the number of candidates is bounded', async () => {
    const c = client({ maxCandidates: 2 });
    assert.equal(await c.nearestArm64Tag(`${registry.host}/lib/app:1.2.3`), undefined);
    assert.equal(c.stats().byKind.manifest, 2);
  });

  test('tag lists are followed across pages (?n= and Link)', async () => {
    const c = client({ tagPageSize: 5 });
    const tags = await c.listTags(`${proxy.host}/lib/many:0.1.0`);
    assert.deepEqual([...tags].sort(), ['0.1.0', ...many].sort());
    assert.equal(c.stats().byKind.tags, 5);
    assert.deepEqual(
      proxy.log.filter((r) => r.path.includes('/tags/list')).map((r) => r.path),
      [
        '/v2/lib/many/tags/list?n=5',
        '/v2/lib/many/tags/list?n=5&last=0.1.12',
        '/v2/lib/many/tags/list?n=5&last=0.1.17',
        '/v2/lib/many/tags/list?n=5&last=0.1.21',
        '/v2/lib/many/tags/list?n=5&last=0.1.5',
      ],
    );
  });

  test('suggestion: a verified tag bump a PR can apply, written like the input', async () => {
    const s = await client().suggestArm64Image(`${registry.host}/lib/app:1.2.3`);
    assert.deepEqual(s, {
      kind: 'tag-bump',
      image: `${registry.host}/lib/app:1.2.6`,
      prApplicable: true,
      reason: `${registry.host}/lib/app:1.2.6 publishes linux/arm64`,
    });
  });

  test('suggestion: nothing found is not applicable and says why', async () => {
    const none = await client().suggestArm64Image(`${registry.host}/lib/old:1.0`);
    assert.equal(none.kind, 'none');
    assert.equal(none.prApplicable, false);
    assert.equal(none.image, undefined);
    assert.match(none.reason, /none of the 1 closest tags \(1\.1\) publishes linux\/arm64/);
    const latest = await client().suggestArm64Image(`${registry.host}/lib/app:latest`);
    assert.equal(latest.kind, 'none');
    assert.match(latest.reason, /"latest" is not a version/);
    const missing = await client().suggestArm64Image(`${registry.host}/lib/missing:1.0`);
    assert.equal(missing.kind, 'none');
    assert.match(missing.reason, /could not list tags .*does not exist/);
  });

  test('suggestion: a replaced image comes from the table without asking any registry', async () => {
    const c = client();
    const s = await c.suggestArm64Image('openjdk:11');
    assert.equal(s.kind, 'replacement');
    assert.equal(s.image, 'eclipse-temurin:11-jdk');
    assert.equal(s.prApplicable, true);
    assert.match(s.reason, /openjdk:11 was replaced: .*https:\/\/github\.com\/docker-library\/openjdk\/issues\/505/);
    const unmapped = await c.suggestArm64Image('openjdk:windowsservercore');
    assert.equal(unmapped.prApplicable, false);
    assert.match(unmapped.reason, /pick the successor's tag by hand/);
    assert.equal(c.stats().requests, 0);
  });
});
