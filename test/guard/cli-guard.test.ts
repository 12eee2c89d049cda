// `archshift guard --base <dir> --head <dir>`: two local checkouts, images on the real registry. A change
// is blamed only for what it introduces (by id + file + package/image, not line), and fails only for a
// service already on arm64.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, UsageError } from '../../src/args.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { runGuardCommand } from '../../src/cli/guard.ts';
import { cliCommand } from '../../src/cli/index.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Deps } from '../../src/deps.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';
import { deploymentYaml } from './harness.ts';

describe('archshift guard on two checkouts', () => {
  let registry: RunningRegistry;
  let dir: string;
  let deps: () => Promise<Deps>;

  before(async () => {
    registry = await startRegistry();
    await registry.pushIndex('library/alpine', '3.19', [{ architecture: 'amd64' }, { architecture: 'arm64', variant: 'v8' }]);
    await registry.pushSingle('library/alpine', '3.8', { architecture: 'amd64' });
    await registry.pushSingle('library/alpine', '3.9', { architecture: 'amd64' });
    await registry.pushIndex('shop/api', '1.0.0', [{ architecture: 'amd64' }, { architecture: 'arm64', variant: 'v8' }]);
    dir = await mkdtemp(join(tmpdir(), 'archshift-guard-'));
    const config = parseConfig({});
    deps = async () => ({ config, registry: createRegistryClient({ config: config.registry, backoffMs: 1 }) }) as unknown as Deps;
  });
  after(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A checkout named `name` holding a Dockerfile and the Deployment. */
  const checkout = async (name: string, dockerfile: string, onArm64: boolean) => {
    const root = join(dir, name);
    await mkdir(join(root, 'k8s'), { recursive: true });
    await writeFile(join(root, 'Dockerfile'), dockerfile);
    await writeFile(join(root, 'k8s', 'deployment.yaml'), deploymentYaml(`${registry.host}/shop/api:1.0.0`, onArm64));
    await writeFile(join(root, 'pipeline.yml'), 'steps:\n  docker-build:\n    mustBuildARM64: true\n');
    return root;
  };
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runGuardCommand(
      parseArgs(argv, cliCommand('guard')!.booleanOptions),
      { out: (t) => out.push(t), err: (t) => out.push(t) },
      deps,
    );
    return { code, out: out.join('\n') };
  };

  test('a base-image bump to a tag without arm64 fails for a service on arm64, and --json lists what it introduces', async () => {
    const base = await checkout('moved-base', `FROM ${registry.host}/library/alpine:3.19\nCOPY app /app\n`, true);
    const head = await checkout('moved-head', `FROM ${registry.host}/library/alpine:3.8\nCOPY app /app\n`, true);
    const { code, out } = await run('--base', base, '--head', head, '--json');
    assert.equal(code, 1, out);
    const json = JSON.parse(out);
    assert.equal(json.conclusion, 'failure');
    assert.deepEqual(json.moved, [{ kind: 'manifest-selects-arm64', file: 'k8s/deployment.yaml' }]);
    assert.deepEqual(
      json.introduced.map((f: { id: string; evidence: { file: string; line: number } }) => [f.id, f.evidence.file, f.evidence.line]),
      [['image.arm64-tag-available', 'Dockerfile', 1]],
    );
    assert.equal(json.fixed.length, 0, 'the base image had arm64: nothing was broken before');
    const text = await run('--base', base, '--head', head);
    assert.match(text.out, /FAILURE - this change breaks arm64/);
  });

  test('a change that only moves lines, or bumps an image that already lacked arm64, introduces nothing (exit 0)', async () => {
    const base = await checkout('same-base', `FROM ${registry.host}/library/alpine:3.8\nCOPY app /app\n`, true);
    const head = await checkout(
      'same-head',
      `# syntax=docker/dockerfile:1\n# a comment pushes the line down\nFROM ${registry.host}/library/alpine:3.9\nCOPY app /app\n`,
      true,
    );
    const { code, out } = await run('--base', base, '--head', head, '--json');
    assert.equal(code, 0, out);
    const json = JSON.parse(out);
    assert.equal(json.conclusion, 'success');
    assert.deepEqual(json.introduced, []);
    assert.ok(
      json.unchanged.some((f: { id: string; evidence: { line: number } }) => f.id === 'image.arm64-tag-available' && f.evidence.line === 3),
      'summarised, with its new line',
    );
  });

  test('the same break for a service not on arm64 yet is reported but does not fail (neutral, exit 0)', async () => {
    const base = await checkout('amd-base', `FROM ${registry.host}/library/alpine:3.19\n`, false);
    const head = await checkout('amd-head', `FROM ${registry.host}/library/alpine:3.8\n`, false);
    const { code, out } = await run('--base', base, '--head', head);
    assert.equal(code, 0);
    assert.match(out, /NEUTRAL - the service is not on arm64 yet/);
    assert.match(out, /Introduced by this change \(1\)/);
  });

  test('a second stage on an image without arm64, next to one that already had the problem, is introduced', async () => {
    const base = await checkout(
      'two-base',
      `FROM ${registry.host}/library/alpine:3.8 AS build\nFROM ${registry.host}/library/alpine:3.19\nCOPY --from=build /a /a\n`,
      true,
    );
    const head = await checkout(
      'two-head',
      `FROM ${registry.host}/library/alpine:3.8 AS build\nFROM ${registry.host}/library/alpine:3.9\nCOPY --from=build /a /a\n`,
      true,
    );
    const json = JSON.parse((await run('--base', base, '--head', head, '--json')).out);
    assert.deepEqual(
      json.introduced.map((f: { id: string; evidence: { line: number } }) => [f.id, f.evidence.line]),
      [['image.arm64-tag-available', 2]],
    );
    assert.equal(json.conclusion, 'failure');
  });

  test('fixed findings are listed as fixed', async () => {
    const base = await checkout('fix-base', `FROM ${registry.host}/library/alpine:3.8\n`, true);
    const head = join(dir, 'fix-head');
    await cp(base, head, { recursive: true });
    await writeFile(join(head, 'Dockerfile'), `FROM ${registry.host}/library/alpine:3.19\n`);
    const json = JSON.parse((await run('--base', base, '--head', head, '--json')).out);
    assert.deepEqual(
      json.fixed.map((f: { id: string }) => f.id),
      ['image.arm64-tag-available'],
    );
    assert.equal(json.conclusion, 'success');
  });

  test('usage: both checkouts must be given and exist', async () => {
    await assert.rejects(run('--base', dir), UsageError);
    await assert.rejects(run('--base', dir, '--head', join(dir, 'missing')), /is not a directory/);
  });
});
