// The transitive culprit, resolved from POMs served over real HTTP by a Maven repository double:
// parents, BOMs, the service's own management, exclusions, scopes and nearest-wins; an unreachable or
// refusing repository makes the tree unknown, never clean; release POMs are cached in the store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMavenRepository, mavenConfigSchema } from '../../src/adapters/maven.ts';
import { Store } from '../../src/adapters/store.ts';
import { scanCheckout } from '../../src/readiness/scan.ts';
import { buildReport, type Finding } from '../../src/readiness/report.ts';
import { pom, startFakeMavenRepo, type FakeMavenRepo } from '../fakes/maven-repo.ts';
import { buildDeps } from '../../src/build-deps.ts';
import { parseArgs } from '../../src/args.ts';
import { runCheckCommand } from '../../src/cli/check.ts';
import { cliCommand } from '../../src/cli/index.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/logger.ts';

let repo: FakeMavenRepo;
let dir: string;
const limits = { maxPoms: 100, maxDepth: 8 };

async function checkout(name: string, files: Record<string, string>): Promise<string> {
  const root = path.join(dir, name);
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), text);
  }
  return root;
}

const reader = (overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}, store?: Store) =>
  createMavenRepository({
    config: mavenConfigSchema.parse({ transitive: true, repositories: [{ url: repo.url }], timeoutMs: 5000, ...overrides }),
    env,
    store,
  });

const servicePom = (deps: string) => `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>sessions</artifactId>
  <version>1.0.0</version>
  <properties>
    <lettuce.version>5.0.0.RELEASE</lettuce.version>
  </properties>
  <dependencies>
${deps}
  </dependencies>
</project>
`;
const lettuceDep = `    <dependency>
      <groupId>io.lettuce</groupId>
      <artifactId>lettuce-core</artifactId>
      <version>\${lettuce.version}</version>
    </dependency>`;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'archshift-transitive-'));
  repo = await startFakeMavenRepo();
  // lettuce's releases take netty's version from their parent's properties.
  repo.publish(
    'io.lettuce:lettuce-parent:5.0.0.RELEASE',
    pom('io.lettuce:lettuce-parent:5.0.0.RELEASE', {
      properties: { 'netty.version': '4.1.17.Final', 'project.description.long': 'x'.repeat(1500) },
    }),
  );
  for (const [v, netty] of [
    ['5.0.0.RELEASE', '4.1.17.Final'],
    ['5.0.5.RELEASE', '4.1.24.Final'],
    ['5.3.6.RELEASE', '4.1.58.Final'],
    ['6.0.0.RC1', '4.1.51.Final'],
  ] as const) {
    repo.publish(
      `io.lettuce:lettuce-core:${v}`,
      pom(`io.lettuce:lettuce-core:${v}`, {
        parent: v === '5.0.0.RELEASE' ? 'io.lettuce:lettuce-parent:5.0.0.RELEASE' : undefined,
        dependencies: [
          `io.netty:netty-handler:${v === '5.0.0.RELEASE' ? '${netty.version}' : netty}`,
          `io.netty:netty-transport-native-epoll:${v === '5.0.0.RELEASE' ? '${netty.version}' : netty}`,
          'junit:junit:4.12:scope=test',
          'io.projectreactor:reactor-core:3.1.2.RELEASE:optional=true',
        ],
      }),
    );
  }
  for (const v of ['4.1.17.Final', '4.1.24.Final', '4.1.58.Final', '4.1.60.Final']) {
    repo.publish(`io.netty:netty-handler:${v}`, pom(`io.netty:netty-handler:${v}`));
    repo.publish(`io.netty:netty-transport-native-epoll:${v}`, pom(`io.netty:netty-transport-native-epoll:${v}`));
  }
  // Spring Boot's parent chain manages netty for everything below the service.
  repo.publish(
    'org.springframework.boot:spring-boot-dependencies:2.4.3',
    pom('org.springframework.boot:spring-boot-dependencies:2.4.3', {
      properties: { 'netty.version': '4.1.60.Final' },
      managed: ['io.netty:netty-bom:${netty.version}:type=pom,scope=import'],
    }),
  );
  repo.publish(
    'io.netty:netty-bom:4.1.60.Final',
    pom('io.netty:netty-bom:4.1.60.Final', {
      managed: ['io.netty:netty-transport-native-epoll:4.1.60.Final', 'io.netty:netty-handler:4.1.60.Final'],
    }),
  );
  repo.publish(
    'org.springframework.boot:spring-boot-starter-parent:2.4.3',
    pom('org.springframework.boot:spring-boot-starter-parent:2.4.3', { parent: 'org.springframework.boot:spring-boot-dependencies:2.4.3' }),
  );
  repo.publish(
    'com.example:client-lib:2.0.0',
    pom('com.example:client-lib:2.0.0', {
      dependencies: ['io.lettuce:lettuce-core:5.0.0.RELEASE:exclude=io.netty/netty-transport-native-epoll'],
    }),
  );
});
after(async () => {
  await repo.close();
  await rm(dir, { recursive: true, force: true });
});

