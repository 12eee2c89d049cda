// Managed Prometheus: the adapter's SigV4 (with the AWS SDK's default credential chain), bearer, basic
// and tenant headers against the real Prometheus behind an authenticating proxy that recomputes the
// signature itself. A wrong credential is a clear "no data" with what to fix, never a pass.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prometheus, PrometheusError, PrometheusSecretError, type PrometheusAuthConfig } from '../../src/adapters/prometheus.ts';
import { builtinTemplates, evaluate, measure } from '../../src/canary/analysis.ts';
import { canaryConfigSchema } from '../../src/canary/config.ts';
import { validateTemplates } from '../../src/canary/metrics.ts';
import { parseConfig } from '../../src/config/load.ts';
import { startAuthProxy, type RunningProxy } from '../fakes/prometheus-proxy.ts';
import { startPrometheus, type RunningPrometheus } from '../fakes/prometheus.ts';
import { at, NS, syntheticMetrics } from '../canary/world.ts';

// The SDK's default chain reads these first (fromEnv); this test file runs in its own process.
const KEY = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  sessionToken: 'test-session-token',
};
process.env.AWS_ACCESS_KEY_ID = KEY.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = KEY.secretAccessKey;
process.env.AWS_SESSION_TOKEN = KEY.sessionToken;
delete process.env.AWS_PROFILE;

const auth = (raw: unknown): PrometheusAuthConfig => canaryConfigSchema.parse({ prometheus: raw }).prometheus;
const opts = { window: '5m', minRequestRate: 0.1, templates: builtinTemplates(canaryConfigSchema.parse({}).thresholds) };
const arm = { namespace: NS, deployment: 'api-arm64', service: 'api', arch: 'arm64' as const };
const amd = { ...arm, deployment: 'api', arch: 'amd64' as const };

