// Shared set-up for the PR tests: a real store file, a catalog, and a GitHubClient (real Octokit with
// its plugins) pointed at the GitHub double.
import { after, before, beforeEach } from 'node:test';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.ts';
import { Catalog } from '../../src/config/catalog.ts';
import { Store } from '../../src/adapters/store.ts';
import { Authorizer } from '../../src/auth/authorize.ts';
import { GitHubClient } from '../../src/adapters/github.ts';
import type { Deps } from '../../src/deps.ts';
import type { ImageInspector, ImageResult } from '../../src/images/types.ts';
import { buildReport, type Finding } from '../../src/readiness/report.ts';
import { FakeGitHub } from '../fakes/github-api.ts';
import { startTestBot, type TestBot } from '../fakes/bot.ts';
import { freePort } from '../fakes/net.ts';

export const silent = pino({ level: 'silent' });

export const catalogConfig = {
  defaults: {
    repo: 'acme/{service}',
    dockerfiles: ['Dockerfile'],
    image: 'registry.acme.io/{service}',
    tag: '1.0.0',
    pipeline: { repo: 'acme/pipelines', file: 'services/{service}.yml' },
    manifests: { repo: 'acme/k8s', files: ['apps/{service}/deployment.yaml'] },
    team: 'S-{service}-team',
  },
  services: {
    api: {},
    web: { canary: true },
    chart: { manifests: { repo: 'acme/k8s', files: ['charts/chart/templates/deployment.yaml'], helmValues: ['charts/chart/values.yaml'] } },
  } as Record<string, unknown>,
};

export async function makeDeps(
  fake: FakeGitHub,
  opts: { allow?: string[]; token?: string; registry?: ImageInspector; extraServices?: Record<string, unknown> } = {},
): Promise<Deps> {
  const config = parseConfig({
    github: { baseUrl: fake.url, allow: opts.allow ?? ['acme/*'], writeIntervalMs: 0 },
    catalog: { ...catalogConfig, services: { ...catalogConfig.services, ...opts.extraServices } },
    auth: { operator: { users: ['U-OPERATOR'] } },
  });
  const dir = await mkdtemp(join(tmpdir(), 'archshift-prs-'));
  const token = opts.token ?? 'ghp_writer';
  if (!fake.tokens.has(token)) fake.tokens.set(token, { write: true });
  return {
    config,
    catalog: new Catalog(config.catalog),
    store: await Store.open(join(dir, 'store.json')),
    logger: silent,
    clock: { now: () => new Date('2026-11-24T10:00:00Z') },
    auth: new Authorizer(config.auth),
    github: new GitHubClient({
      baseUrl: fake.url,
      allow: config.github.allow,
      writeIntervalMs: 0,
      auth: { kind: 'token', token },
      timeScaleMs: 1,
      logger: silent,
    }),
    registry: opts.registry,
  };
}

/** A registry stand-in for the draft decision only; the registry adapter has its own tests against a real registry. */
export function imagesWith(arm64: boolean): ImageInspector & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async inspect(reference: string): Promise<ImageResult> {
      asked.push(reference);
      return {
        reference,
        normalized: reference,
        status: arm64 ? 'multi-arch-with-arm64' : 'amd64-only',
        platforms: arm64
          ? [
              { os: 'linux', architecture: 'amd64' },
              { os: 'linux', architecture: 'arm64' },
            ]
          : [{ os: 'linux', architecture: 'amd64' }],
      };
    },
  };
}

export const dockerfile = 'FROM openjdk:8-jre\n# the app\nCOPY app.jar /app.jar\nCMD ["java", "-jar", "/app.jar"]\n';
export const pipeline =
  '/pipeline:\n  docker-build:\n    uses: docker-build@master\n    with:\n      repository: api\n  deploy:\n    uses: deploy@v2\n';
