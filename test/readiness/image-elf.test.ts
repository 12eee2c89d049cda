// Is the linux/arm64 entry really arm64? Images on the REAL registry: a mislabelled one (its arm64 layer
// holds an x86-64 ELF), an honest one, links, scripts, shells and shared objects, and the bounds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createRegistryClient, type RegistryClient } from '../../src/adapters/registry.ts';
import { parseConfig } from '../../src/config/load.ts';
import { checkPath, defaultCheckSettings } from '../../src/readiness/check.ts';
import { verifyArm64Binaries } from '../../src/readiness/image-elf.ts';
import type { Finding } from '../../src/readiness/report.ts';
import { startFaultProxy, startRegistry, tarOf, type RunningRegistry, type TarFile } from '../fakes/registry.ts';
import { elf } from '../fixtures/binaries.ts';

const X86_64 = 0x3e;
const AARCH64 = 0xb7;
const layer = (files: TarFile[]) => ({ data: gzipSync(tarOf(files)) });
const exe = (path: string, machine: number): TarFile => ({ path, data: elf(machine), mode: 0o755 });
const amd64 = { architecture: 'amd64' };
const arm64 = { architecture: 'arm64', variant: 'v8' };
const brief = (fs: Finding[]) => fs.map((f) => [f.id, f.severity, f.evidence.excerpt?.split(':')[0]]);

