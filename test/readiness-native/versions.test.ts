import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareVersions,
  parseMavenSpec,
  parseNpmSpec,
  parsePep440Spec,
  parsePoetrySpec,
  specEscapesRange,
} from '../../src/readiness/versions.ts';

test('Maven: .Final equals the plain release, qualifiers order before it, numbers after', () => {
  assert.equal(compareVersions('maven', '4.1.50.Final', '4.1.50'), 0);
  assert.equal(compareVersions('maven', '4.1.49.Final', '4.1.50.Final'), -1);
  assert.equal(compareVersions('maven', '4.1.100.Final', '4.1.58.Final'), 1);
  assert.equal(compareVersions('maven', '1.0-rc1', '1.0'), -1);
  assert.equal(compareVersions('maven', '1.0-alpha', '1.0-beta'), -1);
  assert.equal(compareVersions('maven', '1.0-SNAPSHOT', '1.0'), -1);
  assert.equal(compareVersions('maven', '1.0.1', '1.0-sp1'), 1);
  assert.equal(compareVersions('maven', '1.1.2.2', '1.1.3'), -1);
  assert.equal(compareVersions('maven', '31.1-jre', '31.1'), 1);
});

test('PEP 440: pre, post and dev releases, epochs, normalised spellings', () => {
  assert.equal(compareVersions('pep440', '1.19.0', '1.19'), 0);
  assert.equal(compareVersions('pep440', '1.19.0rc1', '1.19.0'), -1);
  assert.equal(compareVersions('pep440', '1.19.0.dev1', '1.19.0a1'), -1);
  assert.equal(compareVersions('pep440', '1.19.0.post1', '1.19.0'), 1);
  assert.equal(compareVersions('pep440', '2.2.post0', '2.2'), 1);
  assert.equal(compareVersions('pep440', '1!0.1', '2.0'), 1);
  assert.equal(compareVersions('pep440', '1.0-1', '1.0'), 1, 'implicit post release');
});

test('semver and Go: ranges, pseudo-versions and +incompatible', () => {
  assert.deepEqual(parseNpmSpec('^0.29.3'), { kind: 'exact', version: '0.29.3' });
  assert.deepEqual(parseNpmSpec('~1.2'), { kind: 'exact', version: '1.2.0' });
  assert.deepEqual(parseNpmSpec('>=2.0.0 <3'), { kind: 'exact', version: '2.0.0' });
  assert.equal(parseNpmSpec('github:user/repo').kind, 'unreadable');
  assert.equal(compareVersions('go', 'v0.0.0-20191109021931-daa7c04131f5', 'v0.0.1'), -1);
  assert.equal(compareVersions('go', 'v1.2.4-0.20191109021931-daa7c04131f5', 'v1.2.3'), 1);
  assert.equal(compareVersions('go', 'v2.0.0+incompatible', 'v2.0.0'), 0);
  assert.equal(compareVersions('go', 'v0.0.3', 'v0.0.2'), 1);
});

test('specs: ranges only break when every allowed version is affected', () => {
  const below = { below: '1.19.0' };
  assert.equal(specEscapesRange('pep440', parsePep440Spec('>=1.10'), below), true);
  assert.equal(specEscapesRange('pep440', parsePep440Spec('<1.19'), below), false);
  assert.equal(specEscapesRange('pep440', parsePep440Spec('<1.20'), below), true);
  assert.equal(specEscapesRange('pep440', parsePep440Spec('~=1.18.0'), below), false);
  assert.equal(specEscapesRange('pep440', parsePep440Spec('==1.18.*'), below), false);
  assert.equal(specEscapesRange('pep440', parsePep440Spec('==1.18.5'), below), false);
  assert.equal(specEscapesRange('pep440', parsePep440Spec(''), below), true);
  assert.equal(specEscapesRange('pep440', parsePep440Spec(''), {}), false, 'no fixed version: any version is affected');
  assert.equal(specEscapesRange('maven', parseMavenSpec('[1.0,2.0)'), { below: '2.0' }), false);
  assert.equal(specEscapesRange('maven', parseMavenSpec('[7.0.0,)'), { below: '6.4.6' }), true);
  assert.deepEqual(parsePoetrySpec('^1.17'), {
    kind: 'range',
    lower: { version: '1.17', inclusive: true },
    upper: { version: '2', inclusive: false },
  });
  assert.deepEqual(parsePoetrySpec('^0.2.3').kind === 'range' && parsePoetrySpec('^0.2.3'), {
    kind: 'range',
    lower: { version: '0.2.3', inclusive: true },
    upper: { version: '0.3', inclusive: false },
  });
});
