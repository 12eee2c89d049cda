// The dependency PR from a real check of corpus checkouts: version bumps where the version is written
// (the property a BOM reads included), the arm64 classifier twin added after the bump, and a body that
// lists what the PR could not change and what must happen next.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkPath } from '../../src/readiness/check.ts';
import { applyEdits, planChanges } from '../../src/prs/planner.ts';
import { prBody } from '../../src/prs/pr-body.ts';
import type { Service } from '../../src/config/catalog.ts';

const corpus = fileURLToPath(new URL('../fixtures/corpus/', import.meta.url));

function service(name: string): Service {
  return {
    name,
    origin: 'config',
    repo: `acme/${name}`,
    dockerfiles: ['Dockerfile'],
    image: `registry.example.com/${name}`,
    pipeline: { repo: 'acme/pipelines', file: `${name}.yml` },
    manifests: { repo: 'acme/deploy', files: [`${name}.yaml`], helmValues: [] },
    namespace: 'default',
    deployment: name,
    canary: false,
    allowMajorBump: false,
  };
}

async function depsPr(name: string) {
  const report = await checkPath(join(corpus, name));
  const plan = planChanges(report, service(name), ['deps']);
  const change = plan.changes.find((c) => c.kind === 'deps');
  assert.ok(change, `no deps change: ${JSON.stringify(plan.skipped)}`);
  const edited = change.files.map((f) => {
    const result = applyEdits(readFileSync(join(corpus, name, f.path), 'utf8'), f.edits);
    assert.ok(result.ok, result.ok ? '' : result.reason);
    return { path: f.path, text: result.text, notes: result.notes };
  });
  const body = prBody({
    report,
    change,
    changedFiles: edited.map((e) => e.path),
    siblings: {},
    image: 'registry.example.com/x:1',
    notes: edited.flatMap((e) => e.notes),
  });
  return { report, change, edited, body };
}

test("Spring Boot pom: the netty.version property Boot's BOM reads is bumped, and the linux-aarch_64 twin follows the x86-64 one", async () => {
  const { edited } = await depsPr('spring-boot-netty-property');
  const pom = edited.find((e) => e.path === 'pom.xml')!.text;
  assert.match(pom, /<netty\.version>4\.1\.58\.Final<\/netty\.version>/);
  const blocks = [
    ...pom.matchAll(
      /<dependency>\s*<groupId>io\.netty<\/groupId>\s*<artifactId>netty-transport-native-epoll<\/artifactId>\s*<classifier>([^<]+)<\/classifier>\s*<\/dependency>/g,
    ),
  ].map((m) => m[1]);
  assert.deepEqual(blocks, ['linux-x86_64', 'linux-aarch_64']);
  // Byte-minimal: the original text is all still there, in order, with two additions.
  const original = readFileSync(join(corpus, 'spring-boot-netty-property', 'pom.xml'), 'utf8');
  assert.equal(
    pom
      .replace('4.1.58.Final', '4.1.45.Final')
      .replace(/\n {4}<dependency>\n(?:(?!<\/dependency>)[\s\S])*linux-aarch_64[\s\S]*?<\/dependency>/, ''),
    original,
  );
});

test('buildSrc build: the twin is added to the Kotlin DSL line; the leveldbjni blocker is listed as not changed, with what to do', async () => {
  const { edited, body } = await depsPr('buildsrc-constants');
  const script = edited.find((e) => e.path === 'service/build.gradle.kts')!.text;
  assert.match(
    script,
    /runtimeOnly\("io\.netty:netty-transport-native-epoll:\$\{Versions\.netty\}:linux-x86_64"\)\n\s+runtimeOnly\("io\.netty:netty-transport-native-epoll:\$\{Versions\.netty\}:linux-aarch_64"\)\n/,
  );
  assert.match(body, /### Not changed by this PR, and what must happen next/);
  assert.match(body, /\*\*blocker\*\* org\.fusesource\.leveldbjni:leveldbjni-all 1\.8 .*Next: No fixed version exists/);
});
