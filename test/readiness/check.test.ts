// The readiness check on the fixture services, against the real docker-registry (open and htpasswd),
// with faults injected by a loopback proxy: verdicts, findings and the PR each finding offers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { registryConfigSchema } from '../../src/config/schema.ts';
import { checkPath } from '../../src/readiness/check.ts';
import type { Report } from '../../src/readiness/report.ts';
import { startFaultProxy, startRegistry, type FaultProxy, type RunningRegistry } from '../fakes/registry.ts';
import { materialise, pushOpenImages, pushPrivateImages, type Checkouts } from './service-fixtures.ts';

const inspector = (extra: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) =>
  createRegistryClient({ config: registryConfigSchema.parse({ retries: 1, ...extra }), backoffMs: 1, env });
const byId = (r: Report, id: string) => r.findings.filter((f) => f.id === id);
const noScan = async () => [];

describe('readiness check against a real registry', () => {
  let open: RunningRegistry;
  let priv: RunningRegistry;
  let services: Checkouts;
  let distroless: string;

  before(async () => {
    [open, priv] = await Promise.all([startRegistry(), startRegistry({ kind: 'htpasswd', users: { ci: 's3cret' } })]);
    ({ distroless } = await pushOpenImages(open));
    await pushPrivateImages(priv);
    services = await materialise({ open: open.host, private: priv.host });
  });
  after(async () => {
    await services?.cleanup();
    await Promise.all([open?.stop(), priv?.stop()]);
  });

  test('checkout-api is ready: multi-stage, ARG-built names, digest-pinned runtime, init container', async () => {
    const report = await checkPath(services.path('checkout-api'), { inspector: inspector(), scan: noScan });
    assert.equal(report.verdict, 'ready', JSON.stringify(report.findings, null, 2));
    const images = byId(report, 'image.arm64').map((f) => f.evidence.image);
    assert.deepEqual(images.sort(), [
      `${open.host}/distroless/static:nonroot@${distroless}`,
      `${open.host}/library/busybox:1.36`,
      `${open.host}/library/golang:1.22`,
      `${open.host}/shop/checkout-api:1.8.0`,
    ]);
    assert.equal(byId(report, 'pipeline.arm64-build').length, 1);
    // Ready to move: the move itself (selector + toleration) is a PR archshift can open.
    assert.equal(byId(report, 'kubernetes.not-on-arm64')[0]!.autofix!.kind, 'selectors');
  });

  test('catalog-web needs a base bump: the nearest arm64 tag, applied at the ARG line', async () => {
    const report = await checkPath(services.path('catalog-web'), { inspector: inspector(), scan: noScan });
    assert.equal(report.verdict, 'needs-changes');
    const bumps = byId(report, 'image.arm64-tag-available');
    assert.equal(bumps.length, 1, 'two stages built FROM the same ARG share one fix');
    assert.equal(bumps[0]!.severity, 'change');
    assert.match(bumps[0]!.title, new RegExp(`${open.host}/library/node:14.21-alpine publishes linux/arm64`));
    assert.deepEqual(bumps[0]!.autofix, { kind: 'base', params: { file: 'Dockerfile', line: '1', from: '14-alpine', to: '14.21-alpine' } });
    // Its own image is amd64-only: the pipeline must rebuild it, no tag bump is offered.
    const own = byId(report, 'image.service-amd64-only');
    assert.deepEqual(
      own.map((f) => [f.severity, f.evidence.file, f.evidence.line]),
      [['change', 'deployment.yaml', 17]],
    );
  });

  test('search-indexer needs changes: platform pins, GOARCH, and the pipeline flag set to false', async () => {
    const report = await checkPath(services.path('search-indexer'), { inspector: inspector(), scan: noScan });
    assert.equal(report.verdict, 'needs-changes');
    assert.equal(byId(report, 'dockerfile.platform-pinned').length, 2);
    assert.equal(byId(report, 'dockerfile.goarch-amd64').length, 1);
    assert.equal(byId(report, 'pipeline.arm64-build-off')[0]!.autofix!.kind, 'pipeline');
    assert.equal(byId(report, 'image.arm64').length, 2);
  });

  test('legacy-billing is blocked: no tag of its vendor image has arm64, and it downloads x86_64 binaries', async () => {
    const report = await checkPath(services.path('legacy-billing'), { inspector: inspector(), scan: noScan });
    assert.equal(report.verdict, 'blocked');
    const [none] = byId(report, 'image.amd64-only');
    assert.equal(none!.severity, 'blocker');
    assert.equal(none!.evidence.image, `${open.host}/vendor/billing-runtime:5.2`);
    assert.match(none!.fix!, /5\.3/, 'the fix says which tags were tried');
    assert.equal(byId(report, 'dockerfile.amd64-download')[0]!.severity, 'blocker');
    assert.equal(byId(report, 'kubernetes.amd64-pinned').length, 1);
  });

  test('payments is unknown when the private registry refuses us, and ready with credentials', async () => {
    const refused = await checkPath(services.path('payments'), { inspector: inspector(), scan: noScan });
    assert.equal(refused.verdict, 'unknown');
    const unauthorized = byId(refused, 'image.unauthorized');
    assert.deepEqual(unauthorized.map((f) => f.evidence.image).sort(), [
      `${priv.host}/finance/payments:4.1.0`,
      `${priv.host}/platform/jre:17`,
    ]);
    assert.ok(unauthorized.every((f) => f.severity === 'unknown' && f.fix!.includes('credentials')));

    const withLogin = inspector({ credentials: { [priv.host]: { username: 'ci', passwordEnv: 'PRIV_PASS' } } }, { PRIV_PASS: 's3cret' });
    const report = await checkPath(services.path('payments'), { inspector: withLogin, scan: noScan });
    assert.equal(report.verdict, 'ready', JSON.stringify(report.findings, null, 2));
    assert.equal(byId(report, 'kubernetes.arm64-scheduled').length, 1);
  });

  describe('a registry that fails', () => {
    let proxy: FaultProxy;
    let viaProxy: Checkouts;
    before(async () => {
      proxy = await startFaultProxy(open.url);
      viaProxy = await materialise({ open: proxy.host });
    });
    after(async () => {
      await viaProxy?.cleanup();
      await proxy?.close();
    });

    for (const [what, rule, reason] of [
      ['500', { match: /manifests/, status: 500 }, /500/],
      ['429', { match: /manifests/, status: 429, retryAfter: '0' }, /429|rate/i],
      ['404', { match: /manifests/, status: 404 }, /not|404/i],
    ] as const) {
      test(`answers ${what}: the images are unknown with the reason, never ready`, async () => {
        proxy.rules.splice(0, proxy.rules.length, { ...rule });
        const report = await checkPath(viaProxy.path('checkout-api'), { inspector: inspector(), scan: noScan });
        assert.equal(report.verdict, 'unknown');
        const missing = report.findings.filter((f) => f.ecosystem === 'image' && f.severity === 'unknown');
        assert.equal(missing.length, 4);
        assert.ok(
          missing.every((f) => reason.test(f.title)),
          missing.map((f) => f.title).join('\n'),
        );
      });
    }

    test('hangs: the check ends within its time budget and says so', async () => {
      proxy.rules.splice(0, proxy.rules.length, { match: /manifests/, hang: true });
      const started = Date.now();
      const report = await checkPath(viaProxy.path('checkout-api'), {
        inspector: inspector({ timeoutMs: 300, retries: 0 }),
        settings: { pipeline: { section: 'docker-build', flag: 'mustBuildARM64' }, imageTimeoutMs: 2000 },
        scan: noScan,
      });
      assert.ok(Date.now() - started < 5000);
      assert.equal(report.verdict, 'unknown');
      assert.ok(report.findings.filter((f) => f.ecosystem === 'image').every((f) => f.severity === 'unknown'));
    });
  });

  test('a malformed reference and an unparseable Dockerfile are unknown, not a crash', async () => {
    const dir = join(services.dir, 'broken');
    await mkdir(dir);
    await writeFile(join(dir, 'Dockerfile'), `FROM ${open.host}/Shop/App:1.0\n`);
    await writeFile(join(dir, 'worker.Dockerfile'), 'FROB x\n');
    const report = await checkPath(dir, { inspector: inspector(), scan: noScan });
    assert.equal(report.verdict, 'unknown');
    assert.match(byId(report, 'image.invalid-reference')[0]!.title, /lowercase/);
    assert.equal(byId(report, 'dockerfile.unparseable')[0]!.evidence.file, 'worker.Dockerfile');
    assert.equal(byId(report, 'pipeline.not-checked')[0]!.severity, 'warning');
  });

  test('--image names the released image even when the manifests name another tag', async () => {
    const report = await checkPath(services.path('checkout-api'), {
      image: `${open.host}/shop/checkout-api:0.0.1`,
      inspector: inspector(),
      scan: noScan,
    });
    assert.equal(report.verdict, 'unknown');
    assert.match(byId(report, 'image.not-found')[0]!.title, /checkout-api:0\.0\.1/);
  });
});