const jvm = (findings: Finding[]) => findings.filter((f) => f.ecosystem === 'jvm');

test('netty epoll arriving through lettuce-core is named with its path, and the bump of lettuce-core that brings a fixed netty is offered', async () => {
  const root = await checkout('lettuce', { 'pom.xml': servicePom(lettuceDep) });
  const findings = jvm(await scanCheckout(root, { maven: { reader: reader(), limits } }));
  const epoll = findings.find((f) => f.id === 'jvm.netty-epoll')!;
  assert.ok(epoll, JSON.stringify(findings, null, 1));
  assert.match(
    epoll.title,
    /^io\.netty:netty-transport-native-epoll 4\.1\.17\.Final arrives through io\.lettuce:lettuce-core 5\.0\.0\.RELEASE: /,
  );
  // 5.0.5 still brings a netty without aarch64; 6.0.0.RC1 is a pre-release: 5.3.6 is the first that fixes it.
  assert.match(
    epoll.fix!,
    /^Bump io\.lettuce:lettuce-core to 5\.3\.6\.RELEASE or later: it brings io\.netty:netty-transport-native-epoll 4\.1\.58\.Final\. Kept at this severity: no source/,
  );
  assert.equal(epoll.severity, 'change');
  // The declared library's version is the property: that is the line the PR bumps.
  assert.deepEqual(epoll.autofix?.params, {
    file: 'pom.xml',
    package: 'io.lettuce:lettuce-core',
    from: '5.0.0.RELEASE',
    to: '5.3.6.RELEASE',
    line: '8',
  });
  assert.equal(
    findings.some((f) => f.id === 'jvm.scanned'),
    false,
    '"nothing known to break" must not stand beside a culprit',
  );
  // Test-scoped and optional dependencies of lettuce were never followed.
  assert.ok(!repo.requests.some((r) => r.startsWith('junit/') || r.startsWith('io/projectreactor/')));
});

test("what the service manages wins below it (Spring Boot's netty.version via its parent and netty-bom): no culprit, and the tree is said to be resolved", async () => {
  const root = await checkout('boot', {
    'pom.xml': servicePom(lettuceDep).replace(
      '<groupId>com.example</groupId>',
      '<parent><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-parent</artifactId><version>2.4.3</version><relativePath/></parent>\n  <groupId>com.example</groupId>',
    ),
  });
  const findings = jvm(await scanCheckout(root, { maven: { reader: reader(), limits } }));
  assert.deepEqual(findings.map((f) => `${f.severity} ${f.id}`).sort(), ['info jvm.scanned', 'info jvm.tree-resolved']);
});

test('exclusions cut the culprit out; the direct declaration is nearest and wins', async () => {
  const root = await checkout('excluded', {
    'pom.xml': servicePom(
      '    <dependency><groupId>com.example</groupId><artifactId>client-lib</artifactId><version>2.0.0</version></dependency>',
    ),
  });
  const findings = jvm(await scanCheckout(root, { maven: { reader: reader(), limits } }));
  assert.equal(
    findings.find((f) => f.id === 'jvm.netty-epoll'),
    undefined,
    JSON.stringify(findings),
  );
  const pinned = await checkout('pinned', {
    'pom.xml': servicePom(
      `${lettuceDep}\n    <dependency><groupId>io.netty</groupId><artifactId>netty-transport-native-epoll</artifactId><version>4.1.60.Final</version></dependency>`,
    ),
  });
  assert.equal(
    jvm(await scanCheckout(pinned, { maven: { reader: reader(), limits } })).find((f) => f.id === 'jvm.netty-epoll'),
    undefined,
  );
});

test('an unreachable, refusing or oversized repository makes the tree unknown with the reason, never clean', async () => {
  const root = await checkout('down', { 'pom.xml': servicePom(lettuceDep) });
  const cases: Array<[() => void, Record<string, unknown>, RegExp]> = [
    [() => repo.fail(503), {}, /answered 503/],
    [() => repo.fail(undefined), { maxPomBytes: 1024 }, /over the 1024-byte limit/],
    [() => undefined, { repositories: [{ url: 'http://127.0.0.1:9' }] }, /could not be reached/],
  ];
  for (const [setup, overrides, reason] of cases) {
    setup();
    const findings = await scanCheckout(root, { maven: { reader: reader(overrides), limits } });
    const unknown = findings.find((f) => f.id === 'jvm.tree-unknown');
    assert.ok(unknown, JSON.stringify(findings.map((f) => f.title)));
    assert.equal(unknown.severity, 'unknown');
    assert.match(unknown.title, reason);
    assert.notEqual(buildReport('svc', findings).verdict, 'ready');
  }
  repo.fail(undefined);
});