describe('verifyArm64Binaries against the real registry', () => {
  let registry: RunningRegistry;
  let client: RegistryClient;

  before(async () => {
    registry = await startRegistry();
    client = createRegistryClient({ config: parseConfig({}).registry, backoffMs: 1 });
  });
  after(() => registry?.stop());

  test('a mislabelled image: the arm64 entry starts an x86-64 binary, a blocker naming the file', async () => {
    await registry.pushIndexLayered('shop/api', 'bad', [
      { platform: amd64, layers: [layer([exe('app/server', X86_64)])], config: { Entrypoint: ['/app/server'] } },
      { platform: arm64, layers: [layer([exe('app/server', X86_64)])], config: { Entrypoint: ['/app/server'] } },
    ]);
    const ref = `${registry.host}/shop/api:bad`;
    const findings = await verifyArm64Binaries(client, ref);
    assert.deepEqual(brief(findings), [['image.arm64-mislabelled', 'blocker', '/app/server']]);
    assert.match(findings[0]!.title, /linux\/arm64 variant of .* holds an x86-64 binary, \/app\/server/);
    assert.equal(findings[0]!.evidence.image, ref);
  });

  test('an honest image: info, and the lower layers are not read once the program is found', async () => {
    const big = { data: gzipSync(Buffer.alloc(4 * 1024 * 1024, 1)) }; // not even a tar: never opened
    await registry.pushIndexLayered('shop/api', 'good', [
      { platform: amd64, layers: [layer([exe('app/server', X86_64)])], config: { Entrypoint: ['/app/server'] } },
      {
        platform: arm64,
        layers: [big, layer([exe('app/server', AARCH64), { path: 'usr/lib/libfoo.so.1', data: elf(AARCH64) }])],
        config: { Entrypoint: ['/app/server'] },
      },
    ]);
    const proxy = await startFaultProxy(registry.url);
    try {
      const viaProxy = createRegistryClient({ config: parseConfig({}).registry, backoffMs: 1 });
      const findings = await verifyArm64Binaries(viaProxy, `${proxy.host}/shop/api:good`);
      assert.deepEqual(brief(findings), [['image.arm64-verified', 'info', undefined]]);
      assert.match(findings[0]!.title, /\/app\/server; 1 shared object read, 1 of 2 layers/);
      assert.equal(proxy.log.filter((r) => r.path.includes('/blobs/')).length, 2, 'the config and the top layer only');
    } finally {
      await proxy.close();
    }
  });

  test('through PATH, a symlink in a lower layer, a shell -c command and a script interpreter', async () => {
    await registry.pushIndexLayered('shop/tools', '1', [
      {
        platform: arm64,
        layers: [
          layer([exe('usr/bin/python3.12', X86_64)]),
          layer([
            { path: 'usr/bin/python3', type: '2', link: 'python3.12' },
            { path: 'app/run.py', data: '#!/usr/bin/env python3\nprint(1)\n', mode: 0o755 },
          ]),
        ],
        config: { Entrypoint: ['/bin/sh', '-c', 'exec /app/run.py --serve'], Env: ['PATH=/usr/local/bin:/usr/bin:/bin'] },
      },
    ]);
    const findings = await verifyArm64Binaries(client, `${registry.host}/shop/tools:1`);
    assert.deepEqual(brief(findings), [['image.arm64-mislabelled', 'blocker', '/usr/bin/python3.12']]);
  });

  test('x86-64 shared objects under lib paths are named too; whiteouts hide what a lower layer had', async () => {
    await registry.pushIndexLayered('shop/libs', '1', [
      {
        platform: arm64,
        layers: [
          layer([{ path: 'usr/lib/libold.so', data: elf(X86_64) }]),
          layer([
            exe('srv', AARCH64),
            { path: 'usr/lib/x86_64-linux-gnu/libcrypto.so.3', data: elf(X86_64) },
            { path: 'usr/lib/.wh.libold.so' },
          ]),
        ],
        config: { Cmd: ['/srv'] },
      },
    ]);
    const findings = await verifyArm64Binaries(client, `${registry.host}/shop/libs:1`);
    assert.deepEqual(brief(findings), [['image.arm64-mislabelled', 'blocker', '/usr/lib/x86_64-linux-gnu/libcrypto.so.3']]);
  });

  test('readiness.verifyBaseImages: a runtime base image whose arm64 entry is mislabelled blocks the check', async () => {
    await registry.pushIndexLayered('library/runtime', '1', [
      { platform: amd64, layers: [layer([exe('bin/sh', X86_64)])], config: { Cmd: ['/bin/sh'] } },
      { platform: arm64, layers: [layer([exe('bin/sh', X86_64)])], config: { Cmd: ['/bin/sh'] } },
    ]);
    const dir = await mkdtemp(join(tmpdir(), 'archshift-elf-'));
    try {
      await writeFile(join(dir, 'Dockerfile'), `FROM ${registry.host}/library/runtime:1\nCOPY app /app\n`);
      const on = await checkPath(dir, { inspector: client, settings: { ...defaultCheckSettings, verifyBaseImages: true } });
      assert.deepEqual(
        on.findings.filter((f) => f.id.startsWith('image.arm64-')).map((f) => [f.id, f.evidence.image]),
        [['image.arm64-mislabelled', `${registry.host}/library/runtime:1`]],
      );
      assert.equal(on.verdict, 'blocked');
      const off = await checkPath(dir, { inspector: client, settings: defaultCheckSettings });
      assert.ok(!off.findings.some((f) => f.id === 'image.arm64-mislabelled'), 'off by default: base images are not downloaded');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("bounded: past the byte cap it is unknown with the reason; no arm64 entry is not this check's finding", async () => {
    await registry.pushIndexLayered('shop/huge', '1', [
      {
        platform: arm64,
        layers: [
          layer([exe('a', AARCH64), { path: 'pad', data: Buffer.from(Array.from({ length: 300_000 }, () => Math.random() * 256)) }]),
        ],
        config: { Entrypoint: ['/missing'] },
      },
    ]);
    const capped = await verifyArm64Binaries(client, `${registry.host}/shop/huge:1`, { maxTotalBytes: 64 * 1024, maxListed: 10 });
    assert.deepEqual(brief(capped), [['image.arm64-unverified', 'unknown', undefined]]);
    assert.match(capped[0]!.title, /more than 0.1 MiB of layers/);
    const notFound = await verifyArm64Binaries(client, `${registry.host}/shop/huge:1`);
    assert.deepEqual(brief(notFound), [['image.arm64-unverified', 'warning', undefined]]);
    assert.match(notFound[0]!.title, /\/missing\) was not found/);
    await registry.pushIndex('shop/amd', '1', [amd64]);
    assert.deepEqual(await verifyArm64Binaries(client, `${registry.host}/shop/amd:1`), []);
  });
});
