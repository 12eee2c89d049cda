// Safe base-image bumps against the real docker-registry acting as a pull-through cache of Docker Hub
// (images under `<host>/proxy/library/...`): successor rules see through `registry.mirrors`, and a tag
// that crosses a runtime's major version is a migration, never an automatic PR.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistryClient } from '../../src/adapters/registry.ts';
import { registryConfigSchema } from '../../src/config/schema.ts';
import { serviceEntrySchema } from '../../src/config/catalog-schema.ts';
import type { Service } from '../../src/config/catalog.ts';
import { checkPath } from '../../src/readiness/check.ts';
import { planChanges } from '../../src/prs/planner.ts';
import { imageFinding } from '../../src/readiness/analysers/images.ts';
import type { Report } from '../../src/readiness/report.ts';
import { startRegistry, type RunningRegistry } from '../fakes/registry.ts';

const amd = [{ architecture: 'amd64' }];
const both = [{ architecture: 'amd64' }, { architecture: 'arm64' }];

function service(extra: Record<string, unknown> = {}): Service {
  const entry = serviceEntrySchema.parse({
    repo: 'acme/billing',
    dockerfiles: ['Dockerfile'],
    image: 'registry.acme.io/billing',
    pipeline: { repo: 'acme/pipelines', file: 'billing.yml' },
    manifests: { repo: 'acme/k8s', files: ['billing.yaml'] },
    namespace: 'billing',
    deployment: 'billing',
    ...extra,
  });
  return { ...entry, name: 'billing', origin: 'config' } as Service;
}

