import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { analyseDockerfile } from '../../src/readiness/analysers/dockerfile.ts';

const fixture = (service: string) => readFileSync(new URL(`../fixtures/services/${service}/Dockerfile`, import.meta.url), 'utf8');
const ids = (findings: { id: string }[]) => findings.map((f) => f.id).sort();

describe('Dockerfile analyser', () => {
  test('multi-stage with ARG-built names: expands defaults, follows stage references, skips unused stages', () => {
    const { findings, images } = analyseDockerfile('Dockerfile', fixture('checkout-api'));
    assert.deepEqual(findings, []);
    assert.deepEqual(
      images.map((i) => [i.reference, i.stage, i.role, i.line]),
      [
        ['registry.invalid:5000/library/golang:1.22', 'build', 'build-host', 7],
        [
          'registry.invalid:5000/distroless/static:nonroot@sha256:e682d05f7be5007ee3ff9a0a6026813436014b9d1fdad3d01865dfe77e6f24f0',
          '#2',
          'target',
          18,
        ],
      ],
    );
    // The golang FROM is built from two ARGs: no single text a PR could replace.
    assert.equal(images[0]!.edit, undefined);
    // `FROM ${RUNTIME}` is edited where RUNTIME's default is written... which itself uses ${REGISTRY}.
    assert.equal(images[1]!.edit, undefined);
  });

  test('a tag from an ARG is edited at the ARG line', () => {
    const { findings, images } = analyseDockerfile('Dockerfile', fixture('catalog-web'));
    assert.deepEqual(findings, []);
    assert.equal(images.length, 2);
    for (const i of images) {
      assert.equal(i.reference, 'registry.invalid:5000/library/node:14-alpine');
      assert.equal(i.role, 'target');
      assert.deepEqual(i.edit, { file: 'Dockerfile', line: 1, text: '14-alpine', part: 'tag' });
    }
  });

  test('pinned platforms and GOARCH=amd64 are changes with file:line evidence', () => {
    const { findings, images } = analyseDockerfile('build/Dockerfile', fixture('search-indexer'));
    assert.deepEqual(ids(findings), ['dockerfile.goarch-amd64', 'dockerfile.platform-pinned', 'dockerfile.platform-pinned']);
    const pins = findings.filter((f) => f.id === 'dockerfile.platform-pinned');
    assert.deepEqual(
      pins.map((f) => [f.severity, f.evidence.file, f.evidence.line]),
      [
        ['change', 'build/Dockerfile', 1],
        ['change', 'build/Dockerfile', 6],
      ],
    );
    assert.deepEqual(pins[0]!.autofix, {
      kind: 'base',
      params: { file: 'build/Dockerfile', line: '1', from: '--platform=linux/amd64 ', to: '' },
    });
    const goarch = findings.find((f) => f.id === 'dockerfile.goarch-amd64')!;
    assert.equal(goarch.evidence.line, 4);
    assert.match(goarch.evidence.excerpt!, /GOARCH=amd64/);
    assert.deepEqual(
      images.map((i) => i.edit?.text),
      ['registry.invalid:5000/library/golang:1.22', 'registry.invalid:5000/library/alpine:3.19'],
    );
  });

  test('an x86_64 download in the final stage is a blocker pointing at the URL line', () => {
    const { findings } = analyseDockerfile('Dockerfile', fixture('legacy-billing'));
    const download = findings.find((f) => f.id === 'dockerfile.amd64-download')!;
    assert.equal(download.severity, 'blocker');
    assert.equal(download.evidence.line, 3);
    assert.match(download.title, /agent-2\.1-linux-x86_64\.tgz/);
    assert.ok(findings.some((f) => f.id === 'dockerfile.platform-pinned'));
  });

  test('BUILDPLATFORM and TARGETPLATFORM are fine; a download chosen per TARGETARCH is not flagged', () => {
    const text = [
      'FROM --platform=$BUILDPLATFORM golang:1.22 AS build',
      'ARG TARGETARCH',
      'RUN case "$TARGETARCH" in amd64) A=x86_64;; arm64) A=aarch64;; esac && \\',
      '    curl -fsSL https://example.com/tool-linux-$A.tar.gz | tar xz',
      'RUN curl -fsSLO https://example.com/kubectl/linux/${TARGETARCH}/kubectl',
      'FROM --platform=${TARGETPLATFORM} alpine:3.19',
      'COPY --from=build /kubectl /usr/bin/',
    ].join('\n');
    const { findings, images } = analyseDockerfile('Dockerfile', text);
    assert.deepEqual(findings, []);
    assert.deepEqual(
      images.map((i) => i.role),
      ['build-host', 'target'],
    );
  });

  test('downloads in a build-host stage warn; findings in stages the final image does not use warn', () => {
    const text = [
      'FROM --platform=$BUILDPLATFORM debian:12 AS tools',
      'RUN wget https://example.com/protoc-25-linux-x86_64.zip',
      'FROM --platform=linux/amd64 debian:12 AS old-test',
      'ENV GOARCH=amd64',
      'FROM alpine:3.19',
      'COPY --from=tools /protoc /usr/bin/protoc',
    ].join('\n');
    const { findings, images } = analyseDockerfile('Dockerfile', text);
    assert.deepEqual(
      findings.map((f) => [f.id, f.severity, f.evidence.line]),
      [
        ['dockerfile.amd64-download', 'warning', 2],
        ['dockerfile.platform-pinned', 'warning', 3],
        ['dockerfile.goarch-amd64', 'warning', 4],
      ],
    );
    assert.equal(findings[1]!.autofix, undefined);
    assert.deepEqual(
      images.map((i) => [i.stage, i.role]),
      [
        ['tools', 'build-host'],
        ['old-test', 'unused'],
        ['#2', 'target'],
      ],
    );
  });

  test('an ARG default for the platform that says amd64 is a pin', () => {
    const { findings } = analyseDockerfile('Dockerfile', 'ARG PLATFORM=linux/amd64\nFROM --platform=${PLATFORM} alpine:3.19\n');
    assert.deepEqual(ids(findings), ['dockerfile.platform-pinned']);
  });

  test('an ARG without a default in FROM makes the image unknown', () => {
    const { findings, images } = analyseDockerfile('Dockerfile', 'ARG BASE\nFROM ${BASE}:1.0\nRUN true\n');
    assert.deepEqual(images, []);
    assert.equal(findings[0]!.id, 'dockerfile.unresolved-arg');
    assert.equal(findings[0]!.severity, 'unknown');
    assert.equal(findings[0]!.evidence.line, 2);
  });

  test('${VAR:-default} supplies a value; COPY --from an image is an image use', () => {
    const { findings, images } = analyseDockerfile(
      'Dockerfile',
      'ARG V\nFROM node:${V:-20}-slim\nCOPY --from=ghcr.io/acme/tools:1.2 /bin/tool /usr/bin/\n',
    );
    assert.deepEqual(findings, []);
    assert.deepEqual(
      images.map((i) => [i.reference, i.via, i.line]),
      [
        ['node:20-slim', 'FROM', 2],
        ['ghcr.io/acme/tools:1.2', 'COPY --from', 3],
      ],
    );
  });

  test('a hard-coded apt :amd64 package and an ADD of an amd64 URL are found', () => {
    const text = 'FROM debian:12\nRUN apt-get install -y libfoo1:amd64\nADD https://example.com/bin/linux_amd64/tool /usr/bin/tool\n';
    const { findings } = analyseDockerfile('Dockerfile', text);
    assert.deepEqual(
      findings.map((f) => [f.id, f.evidence.line]),
      [
        ['dockerfile.amd64-download', 2],
        ['dockerfile.amd64-download', 3],
      ],
    );
  });

  for (const [name, text, why] of [
    ['no FROM', 'RUN echo hi\n', /no FROM instruction/],
    ['RUN before FROM', 'ARG A=1\nRUN echo hi\nFROM alpine\n', /RUN comes before the first FROM/],
    ['empty', '', /no FROM instruction/],
    ['unknown instruction', 'FROM alpine\nFROB x\n', /unknown instruction "FROB"/],
    ['FROM without image', 'FROM\n', /names no image/],
    ['binary', 'FROM alpine\u0000\u0001', /binary/],
  ] as const) {
    test(`a Dockerfile that does not parse (${name}) is one unknown finding`, () => {
      const { findings, images } = analyseDockerfile('Dockerfile', text);
      assert.equal(images.length, 0);
      assert.equal(findings.length, 1);
      assert.equal(findings[0]!.id, 'dockerfile.unparseable');
      assert.equal(findings[0]!.severity, 'unknown');
      assert.match(findings[0]!.title, why);
    });
  }
});
