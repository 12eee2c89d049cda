// BuildKit's platform arguments as BuildKit applies them (see the note in analysers/dockerfile.ts, from
// moby/buildkit's dockerfile2llb): build-host stages are judged by what the final image takes from them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { analyseDockerfile } from '../../src/readiness/analysers/dockerfile.ts';

const ids = (text: string) =>
  analyseDockerfile('Dockerfile', text)
    .findings.map((f) => f.id)
    .sort();
const final = 'FROM gcr.io/distroless/static:nonroot\nCOPY --from=build /out/app /app\nENTRYPOINT ["/app"]\n';

describe('build-host stages and platform arguments', () => {
  test('a $BUILDPLATFORM Go stage that cross-compiles for $TARGETARCH is not a pin', () => {
    const text = `FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nARG TARGETOS TARGETARCH\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .\n\n${final}`;
    assert.deepEqual(ids(text), []);
  });

  test('a stage pinned to linux/amd64 that cross-compiles, or only builds jars, is not a pin either', () => {
    const go = `FROM --platform=linux/amd64 golang:1.22 AS build\nARG TARGETARCH\nRUN GOARCH=\${TARGETARCH} go build -o /out/app .\n${final}`;
    assert.deepEqual(ids(go), []);
    const jvm =
      'FROM --platform=linux/amd64 maven:3.9-eclipse-temurin-17 AS build\nCOPY . .\nRUN mvn -B package\n' +
      'FROM eclipse-temurin:17-jre\nCOPY --from=build /src/target/app.jar /app.jar\nCMD ["java","-jar","/app.jar"]\n';
    assert.deepEqual(ids(jvm), []);
    const dotnet =
      'FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:8.0 AS build\nARG TARGETARCH\nRUN dotnet publish -a $TARGETARCH -o /out\n' +
      'FROM mcr.microsoft.com/dotnet/aspnet:8.0\nCOPY --from=build /out /app\n';
    assert.deepEqual(ids(dotnet), []);
    const web =
      'FROM --platform=$BUILDPLATFORM node:20 AS web\nRUN npm ci && npm run build\nFROM nginx:1.27\nCOPY --from=web /app/dist /usr/share/nginx/html\n';
    assert.deepEqual(ids(web), []);
  });

  test('a build-host stage that builds for the host, copied into the image, ships the host architecture', () => {
    const text = `FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nRUN go build -o /out/app .\n${final}`;
    const { findings } = analyseDockerfile('Dockerfile', text);
    assert.deepEqual(
      findings.map((f) => [f.id, f.severity, f.evidence.line]),
      [['dockerfile.build-host-content', 'change', 4]],
    );
    assert.match(findings[0]!.title, /stage #1 copies \/out\/app from it .*`go build`.*ships amd64 code/);
    assert.equal(findings[0]!.autofix, undefined);
  });

  test('a pinned stage the final image is built FROM ships amd64 whatever it runs', () => {
    const text =
      'FROM --platform=linux/amd64 golang:1.22 AS build\nARG TARGETARCH\nRUN GOARCH=$TARGETARCH go build -o /app .\nFROM build\nCMD ["/app"]\n';
    const [pin] = analyseDockerfile('Dockerfile', text).findings;
    assert.equal(pin!.id, 'dockerfile.platform-pinned');
    assert.match(pin!.title, /the final image is built from it/);
  });

  test('ARG BUILDPLATFORM=linux/amd64 replaces the value BuildKit supplies: the stage is pinned', () => {
    const text = `ARG BUILDPLATFORM=linux/amd64\nFROM --platform=$BUILDPLATFORM golang:1.22 AS build\nRUN go build -o /out/app .\n${final}`;
    const [pin, ...rest] = analyseDockerfile('Dockerfile', text).findings;
    assert.deepEqual(rest, []);
    assert.equal(pin!.id, 'dockerfile.platform-pinned');
    assert.equal(pin!.severity, 'change');
    assert.match(pin!.title, /`ARG BUILDPLATFORM=linux\/amd64` replaces the value BuildKit supplies/);
    assert.match(pin!.title, /ship the build host's linux\/amd64 code/);
    assert.equal(pin!.autofix, undefined, 'the fix is the ARG default, not the flag');
  });

  test('ARG TARGETARCH=amd64 inside a stage pins it, even with GOARCH=$TARGETARCH', () => {
    const text = `FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nARG TARGETARCH=amd64\nRUN GOARCH=$TARGETARCH go build -o /out/app .\n${final}`;
    assert.deepEqual(ids(text), ['dockerfile.target-arg-default'], 'one cause, one finding');
  });

  test('ARG ARCH=amd64 in an image name is a per-architecture build argument, checked as arm64', () => {
    const text =
      'ARG ARCH=amd64\nFROM ${ARCH}/alpine:3.19\nFROM quay.io/prometheus/busybox-linux-${ARCH}:latest AS tools\nFROM scratch\nCOPY --from=0 /bin/sh /bin/sh\n';
    const { findings, images } = analyseDockerfile('Dockerfile', text);
    assert.deepEqual(
      images.map((i) => i.reference),
      ['arm64v8/alpine:3.19', 'quay.io/prometheus/busybox-linux-arm64:latest'],
    );
    const args = findings.filter((f) => f.id === 'dockerfile.arch-build-arg');
    assert.equal(args.length, 2);
    assert.equal(args[0]!.severity, 'warning');
    assert.match(
      args[0]!.title,
      /build argument ARCH \(default amd64\): the pipeline may set it per architecture, so the image is not amd64-only/,
    );
  });
});
