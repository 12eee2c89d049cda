// CI files that build images (GitHub Actions, GitLab CI, Jenkinsfile), `readiness.exclude` and
// `.archshiftignore`, and the pipeline file of a local checkout (`readiness.pipeline.path`, `--pipeline`).
// The CI texts follow the shapes projects use: build-push-action with a comma list or a block of
// platforms, a matrix expression, `docker buildx build` continued over lines in GitLab and Jenkins.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { analyseCiFile, ciKindOf } from '../../src/readiness/analysers/ci.ts';
import { checkPath, defaultCheckSettings } from '../../src/readiness/check.ts';
import { parseArgs } from '../../src/args.ts';
import { runCheckCommand } from '../../src/cli/check.ts';
import { cliCommand } from '../../src/cli/index.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Deps } from '../../src/deps.ts';

const actions = (platforms: string) => `name: release
on:
  push:
    tags: ['v*']
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: docker/setup-qemu-action@v3
      - uses: docker/setup-buildx-action@v3
      - name: Build and push
        uses: docker/build-push-action@v6
        with:
          context: .
          push: true
${platforms}          tags: ghcr.io/acme/api:\${{ github.ref_name }}
`;

describe('the CI-file analyser', () => {
  test('which files are CI files', () => {
    assert.equal(ciKindOf('.github/workflows/release.yml'), 'github-actions');
    assert.equal(ciKindOf('.gitlab-ci.yml'), 'gitlab-ci');
    assert.equal(ciKindOf('Jenkinsfile'), 'jenkins');
    assert.equal(ciKindOf('ci/Jenkinsfile.release'), 'jenkins');
    assert.equal(ciKindOf('docs/workflows/release.yml'), undefined);
  });

  test('build-push-action: platforms as a list with arm64, a block, none, or an expression', () => {
    const withArm = analyseCiFile('.github/workflows/release.yml', actions('          platforms: linux/amd64,linux/arm64\n'));
    assert.deepEqual(
      withArm.findings.map((f) => [f.id, f.severity, f.evidence.line]),
      [['ci.arm64-build', 'info', 13]],
    );
    const block = analyseCiFile(
      '.github/workflows/release.yml',
      actions('          platforms: |\n            linux/amd64\n            linux/arm64/v8\n'),
    );
    assert.equal(block.findings[0]!.id, 'ci.arm64-build');
    const none = analyseCiFile('.github/workflows/release.yml', actions(''));
    assert.deepEqual(
      none.findings.map((f) => [f.id, f.severity]),
      [['ci.no-arm64-build', 'change']],
    );
    assert.match(none.findings[0]!.fix!, /platforms:/);
    const amd = analyseCiFile('.github/workflows/release.yml', actions('          platforms: linux/amd64\n'));
    assert.match(amd.findings[0]!.title, /for linux\/amd64: no linux\/arm64/);
    const matrix = analyseCiFile('.github/workflows/release.yml', actions('          platforms: ${{ matrix.platform }}\n'));
    assert.deepEqual(
      matrix.findings.map((f) => [f.id, f.severity]),
      [['ci.platforms-unresolved', 'warning']],
    );
  });

  test('a workflow that builds nothing says nothing; broken YAML is a warning', () => {
    assert.deepEqual(
      analyseCiFile(
        '.github/workflows/test.yml',
        'on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n',
      ),
      { builds: false, findings: [] },
    );
    assert.equal(analyseCiFile('.github/workflows/x.yml', 'jobs: [\n').findings[0]!.id, 'ci.unparseable');
  });

  test('GitLab CI and Jenkinsfile: docker buildx build --platform, continued lines, plain docker build', () => {
    const gitlab = `build:
  image: docker:27
  services: [docker:27-dind]
  script:
    - docker buildx create --use
    - >-
      docker buildx build --push
      --platform linux/amd64,linux/arm64
      -t $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA .
`;
    assert.deepEqual(
      analyseCiFile('.gitlab-ci.yml', gitlab).findings.map((f) => f.id),
      ['ci.arm64-build'],
    );
    const jenkins = `pipeline {
  agent any
  stages {
    stage('Image') {
      steps {
        sh '''
          docker buildx build \\
            --platform=linux/arm64,linux/amd64 \\
            -t registry.acme.io/api:\${GIT_COMMIT} --push .
        '''
        sh "docker build -t registry.acme.io/api-debug:\${GIT_COMMIT} ."
      }
    }
  }
}
`;
    const j = analyseCiFile('Jenkinsfile', jenkins);
    assert.deepEqual(
      j.findings.map((f) => [f.id, f.evidence.line]),
      [
        ['ci.arm64-build', 7],
        ['ci.no-arm64-build', 11],
      ],
    );
  });
});

