import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyseNativeBuildFile } from '../../src/readiness/analysers/native.ts';

test('dotted SSE flags (-msse4.1, -msse4.2) outside an arch guard are x86-only flags', () => {
  const cmake = 'project(x C)\nset(CMAKE_C_FLAGS "${CMAKE_C_FLAGS} -msse4.2")\nadd_compile_options(-msse4.1 -O2)\n';
  const found = analyseNativeBuildFile('CMakeLists.txt', cmake).filter((f) => f.id === 'native.x86-flags');
  // One finding per file, at the first offending line, naming every flag.
  assert.deepEqual(
    found.map((f) => f.evidence.line),
    [2],
  );
  assert.match(found[0].title, /-msse4\.2 -msse4\.1/);
});

test('arm64 and generic flags are not flagged', () => {
  const make = 'CFLAGS += -O2 -march=armv8.2-a -mcpu=neoverse-n1 -mtune=generic -msse-not-a-flag.c\n';
  assert.deepEqual(analyseNativeBuildFile('Makefile', make).filter((f) => f.id === 'native.x86-flags').length, 0);
});
