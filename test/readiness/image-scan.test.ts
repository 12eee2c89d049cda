// The service image's layers, streamed from the REAL registry: jars bundling x86-64-only native code
// are found inside them; whiteouts, corrupt and zstd layers, refused blobs and limits are reported.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseArgs } from '../../src/args.ts';
import { createRegistryClient, type RegistryClient } from '../../src/adapters/registry.ts';
import { runCheckCommand } from '../../src/cli/check.ts';
import { cliCommand } from '../../src/cli/index.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Deps } from '../../src/deps.ts';
import { scanImageLayers } from '../../src/readiness/image-scan.ts';
import type { Finding } from '../../src/readiness/report.ts';
import { startFaultProxy, startRegistry, tarOf, type FaultProxy, type RunningRegistry, type TarFile } from '../fakes/registry.ts';
import { elf, zip } from '../fixtures/binaries.ts';

const layer = (files: TarFile[]) => ({ data: gzipSync(tarOf(files)) });
const x86Jar = zip(['META-INF/MANIFEST.MF', 'linux-x86_64/libfoo.so', 'com/acme/Foo.class']);
const ids = (findings: Finding[]) => findings.map((f) => f.id);
const digestOf = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

describe('scanImageLayers against the real registry', () => {
  let registry: RunningRegistry;
  let client: RegistryClient;
  const config = parseConfig({});

  before(async () => {
    registry = await startRegistry();
    client = createRegistryClient({ config: config.registry, backoffMs: 1 });
  });
  after(async () => {
    await registry?.stop();
  });

  test('a jar holding only an x86-64 .so is a blocker with the image and its path there; GNU long names and pax paths are read', async () => {
    const deep = `opt/${'very-long-directory-name/'.repeat(5)}`;
    await registry.pushLayered('shop/api', '1', [
      layer([
        { path: 'app', type: '5' },
        { path: 'app/lib/native.jar', data: x86Jar },
        { path: 'app/lib/plain.jar', data: zip(['com/acme/A.class']) },
      ]),
      layer([
        { path: `${deep}gnu.jar`, data: x86Jar },
        { path: `${deep}pax.jar`, data: x86Jar, longName: 'pax' },
      ]),
    ]);
    const ref = `${registry.host}/shop/api:1`;
    const findings = await scanImageLayers(client, ref);
    const jars = findings.filter((f) => f.id === 'jvm.jar-x86-only');
    assert.deepEqual(
      jars.map((f) => f.evidence).sort((a, b) => a.file!.localeCompare(b.file!)),
      [
        { file: 'app/lib/native.jar', image: ref },
        { file: `${deep}gnu.jar`, image: ref },
        { file: `${deep}pax.jar`, image: ref },
      ],
    );
    assert.ok(jars.every((f) => f.severity === 'blocker' && f.title.includes(`in image ${ref}`)));
    assert.deepEqual(
      ids(findings).filter((id) => id !== 'jvm.jar-x86-only'),
      [],
    );
  });

  test('an aarch64 .so next to the x86-64 one: no finding', async () => {
    await registry.pushLayered('shop/both', '1', [
      layer([{ path: 'app/lib/native.jar', data: zip(['linux-x86_64/libfoo.so', 'linux-aarch64/libfoo.so']) }]),
    ]);
    assert.deepEqual(await scanImageLayers(client, `${registry.host}/shop/both:1`), []);
  });

  test('whiteouts and opaque directories in a later layer remove earlier jars; files of that layer stay', async () => {
    await registry.pushLayered(
      'shop/wh',
      '1',
      [
        layer([
          { path: 'app/lib/native.jar', data: x86Jar },
          { path: 'opt/old/x86.jar', data: x86Jar },
        ]),
        layer([{ path: 'app/lib/.wh.native.jar' }, { path: 'opt/old/.wh..wh..opq' }, { path: 'opt/old/new.jar', data: x86Jar }]),
      ],
      { format: 'docker' },
    );
    const findings = await scanImageLayers(client, `${registry.host}/shop/wh:1`);
    assert.deepEqual(
      findings.map((f) => [f.id, f.evidence.file]),
      [['jvm.jar-x86-only', 'opt/old/new.jar']],
    );
  });

  test('a gzip-corrupt layer and a zstd layer are warnings naming them; the other layers are still read', async () => {
    const corrupt = {
      data: Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.from('definitely not deflate data')]),
    };
    const zstd = { data: Buffer.from('(zstd frame)'), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' };
    await registry.pushLayered('shop/corrupt', '1', [corrupt, zstd, layer([{ path: 'app/native.jar', data: x86Jar }])]);
    const ref = `${registry.host}/shop/corrupt:1`;
    const findings = await scanImageLayers(client, ref);
    assert.deepEqual(ids(findings), ['jvm.jar-x86-only', 'native.image-scan-partial']);
    const partial = findings[1]!;
    assert.equal(partial.severity, 'warning');
    assert.match(partial.title, new RegExp(`layer 1 \\(${digestOf(corrupt.data).slice(0, 19)}\\) is not a readable tar.gz`));
    assert.match(partial.title, /layer 2 .* is zstd-compressed/);
  });

  test('loose ELF libraries are judged only in an image that is not amd64', async () => {
    const files = [
      { path: 'usr/lib/libx.so.1', data: elf(0x3e) },
      { path: 'app/node_modules/addon.node', data: elf(0x3e) },
    ];
    await registry.pushLayered('shop/loose', 'amd64', [layer(files)]);
    await registry.pushLayered('shop/loose', 'arm64', [layer(files)], { platform: { architecture: 'arm64' } });
    assert.deepEqual(await scanImageLayers(client, `${registry.host}/shop/loose:amd64`), []);
    const arm = await scanImageLayers(client, `${registry.host}/shop/loose:arm64`);
    assert.deepEqual(
      arm.map((f) => [f.id, f.evidence.file]),
      [
        ['native.prebuilt-x86', 'app/node_modules/addon.node'],
        ['native.prebuilt-x86', 'usr/lib/libx.so.1'],
      ],
    );
  });

  test('limits: a jar over the per-archive cap and a total over the byte cap are named as skipped', async () => {
    await registry.pushLayered('shop/limits', '1', [
      layer([{ path: 'app/big.jar', data: x86Jar }]),
      layer([{ path: 'app/late.jar', data: x86Jar }]),
    ]);
    const ref = `${registry.host}/shop/limits:1`;
    const small = await scanImageLayers(client, ref, { maxTotalBytes: 1 << 30, maxEntries: 100, maxArchiveBytes: 16 });
    assert.deepEqual(ids(small), ['native.image-scan-partial']);
    assert.match(small[0]!.title, /app\/big\.jar: 0 MiB, more than the 0 MiB read per archive/);
    const few = await scanImageLayers(client, ref, { maxTotalBytes: 10, maxEntries: 100, maxArchiveBytes: 1 << 20 });
    assert.deepEqual(ids(few), ['native.image-scan-partial']);
    assert.match(few[0]!.title, /layer 1 .* and later layers: more than 0 MiB of layers; layer 2 .*: the scan limit was already reached/);
  });

  test('a refused blob or a missing image is unknown (native.image-not-scanned), never ready', async () => {
    const jarLayer = layer([{ path: 'app/native.jar', data: x86Jar }]);
    await registry.pushLayered('shop/secret', '1', [jarLayer]);
    const proxy: FaultProxy = await startFaultProxy(registry.url);
    try {
      proxy.rules.push({ match: new RegExp(`GET /v2/shop/secret/blobs/${digestOf(jarLayer.data)}`), status: 401 });
      // A client of its own: the shared one already knows this layer's bytes from an earlier test.
      const fresh = createRegistryClient({ config: config.registry, backoffMs: 1 });
      const refused = await scanImageLayers(fresh, `${proxy.host}/shop/secret:1`);
      assert.deepEqual(
        refused.map((f) => [f.id, f.severity]),
        [['native.image-not-scanned', 'unknown']],
      );
      assert.match(refused[0]!.title, /layer 1 .* could not be downloaded: .*requires credentials/);
      const missing = await scanImageLayers(client, `${registry.host}/shop/nothing:1`);
      assert.deepEqual(
        missing.map((f) => [f.id, f.severity]),
        [['native.image-not-scanned', 'unknown']],
      );
    } finally {
      await proxy.close();
    }
  });

  describe('archshift check <path> --image', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'archshift-image-scan-'));
      await registry.pushIndex('base/jre', '17', [{ architecture: 'amd64' }, { architecture: 'arm64' }]);
      await writeFile(join(dir, 'Dockerfile'), `FROM ${registry.host}/base/jre:17\nCOPY app /app\n`);
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });
    const run = async (raw: Record<string, unknown>, ...argv: string[]) => {
      const out: string[] = [];
      const config = parseConfig(raw);
      const deps = async () => ({ config, registry: createRegistryClient({ config: config.registry, backoffMs: 1 }) }) as unknown as Deps;
      const code = await runCheckCommand(
        parseArgs(argv, cliCommand('check')!.booleanOptions),
        { out: (t) => out.push(t), err: (t) => out.push(t) },
        deps,
      );
      return { code, out: out.join('\n') };
    };

    test('shows the x86-only jar found in the image; readiness.scanImageLayers: false turns it off', async () => {
      const ref = `${registry.host}/shop/api:1`;
      const text = await run({}, dir, '--image', ref);
      assert.equal(text.code, 1);
      assert.match(
        text.out,
        /native\.jar bundles native code for x86-64 only .*in image .*shop\/api:1.*\(jvm\.jar-x86-only\)\n\s+at app\/lib\/native\.jar/,
      );
      const json = JSON.parse((await run({}, dir, '--image', ref, '--json')).out) as { findings: Finding[] };
      assert.deepEqual(
        json.findings
          .filter((f) => f.id === 'jvm.jar-x86-only')
          .map((f) => f.evidence.file)
          .sort(),
        [
          'app/lib/native.jar',
          `opt/${'very-long-directory-name/'.repeat(5)}gnu.jar`,
          `opt/${'very-long-directory-name/'.repeat(5)}pax.jar`,
        ],
      );
      const off = JSON.parse((await run({ readiness: { scanImageLayers: false } }, dir, '--image', ref, '--json')).out) as {
        findings: Finding[];
      };
      assert.deepEqual(
        off.findings.filter((f) => f.id.startsWith('jvm.') || f.id.startsWith('native.image')),
        [],
      );
    });
  });
});
