// `archshift check <path> [--image] [--json]` on local checkouts: output and exit codes for scripts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, UsageError } from '../../src/args.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { runCheckCommand } from '../../src/cli/check.ts';
import { cliCommand } from '../../src/cli/index.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Deps } from '../../src/deps.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';
import { materialise, pushOpenImages, type Checkouts } from './service-fixtures.ts';

describe('archshift check on a local checkout', () => {
  let registry: RunningRegistry;
  let services: Checkouts;
  let deps: () => Promise<Deps>;

  before(async () => {
    registry = await startRegistry();
    await pushOpenImages(registry);
    // Port 1 on loopback refuses connections: a private registry that is down.
    services = await materialise({ open: registry.host, private: '127.0.0.1:1' });
    const config = parseConfig({});
    // A checkout needs only the registry: no catalog, Slack, GitHub or cluster.
    deps = async () => ({ config, registry: createRegistryClient({ config: config.registry, backoffMs: 1 }) }) as unknown as Deps;
  });
  after(async () => {
    await services?.cleanup();
    await registry?.stop();
  });

  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runCheckCommand(
      parseArgs(argv, cliCommand('check')!.booleanOptions),
      { out: (t) => out.push(t), err: (t) => out.push(t) },
      deps,
    );
    return { code, out: out.join('\n') };
  };

  test('exit codes follow the verdict: 0 ready, 1 needs changes or blocked, 2 unknown', async () => {
    assert.equal((await run(services.path('checkout-api'))).code, 0);
    assert.equal((await run(services.path('catalog-web'))).code, 1);
    assert.equal((await run(services.path('legacy-billing'))).code, 1);
    assert.equal((await run(services.path('payments'))).code, 2, 'the private registry is down');
  });

  test('--json is the stable report and --image names the released image', async () => {
    const { code, out } = await run(services.path('catalog-web'), '--json', '--image', `${registry.host}/shop/catalog-web:2.3.1`);
    assert.equal(code, 1);
    const json = JSON.parse(out);
    assert.equal(json.verdict, 'needs-changes');
    const bump = json.findings.find((f: { id: string }) => f.id === 'image.arm64-tag-available');
    assert.deepEqual(bump.autofix.params, { file: 'Dockerfile', line: '1', from: '14-alpine', to: '14.21-alpine' });
    assert.ok(
      json.findings.every(
        (f: { evidence: object }) => 'file' in f.evidence || 'image' in f.evidence || Object.keys(f.evidence).length === 0,
      ),
    );
  });

  test('a Dockerfile built FROM scratch alone is unknown, not ready; --image supplies the missing evidence', async () => {
    const dir = join(services.dir, 'scratch-only');
    await mkdir(dir);
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n');
    const bare = await run(dir, '--json');
    assert.equal(bare.code, 2);
    assert.equal(JSON.parse(bare.out).findings.find((f: { id: string }) => f.id === 'image.none-checked')?.severity, 'unknown');
    const named = await run(dir, '--json', '--image', `${registry.host}/shop/checkout-api:1.8.0`);
    assert.equal(named.code, 0, named.out);
    assert.ok(!JSON.parse(named.out).findings.some((f: { id: string }) => f.id === 'image.none-checked'));
  });

  test('text output names the verdict and the evidence', async () => {
    const { out } = await run(services.path('legacy-billing'));
    assert.match(out.split('\n')[0]!, /: BLOCKED - /);
    assert.match(out, /at Dockerfile:3/);
  });

  test('usage errors: no target, two targets, a path that does not exist', async () => {
    await assert.rejects(run(), UsageError);
    await assert.rejects(run('a', 'b'), UsageError);
    await assert.rejects(run('./no/such/dir'), /not a directory/);
  });
});