describe('a local checkout without noise', () => {
  let dir: string;
  const write = async (rel: string, text: string) => {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text);
  };
  const ids = async (settings = defaultCheckSettings, pipelineFile?: string) =>
    (await checkPath(join(dir, 'svc'), { settings, pipelineFile, scan: async () => [] })).findings.map((f) =>
      `${f.id} ${f.evidence.file ?? ''}`.trim(),
    );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'archshift-noise-'));
    await write('svc/Dockerfile', 'FROM scratch\nCOPY app /app\n');
    // Fixtures and docs with Dockerfiles that are not the service's.
    await write('svc/test/fixtures/old/Dockerfile', 'FROM --platform=linux/amd64 scratch\n');
    await write('svc/docs/examples/Dockerfile', 'FROM --platform=linux/amd64 scratch\n');
    await write('svc/.github/workflows/release.yml', actions('          platforms: linux/amd64,linux/arm64\n'));
    await write('cd/services/svc.yml', '/pipeline:\n  docker-build:\n    with:\n      mustBuildARM64: true\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('without exclusions the fixtures and docs are read', async () => {
    const found = await ids();
    assert.ok(found.includes('dockerfile.platform-pinned test/fixtures/old/Dockerfile'), found.join('\n'));
    assert.ok(found.includes('ci.arm64-build .github/workflows/release.yml'));
    assert.ok(!found.some((f) => f.startsWith('pipeline.not-checked')), 'the CI file answered whether arm64 is built');
  });

  test('readiness.exclude and .archshiftignore leave them out', async () => {
    const byConfig = await ids({ ...defaultCheckSettings, exclude: ['test/fixtures/', 'docs/'] });
    assert.ok(!byConfig.some((f) => f.includes('test/fixtures') || f.includes('docs/')), byConfig.join('\n'));
    await write('svc/.archshiftignore', '# not the service\ntest/fixtures/\ndocs/\n');
    const byFile = await ids();
    assert.ok(!byFile.some((f) => f.includes('test/fixtures') || f.includes('docs/')), byFile.join('\n'));
    assert.ok(byFile.includes('dockerfile.platform-pinned') === false);
    await rm(join(dir, 'svc/.archshiftignore'));
  });

  test('the pipeline file: --pipeline FILE anywhere, or readiness.pipeline.path in the checkout', async () => {
    const named = await ids(defaultCheckSettings, join(dir, 'cd/services/svc.yml'));
    assert.ok(named.includes('pipeline.arm64-build svc.yml'), named.join('\n'));
    await write('svc/deploy/pipeline.yaml', '/pipeline:\n  docker-build:\n    with:\n      mustBuildARM64: false\n');
    const byPath = await ids({ ...defaultCheckSettings, pipelinePath: 'deploy/pipeline.yaml' });
    assert.ok(byPath.includes('pipeline.arm64-build-off deploy/pipeline.yaml'), byPath.join('\n'));
    const missing = await ids({ ...defaultCheckSettings, pipelinePath: 'nope.yml' });
    assert.ok(missing.includes('pipeline.missing nope.yml'), 'a configured path that is missing is unknown, not skipped');
  });

  test('archshift check PATH --pipeline FILE from the terminal; a missing file is exit 66', async () => {
    const config = parseConfig({ readiness: { exclude: ['docs/'] } });
    const deps = async () => ({ config }) as unknown as Deps;
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    await runCheckCommand(
      parseArgs([join(dir, 'svc'), '--pipeline', join(dir, 'cd/services/svc.yml'), '--json'], cliCommand('check')!.booleanOptions),
      io,
      deps,
    );
    const report = JSON.parse(out[0]!) as { findings: { id: string; evidence: { file?: string } }[] };
    assert.ok(report.findings.some((f) => f.id === 'pipeline.arm64-build'));
    assert.ok(!report.findings.some((f) => f.evidence.file?.startsWith('docs/')));
    await assert.rejects(runCheckCommand(parseArgs([join(dir, 'svc'), '--pipeline', join(dir, 'nope.yml')]), io, deps), /no such file/);
  });
});