export const deployment = (name: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  selector:\n    matchLabels:\n      app: ${name}\n  template:\n    metadata:\n      labels:\n        app: ${name}\n    spec:\n      containers:\n        - name: ${name}\n          image: registry.acme.io/${name}:1.0.0\n`;

export function seedService(fake: FakeGitHub, name: string): void {
  fake.addRepo(`acme/${name}`, {
    Dockerfile: dockerfile,
    'pom.xml':
      '<project>\n  <dependency>\n    <artifactId>netty-transport-native-epoll</artifactId>\n    <version>4.1.40.Final</version>\n  </dependency>\n</project>\n',
  });
}

/** The GitHub double for the enclosing describe: started once, emptied and re-seeded with `api` and `shared`'s repos before each test. */
export function seededGitHub(shared: string[]): FakeGitHub {
  const fake = new FakeGitHub();
  before(() => fake.start());
  after(() => fake.stop());
  beforeEach(() => {
    fake.reset();
    seedService(fake, 'api');
    seedShared(fake, shared);
  });
  return fake;
}

export function seedShared(fake: FakeGitHub, services: string[]): void {
  fake.addRepo(
    'acme/pipelines',
    Object.fromEntries(services.map((s) => [`services/${s}.yml`, pipeline.replace('repository: api', `repository: ${s}`)])),
  );
  fake.addRepo('acme/k8s', Object.fromEntries(services.map((s) => [`apps/${s}/deployment.yaml`, deployment(s)])));
}

export function reportFor(service: string, extra: Finding[] = []) {
  const findings: Finding[] = [
    {
      id: 'image.amd64-only',
      severity: 'change',
      ecosystem: 'image',
      title: 'openjdk:8-jre publishes linux/amd64 only',
      evidence: { file: 'Dockerfile', line: 1, excerpt: 'FROM openjdk:8-jre' },
      autofix: { kind: 'base', params: { file: 'Dockerfile', line: '1', from: 'openjdk:8-jre', to: 'eclipse-temurin:8-jre' } },
    },
    {
      id: 'pipeline.arm64-build-off',
      severity: 'change',
      ecosystem: 'pipeline',
      title: "The pipeline's docker-build step does not set mustBuildARM64",
      evidence: { file: `services/${service}.yml`, line: 2 },
      autofix: { kind: 'pipeline', params: { file: `services/${service}.yml`, key: 'mustBuildARM64', value: 'true' } },
    },
    {
      id: 'kubernetes.no-arch-selector',
      severity: 'change',
      ecosystem: 'kubernetes',
      title: `Deployment ${service} has no arm64 nodeSelector`,
      evidence: { file: `apps/${service}/deployment.yaml`, line: 1 },
      autofix: { kind: 'selectors', params: { file: `apps/${service}/deployment.yaml`, kind: 'Deployment', name: service } },
    },
    ...extra,
  ];
  return buildReport(service, findings, new Date('2026-11-24T09:00:00Z'));
}

/**
 * The real bot with the PR catalog, GitHub at `githubUrl` (the double, or a proxy in front of it) with
 * token `token`, and `operator` as the one operator. No registry answers its images ("unknown"), which
 * the pipeline PR does not need. The bot's GitHub adapter is built with Octokit's retry back-off in
 * milliseconds instead of seconds (1 s + 4 s + 9 s per failing request otherwise).
 */
export async function startPrBot(githubUrl: string, token: string, operator: string): Promise<TestBot> {
  const noRegistry = `127.0.0.1:${await freePort()}`;
  const t = await startTestBot(
    {
      github: { baseUrl: githubUrl, allow: ['acme/*'], writeIntervalMs: 0 },
      registry: { retries: 0 },
      catalog: { ...catalogConfig, defaults: { ...catalogConfig.defaults, image: `${noRegistry}/{service}` } },
      auth: { operator: { users: [operator] } },
    },
    {
      env: { GITHUB_TOKEN: token },
      github: new GitHubClient({
        baseUrl: githubUrl,
        allow: ['acme/*'],
        writeIntervalMs: 0,
        auth: { kind: 'token', token },
        timeScaleMs: 1,
        logger: silent,
      }),
    },
  );
  return t;
}
