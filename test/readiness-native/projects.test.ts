// Every fixture project is scanned for real; the expected findings are written out by hand from the
// knowledge base's facts, and anything beyond them is a false alarm that fails the test.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { scanCheckout } from '../../src/readiness/scan.ts';
import { buildReport, type Finding } from '../../src/readiness/report.ts';

const projects = fileURLToPath(new URL('../fixtures/projects/', import.meta.url));
const scan = (name: string) => scanCheckout(projects + name);
const brief = (f: Finding) => `${f.severity} ${f.id} ${f.evidence.file}:${f.evidence.line ?? ''}`;

function assertFindings(findings: Finding[], expected: string[]): void {
  assert.deepEqual(findings.map(brief).sort(), [...expected].sort());
  for (const f of findings) assert.ok(f.ecosystem, `ecosystem set on ${f.id}`);
}

describe('JVM', () => {
  test('Maven: properties from the local parent, dependencyManagement, classifiers, protoc, comments ignored', async () => {
    const findings = await scan('jvm-maven');
    assertFindings(findings, [
      'change jvm.rocksdbjni pom.xml:17',
      'change jvm.classifier-x86-only service/pom.xml:11',
      'change jvm.netty-epoll service/pom.xml:14',
      'blocker jvm.leveldbjni service/pom.xml:24',
      'change jvm.zstd-jni service/pom.xml:29',
      'warning jvm.lz4-java service/pom.xml:34',
      'change jvm.protoc service/pom.xml:60',
    ]);
    const netty = findings.find((f) => f.id === 'jvm.netty-epoll')!;
    // The version is a property of the parent: the bump goes where the literal is.
    assert.deepEqual(netty.autofix, {
      kind: 'deps',
      params: { file: 'pom.xml', package: 'io.netty:netty-transport-native-epoll', from: '4.1.45.Final', to: '4.1.58.Final', line: '9' },
    });
    assert.equal(findings.find((f) => f.id === 'jvm.leveldbjni')!.autofix, undefined);
    assert.equal(buildReport('svc', findings).verdict, 'blocked');
  });

  test('Gradle: script variables, catalog version.ref, lockfile resolves transitive versions', async () => {
    const findings = await scan('jvm-gradle');
    assertFindings(findings, [
      'change jvm.sqlite-jdbc app/build.gradle.kts:4',
      'change jvm.classifier-x86-only build.gradle:6',
      'change jvm.netty-epoll build.gradle:6',
      'change jvm.jna build.gradle:8',
      'warning jvm.grpc-netty-shaded gradle.lockfile:3',
      'change jvm.snappy-java gradle.lockfile:7',
      'change jvm.rocksdbjni gradle/libs.versions.toml:6',
      'change jvm.jffi gradle/libs.versions.toml:8',
    ]);
    // A lockfile governs the build: no blind text bump there, and transitive ones say so.
    assert.equal(findings.find((f) => f.id === 'jvm.rocksdbjni')!.autofix, undefined);
    assert.match(findings.find((f) => f.id === 'jvm.snappy-java')!.fix!, /transitively/);
    assert.deepEqual(findings.find((f) => f.id === 'jvm.jffi')!.autofix?.params, {
      file: 'gradle/libs.versions.toml',
      package: 'com.github.jnr:jffi',
      from: '1.2.10',
      to: '1.2.13',
      line: '8',
    });
  });

  test('clean pom with both classifiers and current versions is ready, with evidence', async () => {
    const findings = await scan('clean-jvm');
    assertFindings(findings, ['info jvm.scanned pom.xml:']);
    assert.equal(buildReport('svc', findings).verdict, 'ready');
  });
});

describe('Python', () => {
  test('requirements with nested -r includes, Pipfile.lock, poetry.lock over pyproject, PEP 621', async () => {
    const findings = await scan('python-app');
    assertFindings(findings, [
      'change python.grpcio pep621-svc/pyproject.toml:5',
      'change python.ujson pep621-svc/pyproject.toml:10',
      'change python.scipy pipenv-svc/Pipfile.lock:9',
      'change python.numpy poetry-svc/pyproject.toml:7',
      'change python.numpy requirements.txt:3',
      'change python.pandas requirements.txt:5',
      'warning python.pyyaml requirements.txt:7',
      'change python.mecab-python3 requirements.txt:8',
      'change python.cryptography requirements/base.txt:1',
      'change python.lxml requirements/extra.txt:1',
    ]);
    assert.deepEqual(findings.find((f) => f.id === 'python.numpy' && f.evidence.file === 'requirements.txt')!.autofix?.params, {
      file: 'requirements.txt',
      package: 'numpy',
      from: '1.18.5',
      to: '1.19.0',
      line: '3',
    });
    // poetry.lock pins 1.17.5 under `^1.17`: the lock decides, and no blind bump of the manifest.
    const poetry = findings.find((f) => f.evidence.file === 'poetry-svc/pyproject.toml')!;
    assert.match(poetry.title, /1\.17\.5/);
    assert.equal(poetry.autofix, undefined);
  });

  test('lower bounds, unpinned and pure-Python packages are not alarms', async () => {
    const findings = await scan('clean-python');
    assertFindings(findings, ['info python.scanned requirements.txt:']);
  });
});

