import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { analysePipeline } from '../../src/readiness/analysers/pipeline.ts';

const fixture = (service: string) => readFileSync(new URL(`../fixtures/services/${service}/pipeline.yml`, import.meta.url), 'utf8');

describe('pipeline analyser', () => {
  test('mustBuildARM64: true under docker-build (in its with: block) is evidence, not a change', () => {
    const [f, ...rest] = analysePipeline('pipelines/checkout-api.yml', fixture('checkout-api'));
    assert.equal(rest.length, 0);
    assert.equal(f!.id, 'pipeline.arm64-build');
    assert.equal(f!.severity, 'info');
    assert.deepEqual([f!.evidence.file, f!.evidence.line], ['pipelines/checkout-api.yml', 7]);
  });

  test('a missing key is a change archshift can apply in the with: block', () => {
    const [f] = analysePipeline('p.yml', fixture('legacy-billing'));
    assert.equal(f!.id, 'pipeline.arm64-build-off');
    assert.equal(f!.severity, 'change');
    assert.equal(f!.evidence.line, 2);
    assert.deepEqual(f!.autofix, {
      kind: 'pipeline',
      params: { file: 'p.yml', path: '["/pipeline","docker-build","with"]', key: 'mustBuildARM64', value: 'true' },
    });
  });

  test('mustBuildARM64: false points at that line and edits it in place', () => {
    const [f] = analysePipeline('p.yml', fixture('search-indexer'));
    assert.equal(f!.id, 'pipeline.arm64-build-off');
    assert.equal(f!.evidence.line, 6);
    assert.match(f!.title, /sets mustBuildARM64 to false/);
    assert.equal(f!.autofix!.params.path, '["/pipeline","docker-build","with"]');
  });

  test('a step without a with: block gets the key in the step itself; a quoted "true" counts', () => {
    const [off] = analysePipeline('p.yml', 'steps:\n  - docker-build:\n      image: x\n');
    assert.equal(off!.autofix!.params.path, '["steps","0","docker-build"]');
    const [on] = analysePipeline('p.yml', 'docker-build:\n  mustBuildARM64: "true"\n');
    assert.equal(on!.id, 'pipeline.arm64-build');
  });

  test('the section and flag names are configurable', () => {
    const [f] = analysePipeline('p.yml', 'build:\n  arm64: true\n', { section: 'build', flag: 'arm64' });
    assert.equal(f!.id, 'pipeline.arm64-build');
  });

  test('a missing file, bad YAML or no build step leave the build unknown', () => {
    assert.deepEqual(
      analysePipeline('p.yml', undefined).map((f) => [f.id, f.severity]),
      [['pipeline.missing', 'unknown']],
    );
    const [bad] = analysePipeline('p.yml', 'a: [1\nb: 2\n');
    assert.deepEqual([bad!.id, bad!.severity], ['pipeline.unparseable', 'unknown']);
    assert.deepEqual(
      analysePipeline('p.yml', 'deploy: {}\n').map((f) => [f.id, f.severity]),
      [['pipeline.no-build-step', 'unknown']],
    );
  });
});
