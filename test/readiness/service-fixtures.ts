// Puts the fixture services (test/fixtures/services) on real registries: pushes the images each one
// names and copies its files to a temp checkout with the placeholder registry hosts replaced.
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GitHubClient } from '../../src/adapters/github.ts';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { Store } from '../../src/adapters/store.ts';
import { Authorizer } from '../../src/auth/authorize.ts';
import { Catalog } from '../../src/config/catalog.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Deps } from '../../src/deps.ts';
import { createLogger } from '../../src/logger.ts';
import type { FakeGitHub } from '../fakes/github-api.ts';
import type { RunningRegistry } from '../fakes/registry.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/services/', import.meta.url));
export const OPEN_PLACEHOLDER = 'registry.invalid:5000';
export const PRIVATE_PLACEHOLDER = 'private.invalid:5000';

const amd64 = { architecture: 'amd64' };
const arm64 = { architecture: 'arm64', variant: 'v8' };

/** The images the fixtures name on the open registry; returns the digest of the runtime pinned by checkout-api. */
export async function pushOpenImages(r: RunningRegistry): Promise<{ distroless: string }> {
  await r.pushIndex('library/golang', '1.22', [amd64, arm64], { attestations: true });
  const distroless = await r.pushIndex('distroless/static', 'nonroot', [amd64, arm64]);
  await r.pushIndex('library/busybox', '1.36', [amd64, arm64], { format: 'docker' });
  await r.pushIndex('shop/checkout-api', '1.8.0', [amd64, arm64], { attestations: true });
  await r.pushSingle('library/node', '14-alpine', amd64);
  // A later tag of the same major publishes arm64; 16 is a new major (a migration, never a silent bump).
  await r.pushIndex('library/node', '14.21-alpine', [amd64, arm64], { annotation: 'node14' });
  await r.pushIndex('library/node', '16-alpine', [amd64, arm64], { annotation: 'node16' });
  await r.pushIndex('library/node', '18-alpine', [amd64, arm64], { annotation: 'node18' });
  await r.pushSingle('shop/catalog-web', '2.3.1', amd64);
  await r.pushIndex('library/alpine', '3.19', [amd64, arm64]);
  await r.pushSingle('shop/search-indexer', '0.9.2', amd64);
  await r.pushSingle('vendor/billing-runtime', '5.2', amd64, { annotation: '5.2' });
  await r.pushSingle('vendor/billing-runtime', '5.3', amd64, { annotation: '5.3' });
  await r.pushSingle('finance/legacy-billing', '7.0.3', amd64);
  return { distroless };
}

export async function pushPrivateImages(r: RunningRegistry): Promise<void> {
  await r.pushIndex('platform/jre', '17', [amd64, arm64]);
  await r.pushIndex('finance/payments', '4.1.0', [amd64, arm64]);
}

/** A fixture file with the open registry placeholder replaced by `registryHost`. */
export async function fixtureFile(service: string, file: string, registryHost: string): Promise<string> {
  return (await readFile(join(FIXTURES, service, file), 'utf8')).replaceAll(OPEN_PLACEHOLDER, registryHost);
}

/**
 * Puts a fixture service in the GitHub double as a catalog service lives there (its repo on branch
 * trunk, the pipeline in acme/pipelines, the manifest in acme/k8s) and returns its catalog entry.
 */
export async function seedServiceRepos(github: FakeGitHub, service: string, registryHost: string): Promise<Record<string, unknown>> {
  github.addRepo(`acme/${service}`, { Dockerfile: await fixtureFile(service, 'Dockerfile', registryHost) }, { defaultBranch: 'trunk' });
  github.addRepo('acme/pipelines', { [`services/${service}.yml`]: await fixtureFile(service, 'pipeline.yml', registryHost) });
  github.addRepo('acme/k8s', { [`shop/${service}.yaml`]: await fixtureFile(service, 'deployment.yaml', registryHost) });
  return {
    repo: `acme/${service}`,
    dockerfiles: ['Dockerfile'],
    image: `${registryHost}/shop/${service}`,
    pipeline: { repo: 'acme/pipelines', file: `services/${service}.yml` },
    manifests: { repo: 'acme/k8s', files: [`shop/${service}.yaml`] },
    namespace: 'shop',
  };
}

/**
 * Deps for checkService over the doubles: `raw` config on top of the GitHub double's URL, a read-only
 * token for it, the registry adapter with quick retries, a store in `dir` and a fixed clock.
 */
export async function readinessDeps(github: FakeGitHub, raw: Record<string, unknown>, dir: string): Promise<Deps> {
  github.tokens.set('ghp_reader', { write: false });
  const config = parseConfig({ github: { baseUrl: github.url }, ...raw });
  const logger = createLogger('silent');
  return {
    config,
    catalog: new Catalog(config.catalog),
    store: await Store.open(join(dir, 'store.json')),
    logger,
    clock: { now: () => new Date('2026-11-24T10:00:00Z') },
    auth: new Authorizer(config.auth),
    registry: createRegistryClient({ config: config.registry, backoffMs: 1 }),
    github: new GitHubClient({
      baseUrl: github.url,
      allow: [],
      writeIntervalMs: 0,
      auth: { kind: 'token', token: 'ghp_reader' },
      timeScaleMs: 1,
      logger,
    }),
  };
}

export interface Checkouts {
  dir: string;
  path(service: string): string;
  cleanup(): Promise<void>;
}

/** Copies every fixture service into a temp dir, each named like the service, hosts replaced (no private host: a closed loopback port). */
export async function materialise(hosts: { open: string; private?: string }): Promise<Checkouts> {
  const dir = await mkdtemp(join(tmpdir(), 'archshift-services-'));
  await cp(FIXTURES, dir, { recursive: true });
  for (const service of await readdir(dir, { withFileTypes: true })) {
    if (!service.isDirectory()) continue;
    for (const file of await readdir(join(dir, service.name))) {
      const p = join(dir, service.name, file);
      const text = await readFile(p, 'utf8');
      await writeFile(p, text.replaceAll(OPEN_PLACEHOLDER, hosts.open).replaceAll(PRIVATE_PLACEHOLDER, hosts.private ?? '127.0.0.1:1'));
    }
  }
  return { dir, path: (s) => join(dir, s), cleanup: () => rm(dir, { recursive: true, force: true }) };
}