describe('Node', () => {
  test('package.json with a lockfile: installed versions decide, transitive addons found', async () => {
    const findings = await scan('node-app');
    assertFindings(findings, [
      'change node.grpc package-lock.json:34',
      'change node.sharp package.json:6',
      'change node.bcrypt package.json:7',
      'change node.node-sass package.json:11',
    ]);
    assert.match(findings.find((f) => f.id === 'node.node-sass')!.fix!, /\bsass\b/);
    assert.ok(
      findings.every((f) => !f.autofix),
      'a lockfile must be regenerated, so no text bump',
    );
  });

  test('without a lockfile a range stands for its lowest version, and the bump keeps the operator', async () => {
    const findings = await scan('node-nolock');
    assertFindings(findings, ['change node.sharp package.json:4']);
    assert.deepEqual(findings[0]!.autofix?.params, { file: 'package.json', package: 'sharp', from: '^0.29.3', to: '^0.30.0', line: '4' });
  });

  test('clean project is ready', async () => {
    assertFindings(await scan('clean-node'), ['info node.scanned package-lock.json:']);
  });
});

describe('Go', () => {
  test('go.mod versions, assembly-only functions, cgo and GOARCH', async () => {
    const findings = await scan('go-app');
    assertFindings(findings, [
      'warning go.toolchain go.mod:3',
      'change go.snappy go.mod:7',
      'blocker go.amd64-only-code internal/simd/sum.go:8',
      'warning go.cgo main.go:6',
      'change go.goarch-amd64 Makefile:2',
    ]);
    assert.deepEqual(findings.find((f) => f.id === 'go.snappy')!.autofix?.params, {
      file: 'go.mod',
      package: 'github.com/golang/snappy',
      from: 'v0.0.2',
      to: 'v0.0.4',
      line: '7',
    });
  });

  test('amd64 assembly with a generic fallback is fine', async () => {
    assertFindings(await scan('clean-go'), ['info go.scanned go.mod:']);
  });
});

describe('C/C++', () => {
  test('unguarded intrinsics, x86 asm, #error on arm64, flags; guarded code with NEON is fine', async () => {
    const findings = await scan('native-app');
    assertFindings(findings, [
      'change native.x86-flags CMakeLists.txt:8',
      'change native.x86-flags Makefile:2',
      'blocker native.inline-asm src/cpu.c:7',
      'blocker native.arch-error src/cpu.c:18',
      'blocker native.x86-asm-source src/crc_x86_64.S:4',
      'blocker native.x86-intrinsics src/fast.c:2',
      'blocker native.x86-intrinsics src/fast.c:5',
      'warning native.x86-intrinsics src/sse_only.c:4',
      'warning native.x86-intrinsics src/sse_only.c:6',
    ]);
    assert.ok(!findings.some((f) => f.evidence.file === 'src/guarded.c'));
    assert.match(findings.find((f) => f.evidence.file === 'Makefile')!.title, /-mavx2 -mfma/);
  });

  test('guarded intrinsics and arch-conditional CMake flags are ready', async () => {
    assertFindings(await scan('clean-native'), ['info native.scanned guarded.c:']);
  });
});

describe('Kubernetes system components', () => {
  test('DaemonSets, sidecar annotations, IstioOperator, Compose, Helm templates and values', async () => {
    const findings = await scan('k8s-system');
    assertFindings(findings, [
      'change system.istio app.yaml:9',
      'change system.fluent-bit chart/templates/daemonset.yaml:10',
      'change system.fluent-bit docker-compose.yml:6',
      'change system.istio chart/values.yaml:4',
      'change system.flink docker-compose.yml:3',
      'change system.fluent-bit fluent-bit.yaml:17',
      'change system.istio istio-operator.yaml:7',
    ]);
    assert.equal(findings.find((f) => f.evidence.file === 'fluent-bit.yaml')!.evidence.image, 'fluent/fluent-bit:1.7.4');
  });

  test('current components are ready', async () => {
    assertFindings(await scan('clean-k8s'), ['info system.scanned logging.yaml:']);
  });
});