describe('Prometheus behind SigV4, bearer, basic auth and tenant headers', () => {
  let p: RunningPrometheus;
  let amp: RunningProxy;
  let gateway: RunningProxy;
  let basic: RunningProxy;
  let dir: string;
  before(async () => {
    p = await startPrometheus(syntheticMetrics());
    [amp, gateway, basic] = await Promise.all([
      startAuthProxy(p.url, { sigv4: { ...KEY, region: 'eu-west-1', service: 'aps' }, prefix: '/workspaces/ws-0f1e2d3c' }),
      startAuthProxy(p.url, { bearer: 'tok-mimir-123456', headers: { 'X-Scope-OrgID': 'tenant-1' } }),
      startAuthProxy(p.url, { basic: { username: 'archshift', password: 's3cret-pass' } }),
    ]);
    dir = await mkdtemp(join(tmpdir(), 'archshift-prom-auth-'));
  });
  after(async () => {
    await Promise.all([amp.stop(), gateway.stop(), basic.stop(), p.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  test('SigV4 (AMP): signed with the default credential chain, verified by recomputation, the real PromQL answers', async () => {
    const prom = new Prometheus(amp.url, 5000, auth({ sigv4: { region: 'eu-west-1' } }));
    const a = await measure(prom, amd, at(40), opts);
    const b = await measure(prom, arm, at(40), opts);
    assert.deepEqual([a.noData, b.noData], [[], []]);
    assert.equal(evaluate(b, a, opts.templates).verdict, 'pass');
    const last = amp.seen.at(-1)!;
    assert.equal(last.status, 200);
    assert.match(
      String(last.headers.authorization),
      /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/aps\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    assert.equal(last.headers['x-amz-security-token'], KEY.sessionToken);
  });

  test('a wrong SigV4 region or secret is refused with 403 as AMP does, and the canary reads "no data" with what to fix', async () => {
    const wrongRegion = new Prometheus(amp.url, 5000, auth({ sigv4: { region: 'us-east-1' } }));
    await assert.rejects(
      wrongRegion.query('up', at(40)),
      (e: unknown) =>
        e instanceof PrometheusError &&
        e.kind === 'auth' &&
        /HTTP 403 \(Credential should be scoped to a valid region and service: 'eu-west-1\/aps'.*region \(us-east-1\) is the workspace's region/.test(
          e.message,
        ),
    );

    process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
    try {
      const wrongKey = new Prometheus(amp.url, 5000, auth({ sigv4: { region: 'eu-west-1' } }));
      const m = await measure(wrongKey, arm, at(40), opts);
      assert.match(m.noData[0], /HTTP 403 \(The request signature we calculated does not match/);
      assert.equal(evaluate(m, await measure(wrongKey, amd, at(40), opts), opts.templates).verdict, 'no-data');
      // Start-up validation does not call a credential problem a bad query.
      const v = await validateTemplates(wrongKey, [{ where: 'x', query: 'up' }], '5m');
      assert.deepEqual(v.invalid, []);
      assert.match(v.unreachable!, /403/);
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = KEY.secretAccessKey;
    }
    // A request with no signature at all.
    const unsigned = new Prometheus(amp.url, 5000);
    await assert.rejects(
      unsigned.query('up', at(40)),
      /HTTP 403 \(Missing Authentication Token\); it wants credentials: set canary\.prometheus\.sigv4/,
    );
  });

  test('a bearer token from a file plus X-Scope-OrgID reach a Mimir-style gateway; a wrong token or missing tenant is 401, the token never in the message', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'tok-mimir-123456\n');
    const ok = new Prometheus(gateway.url, 5000, auth({ bearerToken: { file: tokenFile }, headers: { 'X-Scope-OrgID': 'tenant-1' } }));
    assert.equal((await ok.query('up', at(40))).length, 0, 'an empty vector: authenticated, no `up` series in the backfill');
    assert.ok(Math.abs((await measure(ok, arm, at(40), opts)).requestRate! - 10) < 0.01);

    const noTenant = new Prometheus(gateway.url, 5000, auth({ bearerToken: { file: tokenFile } }));
    await assert.rejects(noTenant.query('up', at(40)), /HTTP 401 \(no org id\)/);

    await writeFile(tokenFile, 'tok-expired-999999\n'); // rotated on disk: read on each query
    const e = await ok.query('up', at(40)).catch((err: unknown) => err as PrometheusError);
    assert.ok(e instanceof PrometheusError && e.kind === 'auth');
    assert.match(
      e.message,
      new RegExp(`HTTP 401 \\(Unauthorized\\); it refused the bearer token from the file ${tokenFile}: check or renew it`),
    );
    assert.doesNotMatch(e.message, /tok-/);

    await rm(tokenFile);
    await assert.rejects(ok.query('up', at(40)), /cannot read the bearerToken file .*ENOENT/);
  });

  test('basic auth with the password from the environment; a wrong one is a clear 401; a missing variable is refused at start', async () => {
    const env = { PROM_PASSWORD: 's3cret-pass' };
    const ok = new Prometheus(basic.url, 5000, auth({ basicAuth: { username: 'archshift', password: { env: 'PROM_PASSWORD' } } }), env);
    assert.deepEqual(await ok.query('up', at(40)), []);
    const wrong = new Prometheus(basic.url, 5000, auth({ basicAuth: { username: 'archshift', password: { env: 'PROM_PASSWORD' } } }), {
      PROM_PASSWORD: 'guess',
    });
    await assert.rejects(
      wrong.query('up', at(40)),
      /HTTP 401 \(Unauthorized\); it refused user "archshift" with the password from the environment variable PROM_PASSWORD: check both/,
    );
    assert.throws(
      () => new Prometheus(basic.url, 5000, auth({ basicAuth: { username: 'archshift', password: { env: 'PROM_PASSWORD' } } }), {}),
      (e: unknown) => e instanceof PrometheusSecretError && /PROM_PASSWORD, which is not set/.test(e.message),
    );
  });

  test('the config refuses two schemes at once, a header that would bypass them, and a secret without a source', () => {
    const refused = (prometheus: unknown) => assert.throws(() => parseConfig({ canary: { prometheus } }));
    refused({ sigv4: { region: 'eu-west-1' }, bearerToken: { env: 'T' } });
    refused({ headers: { Authorization: 'Bearer x' } });
    refused({ headers: { 'X-Amz-Date': '20260101T000000Z' } });
    refused({ bearerToken: {} });
    refused({ bearerToken: { env: 'T', file: '/t' } });
    refused({ sigv4: { region: 'Ireland' } });
    assert.deepEqual(parseConfig({ canary: { prometheus: { sigv4: { region: 'eu-west-1' } } } }).canary.prometheus.sigv4, {
      region: 'eu-west-1',
      service: 'aps',
    });
  });
});
