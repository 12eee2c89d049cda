import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadReplacementTable, rankTagCandidates, suggestReplacement } from '../../src/images/nearest-tag.ts';
import { parseImageRef } from '../../src/images/ref.ts';

describe('rankTagCandidates', () => {
  const tags = ['1.2.3', '1.2.4', '1.2.5', '1.3.0', '1.3', '2.0.0', '1.2.2', '1.2.4-alpine', 'latest', '1.2.10', 'v1.2.9'];
  test('same major and precision first, closest version first, never a downgrade', () => {
    assert.deepEqual(rankTagCandidates('1.2.3', tags), ['1.2.4', '1.2.5', '1.2.10', '1.3.0', '1.3', '2.0.0']);
  });
  test('keeps the flavour suffix', () => {
    const flavoured = [
      '17-jdk',
      '17.0.9-jdk17',
      '17.0.10-jdk17',
      '17.0.10-jdk21',
      '17.0.11-slim-bookworm',
      '17.0.12-slim-bookworm',
      '17.0.12-slim',
    ];
    assert.deepEqual(rankTagCandidates('17.0.8-jdk17', flavoured), ['17.0.9-jdk17', '17.0.10-jdk17']);
    assert.deepEqual(rankTagCandidates('17.0.10-slim-bookworm', flavoured), ['17.0.11-slim-bookworm', '17.0.12-slim-bookworm']);
  });
  test('an Alpine release may move, the exact suffix is preferred at equal versions', () => {
    const alpine = ['3.9-alpine3.19', '3.9-alpine3.18', '3.10-alpine3.19', '3.9-slim', '3.8-alpine3.18'];
    assert.deepEqual(rankTagCandidates('3.9-alpine3.18', ['3.9-alpine3.18', ...alpine]), ['3.9-alpine3.19', '3.10-alpine3.19']);
    assert.deepEqual(rankTagCandidates('3.9-alpine3.17', alpine), ['3.9-alpine3.18', '3.9-alpine3.19', '3.10-alpine3.19']);
  });
  test('a floating major stays floating before pinned versions; v-prefix must match', () => {
    assert.deepEqual(rankTagCandidates('6', ['6.0', '6.2.1', '7', '8', '5', 'v7']), ['6.0', '6.2.1', '7', '8']);
    assert.deepEqual(rankTagCandidates('v1.2', ['1.3', 'v1.3', 'v1.10', 'v2.0']), ['v1.3', 'v1.10', 'v2.0']);
  });
  test('a tag that is not a version has no candidates', () => {
    assert.deepEqual(rankTagCandidates('latest', tags), []);
    assert.deepEqual(rankTagCandidates('stable-slim', tags), []);
  });
});

describe('replacement table', () => {
  const replace = (reference: string) => suggestReplacement(parseImageRef(reference));
  const cases: [string, string, boolean][] = [
    ['openjdk:8-jdk', 'eclipse-temurin:8-jdk', true],
    ['openjdk:8-jre', 'eclipse-temurin:8-jre', true],
    ['openjdk:11', 'eclipse-temurin:11-jdk', true],
    ['openjdk:17.0.2-jdk-slim-bullseye', 'eclipse-temurin:17-jdk', true],
    ['openjdk:11-jre-slim', 'eclipse-temurin:11-jre', true],
    ['openjdk:8u342-jdk', 'eclipse-temurin:8-jdk', true],
    ['docker.io/library/openjdk:17', 'docker.io/library/eclipse-temurin:17-jdk', true],
    ['adoptopenjdk:11-jre-hotspot', 'eclipse-temurin:11-jre', true],
    ['adoptopenjdk/openjdk11:latest', '', false],
    ['java:8', 'eclipse-temurin:8-jdk', true],
    ['vault:1.13.3', 'hashicorp/vault:1.13.3', true],
    ['consul:1.15', 'hashicorp/consul:1.15', true],
    ['openjdk:windowsservercore', 'eclipse-temurin', false],
  ];
  for (const [input, image, mapped] of cases) {
    test(`${input} -> ${image || 'nothing'}`, () => {
      const r = replace(input);
      if (!image) return assert.equal(r, undefined);
      assert.ok(r, 'a replacement is suggested');
      assert.equal(r.image, image);
      assert.equal(r.tagMapped, mapped);
      assert.match(r.source, /^https:\/\//);
    });
  }
  test('images not in the table and other registries are left alone', () => {
    assert.equal(replace('redis:7'), undefined);
    assert.equal(replace('ghcr.io/acme/openjdk:11'), undefined);
  });
  test('the shipped table parses and every rule is a valid regular expression', () => {
    const table = loadReplacementTable();
    assert.ok(table.replacements.length >= 5);
    for (const entry of table.replacements) for (const rule of entry.tags) assert.doesNotThrow(() => new RegExp(rule.match));
  });
});
