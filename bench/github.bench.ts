// GitHub requests per PR, and pacing for a 50-service batch, against the GitHub REST double through
// the real Octokit stack (retry + throttling plugins). Production spaces writes by writeIntervalMs =
// 1000 (PR creations by 3000); here the interval is scaled down (SCALE) and the wall time extrapolated.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FakeGitHub } from '../test/fakes/github-api.ts';
import { parseConfig } from '../src/config/load.ts';
import { Catalog } from '../src/config/catalog.ts';
import { Store } from '../src/adapters/store.ts';
import { Authorizer } from '../src/auth/authorize.ts';
import { GitHubClient } from '../src/adapters/github.ts';
import { openPrs } from '../src/prs/open-prs.ts';
import { buildReport } from '../src/readiness/report.ts';
import type { Deps } from '../src/deps.ts';

const SERVICES = 50;
const PRODUCTION_INTERVAL_MS = 1000;
const SCALED_INTERVAL_MS = 10;
const SCALE = PRODUCTION_INTERVAL_MS / SCALED_INTERVAL_MS;

const deployment = (n: string, kind = 'Deployment') =>
  `apiVersion: apps/v1\nkind: ${kind}\nmetadata:\n  name: ${n}\nspec:\n  template:\n    metadata:\n      labels: {app: ${n}}\n    spec:\n      containers:\n        - name: ${n}\n          image: registry.acme.io/${n}:1\n`;

export async function run(): Promise<Record<string, unknown>> {
  const fake = await new FakeGitHub().start();
  fake.tokens.set('ghp_bench', { write: true });
  const names = Array.from({ length: SERVICES }, (_, i) => `svc${String(i).padStart(2, '0')}`);
  for (const n of names) fake.addRepo(`acme/${n}`, { Dockerfile: 'FROM openjdk:8-jre\nCOPY app.jar /app.jar\n' });
  fake.addRepo(
    'acme/pipelines',
    Object.fromEntries(
      names.map((n) => [
        `services/${n}.yml`,
        `/pipeline:\n  docker-build:\n    uses: docker-build@master\n    with:\n      repository: ${n}\n`,
      ]),
    ),
  );
  // Three manifests files per service, so the selectors PR is the "3-file PR" of the target.
  fake.addRepo(
    'acme/k8s',
    Object.fromEntries(
      names.flatMap((n) => [
        [`apps/${n}/deployment.yaml`, deployment(n)],
        [`apps/${n}/worker.yaml`, deployment(n)],
        [`apps/${n}/cron.yaml`, deployment(n)],
      ]),
    ),
  );
  const config = parseConfig({
    github: { baseUrl: fake.url, allow: ['acme/*'], writeIntervalMs: SCALED_INTERVAL_MS },
    catalog: {
      defaults: {
        repo: 'acme/{service}',
        dockerfiles: ['Dockerfile'],
        image: 'registry.acme.io/{service}',
        tag: '1',
        pipeline: { repo: 'acme/pipelines', file: 'services/{service}.yml' },
        manifests: {
          repo: 'acme/k8s',
          files: ['apps/{service}/deployment.yaml', 'apps/{service}/worker.yaml', 'apps/{service}/cron.yaml'],
        },
      },
      services: Object.fromEntries(names.map((n) => [n, {}])),
    },
  });
  const logger = pino({ level: 'silent' });
  const github = new GitHubClient({
    baseUrl: fake.url,
    allow: ['acme/*'],
    writeIntervalMs: SCALED_INTERVAL_MS,
    auth: { kind: 'token', token: 'ghp_bench' },
    timeScaleMs: SCALED_INTERVAL_MS,
    logger,
  });
  const deps: Deps = {
    config,
    catalog: new Catalog(config.catalog),
    store: await Store.open(join(await mkdtemp(join(tmpdir(), 'archshift-bench-')), 's.json')),
    logger,
    clock: { now: () => new Date() },
    auth: new Authorizer(config.auth),
    github,
    registry: {
      inspect: async (reference) => ({
        reference,
        normalized: reference,
        status: 'multi-arch-with-arm64',
        platforms: [{ os: 'linux', architecture: 'arm64' }],
      }),
    },
  };
  // One secondary rate limit in the middle of the batch: it must be waited out (Retry-After 2 s, scaled).
  fake.inject({
    method: 'POST',
    path: /\/git\/commits$/,
    status: 403,
    message: 'You have exceeded a secondary rate limit.',
    headers: { 'retry-after': '2' },
    times: 1,
  });
  const perKind: Record<string, number[]> = { base: [], pipeline: [], selectors: [] };
  const statuses: Record<string, number> = {};
  const started = Date.now();
  for (const n of names) {
    const report = buildReport(n, [
      {
        id: 'image.amd64-only',
        severity: 'change',
        ecosystem: 'image',
        title: 'openjdk:8-jre is amd64-only',
        evidence: { file: 'Dockerfile', line: 1 },
        autofix: { kind: 'base', params: { file: 'Dockerfile', line: '1', from: 'openjdk:8-jre', to: 'eclipse-temurin:8-jre' } },
      },
    ]);
    const r = await openPrs(deps, { service: deps.catalog.resolve(n), report, kinds: ['base', 'pipeline', 'selectors'] });
    for (const o of r.outcomes) {
      statuses[o.status] = (statuses[o.status] ?? 0) + 1;
      if (o.requests !== undefined && perKind[o.kind]) perKind[o.kind].push(o.requests);
    }
  }
  const elapsed = Date.now() - started;
  const writes = fake.writeRequests();
  const gaps = writes.slice(1).map((w, i) => w.at - writes[i].at);
  const prCreates = writes.filter((w) => w.method === 'POST' && w.path.endsWith('/pulls'));
  const prGaps = prCreates.slice(1).map((w, i) => w.at - prCreates[i].at);
  // Content-creating requests per 60 s of production time, from the scaled timeline.
  const windowMs = 60_000 / SCALE;
  let maxPerMinute = 0;
  for (let i = 0, j = 0; i < writes.length; i++) {
    while (writes[i].at - writes[j].at >= windowMs) j++;
    maxPerMinute = Math.max(maxPerMinute, i - j + 1);
  }
  await fake.stop();
  const stats = (xs: number[]) => ({
    min: Math.min(...xs),
    max: Math.max(...xs),
    mean: +(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2),
  });
  return {
    services: SERVICES,
    prs: statuses,
    requestsPerPr: { base_1file: stats(perKind.base), pipeline_1file: stats(perKind.pipeline), selectors_3files: stats(perKind.selectors) },
    totalRequests: fake.requests.length,
    writeRequests: writes.length,
    secondaryRateLimitsHit: 1,
    scaledIntervalMs: SCALED_INTERVAL_MS,
    minGapBetweenWritesMs: Math.min(...gaps),
    minGapBetweenPrCreationsMs: Math.min(...prGaps),
    elapsedMs: elapsed,
    extrapolatedProductionMinutes: +((elapsed * SCALE) / 60_000).toFixed(1),
    maxContentRequestsPerProductionMinute: maxPerMinute,
    githubSecondaryLimit: '80 content-creating requests per minute, 500 per hour',
  };
}