test('an authenticated mirror: the password comes from passwordEnv; release POMs are cached in the store', async () => {
  const mirror = await startFakeMavenRepo({ username: 'ci', password: 's3cret' });
  const store = await Store.open(path.join(dir, 'store.json'));
  try {
    mirror.publish(
      'io.lettuce:lettuce-core:5.0.0.RELEASE',
      pom('io.lettuce:lettuce-core:5.0.0.RELEASE', { dependencies: ['io.netty:netty-transport-native-epoll:4.1.17.Final'] }),
    );
    mirror.publish('io.netty:netty-transport-native-epoll:4.1.17.Final', pom('io.netty:netty-transport-native-epoll:4.1.17.Final'));
    const root = await checkout('mirror', { 'pom.xml': servicePom(lettuceDep) });
    const config = { repositories: [{ url: mirror.url, username: 'ci', passwordEnv: 'MIRROR_PASSWORD' }] };
    const missing = await scanCheckout(root, { maven: { reader: reader(config, {}), limits } });
    assert.match(missing.find((f) => f.id === 'jvm.tree-unknown')!.title, /MIRROR_PASSWORD/);
    const wrong = await scanCheckout(root, { maven: { reader: reader(config, { MIRROR_PASSWORD: 'nope' }), limits } });
    assert.match(wrong.find((f) => f.id === 'jvm.tree-unknown')!.title, /answered 401 \(check maven\.repositories username\/passwordEnv\)/);
    const first = await scanCheckout(root, { maven: { reader: reader(config, { MIRROR_PASSWORD: 's3cret' }, store), limits } });
    assert.match(first.find((f) => f.id === 'jvm.netty-epoll')!.title, /arrives through io\.lettuce:lettuce-core/);
    const poms = mirror.requests.filter((r) => r.endsWith('.pom')).length;
    await scanCheckout(root, { maven: { reader: reader(config, { MIRROR_PASSWORD: 's3cret' }, store), limits } });
    assert.equal(mirror.requests.filter((r) => r.endsWith('.pom')).length, poms, 'cached POMs are not asked for again');
  } finally {
    await store.close();
    await mirror.close();
  }
});

test('through the composition root: `archshift check <path>` with maven.transitive names the culprit', async () => {
  const root = await checkout('cli', { 'pom.xml': servicePom(lettuceDep) });
  const config = parseConfig({
    maven: { transitive: true, repositories: [{ url: repo.url }] },
    store: { file: path.join(dir, 'cli-store.json') },
  });
  const deps = await buildDeps(config, { logger: createLogger('silent'), env: {} });
  try {
    const out: string[] = [];
    await runCheckCommand(
      parseArgs([root, '--json'], cliCommand('check')!.booleanOptions),
      { out: (t) => out.push(t), err: (t) => out.push(t) },
      async () => deps,
    );
    const report = JSON.parse(out.join('\n')) as { findings: Finding[] };
    assert.match(
      report.findings.find((f) => f.id === 'jvm.netty-epoll')!.title,
      /arrives through io\.lettuce:lettuce-core 5\.0\.0\.RELEASE/,
    );
  } finally {
    await deps.store.close();
  }
});

test("a versionless dependency set by an outside BOM: the BOM's version is judged, and the fix names the property it reads or the BOM to move", async () => {
  repo.publish(
    'org.springframework.boot:spring-boot-dependencies:2.0.0.RELEASE',
    pom('org.springframework.boot:spring-boot-dependencies:2.0.0.RELEASE', {
      properties: { 'netty.version': '4.1.22.Final' },
      managed: ['io.netty:netty-transport-native-epoll:${netty.version}'],
    }),
  );
  repo.publish(
    'org.springframework.boot:spring-boot-starter-parent:2.0.0.RELEASE',
    pom('org.springframework.boot:spring-boot-starter-parent:2.0.0.RELEASE', {
      parent: 'org.springframework.boot:spring-boot-dependencies:2.0.0.RELEASE',
    }),
  );
  const root = await checkout('boot-managed', {
    'pom.xml': `<project><modelVersion>4.0.0</modelVersion>
  <parent><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-parent</artifactId><version>2.0.0.RELEASE</version><relativePath/></parent>
  <artifactId>relay</artifactId>
  <dependencies>
    <dependency><groupId>io.netty</groupId><artifactId>netty-transport-native-epoll</artifactId></dependency>
  </dependencies>
</project>
`,
  });
  const offline = jvm(await scanCheckout(root));
  assert.match(offline.find((f) => f.id === 'jvm.netty-epoll')!.title, /version not known here/);
  const findings = jvm(await scanCheckout(root, { maven: { reader: reader(), limits } }));
  const epoll = findings.filter((f) => f.id === 'jvm.netty-epoll');
  assert.equal(epoll.length, 1, JSON.stringify(epoll));
  assert.match(
    epoll[0]!.title,
    /^io\.netty:netty-transport-native-epoll 4\.1\.22\.Final \(the version org\.springframework\.boot:spring-boot-starter-parent:2\.0\.0\.RELEASE manages\)/,
  );
  assert.equal(epoll[0]!.severity, 'change');
  assert.match(
    epoll[0]!.fix!,
    /^Set the property the BOM reads, netty\.version, to 4\.1\.58\.Final in pom\.xml, or move org\.springframework\.boot:spring-boot-starter-parent:2\.0\.0\.RELEASE to a release that manages/,
  );
});