describe('base images behind a registry mirror; major versions', () => {
  let registry: RunningRegistry;
  let dir: string;
  before(async () => {
    registry = await startRegistry();
    await registry.pushIndex('proxy/library/openjdk', '8-jre-slim', amd);
    await registry.pushIndex('proxy/library/openjdk', '11-jre-slim', both);
    await registry.pushIndex('proxy/library/eclipse-temurin', '8-jre', both);
    await registry.pushIndex('proxy/library/python', '3.8-slim', amd);
    await registry.pushIndex('proxy/library/python', '3.9-slim', amd);
    await registry.pushIndex('proxy/library/python', '3.11-slim', both);
    await registry.pushIndex('proxy/library/python', '3.12-slim', both);
    dir = await mkdtemp(join(tmpdir(), 'archshift-mirror-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await registry.stop();
  });

  const client = (mirrored: boolean) =>
    createRegistryClient({
      config: registryConfigSchema.parse({ retries: 1, mirrors: mirrored ? { 'docker.io': [`${registry.host}/proxy`] } : {} }),
      backoffMs: 1,
    });

  async function check(name: string, from: string, mirrored: boolean): Promise<Report> {
    const root = join(dir, name);
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'Dockerfile'), `FROM ${from}\nCOPY app.jar /app.jar\nCMD ["java", "-jar", "/app.jar"]\n`);
    return checkPath(root, { inspector: client(mirrored), scan: async () => [] });
  }

  test('openjdk:8-jre-slim through the mirror gets its eclipse-temurin 8 successor, not openjdk 11', async () => {
    const s = await client(true).suggestArm64Image(`${registry.host}/proxy/library/openjdk:8-jre-slim`);
    assert.equal(s.kind, 'replacement');
    assert.equal(s.image, `${registry.host}/proxy/library/eclipse-temurin:8-jre`);
    assert.equal(s.prApplicable, true);
    assert.equal(s.majorUpgrade, undefined);

    const report = await check('jdk-mirrored', `${registry.host}/proxy/library/openjdk:8-jre-slim`, true);
    const [f] = report.findings.filter((x) => x.id === 'image.replaced');
    assert.ok(f, JSON.stringify(report.findings, null, 2));
    assert.deepEqual(f.autofix, {
      kind: 'base',
      params: {
        file: 'Dockerfile',
        line: '1',
        from: `${registry.host}/proxy/library/openjdk:8-jre-slim`,
        to: `${registry.host}/proxy/library/eclipse-temurin:8-jre`,
      },
    });
    const plan = planChanges(report, service(), ['base']);
    assert.equal(plan.changes.length, 1);
    assert.match(plan.changes[0]!.files[0]!.describe[0]!, /eclipse-temurin:8-jre/);
    assert.doesNotMatch(JSON.stringify(plan), /openjdk:11/);
  });

  test('the mirror prefix without library/ is written back the same way', async () => {
    const s = await client(true).suggestArm64Image(`${registry.host}/proxy/openjdk:8-jre-slim`);
    assert.equal(s.image, `${registry.host}/proxy/eclipse-temurin:8-jre`);
  });

  test('without the mirror configured, only openjdk 11 publishes arm64: a migration, no PR', async () => {
    const s = await client(false).suggestArm64Image(`${registry.host}/proxy/library/openjdk:8-jre-slim`);
    assert.equal(s.kind, 'tag-bump');
    assert.deepEqual(s.majorUpgrade, { from: '8', to: '11', candidates: [`${registry.host}/proxy/library/openjdk:11-jre-slim`] });
    assert.equal(
      await client(false).nearestArm64Tag(`${registry.host}/proxy/library/openjdk:8-jre-slim`),
      undefined,
      'never a silent major bump',
    );

    const report = await check('jdk-plain', `${registry.host}/proxy/library/openjdk:8-jre-slim`, false);
    const [f] = report.findings.filter((x) => x.id === 'image.arm64-needs-major-upgrade');
    assert.ok(f, JSON.stringify(report.findings, null, 2));
    assert.equal(f.severity, 'change');
    assert.equal(f.autofix, undefined);
    assert.match(f.title, /no 8\.x tag publishes linux\/arm64; only a newer major version does: .*openjdk:11-jre-slim/);
    assert.match(f.fix!, /migration/);
    assert.match(f.fix!, /allowMajorBump/);
    const plan = planChanges(report, service(), ['base']);
    assert.equal(plan.changes.length, 0);
    assert.equal(plan.skipped[0]!.kind, 'base');
  });

  test('python 3.8 -> 3.11 is a new release line: candidates named, PR only with allowMajorBump', async () => {
    const s = await client(true).suggestArm64Image(`${registry.host}/proxy/library/python:3.8-slim`);
    assert.deepEqual(s.majorUpgrade, {
      from: '3.8',
      to: '3.11',
      candidates: [`${registry.host}/proxy/library/python:3.11-slim`, `${registry.host}/proxy/library/python:3.12-slim`],
    });
    const use = {
      reference: `${registry.host}/proxy/library/python:3.8-slim`,
      label: 'Base image of stage #0',
      role: 'target' as const,
      evidence: { file: 'Dockerfile', line: 1 },
      edit: { file: 'Dockerfile', line: 1, text: `${registry.host}/proxy/library/python:3.8-slim`, part: 'reference' as const },
    };
    const result = await client(true).inspect(use.reference);
    const optedIn = imageFinding(use, result, s, true);
    assert.equal(optedIn.id, 'image.arm64-tag-available');
    assert.equal(optedIn.autofix?.params.majorBump, '3.8→3.11');
    const report = { service: 'billing', verdict: 'needs-changes' as const, checkedAt: '', findings: [optedIn] };
    assert.equal(planChanges(report, service(), ['base']).changes.length, 0, 'the catalog did not opt in');
    const plan = planChanges(report, service({ allowMajorBump: true }), ['base']);
    assert.equal(plan.changes.length, 1);
    assert.match(
      plan.changes[0]!.files[0]!.describe[0]!,
      /python:3\.11-slim.*major version 3\.8→3\.11: allowed by the catalog's allowMajorBump/,
    );
    const notOptedIn = imageFinding(use, result, s, false);
    assert.equal(notOptedIn.id, 'image.arm64-needs-major-upgrade');
    assert.equal(notOptedIn.autofix, undefined);
  });
});
