// C/C++ judged in context: branches a Linux aarch64 build never compiles, and code that is not the service.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { analyseNativeSource, contextualiseNative, nativeFileFacts } from '../../src/readiness/analysers/native.ts';

const ids = (file: string, text: string) => analyseNativeSource(file, text).map((f) => `${f.severity} ${f.id}`);

describe('native code in context', () => {
  test('x86 assembly in the #else of #if defined(__GNUC__) (the MSVC path) is not compiled on Linux aarch64', () => {
    const text =
      '#if defined(__GNUC__)\nstatic inline void barrier(void) { __sync_synchronize(); }\n#else\nstatic void barrier(void) { __asm { mfence } }\n#endif\n';
    assert.deepEqual(ids('src/sync.h', text), []);
  });

  test('#if defined(_MSC_VER) / _WIN32 branches with intrinsics are not compiled on Linux', () => {
    const text =
      '#if defined(_MSC_VER)\n#include <intrin.h>\n#define POPCOUNT(x) __popcnt64(x)\nunsigned long long t(void) { return __rdtsc(); }\n#else\n#define POPCOUNT(x) __builtin_popcountll(x)\n#endif\n' +
      '#ifdef _WIN32\n#include <immintrin.h>\n#endif\n';
    assert.deepEqual(ids('src/bits.c', text), []);
  });

  test('#ifdef __x86_64__ with a portable fallback beside it is fine; without one it is a guarded warning', () => {
    const fallback =
      '#ifdef __x86_64__\n#include <immintrin.h>\nint sum(const int *v) { __m128i a = _mm_loadu_si128((const __m128i *)v); return _mm_cvtsi128_si32(a); }\n#else\nint sum(const int *v) { return v[0]; }\n#endif\n';
    assert.deepEqual(ids('src/sum.c', fallback), []);
    const none = '#ifdef __x86_64__\n#include <immintrin.h>\n#endif\n';
    const [f] = analyseNativeSource('src/sum.c', none);
    assert.equal(f!.severity, 'warning');
    assert.match(f!.title, /inside an x86-only #if with no arm64 alternative/);
  });

  test('unguarded x86 intrinsics in the service code stay a blocker', () => {
    assert.deepEqual(ids('src/fast.c', '#include <immintrin.h>\nint f(void) { return _mm_popcnt_u64(3); }\n'), [
      'blocker native.x86-intrinsics',
      'blocker native.x86-intrinsics',
    ]);
  });

  test('tests, benchmarks and vendored code are one warning per folder, saying why; the service code is untouched', () => {
    const sse = '#include <emmintrin.h>\n';
    const files = {
      'src/core.c': 'int f(void) { return 1; }\n',
      'third_party/xxhash/xxh_x86dispatch.c': sse,
      'bench/bench_sse.c': sse,
      'tests/unit/simd_test.c': sse,
      'src/hot.c': sse,
    };
    const findings = Object.entries(files).flatMap(([p, t]) => analyseNativeSource(p, t));
    const out = contextualiseNative(
      findings,
      Object.entries(files).map(([p, t]) => nativeFileFacts(p, t)),
      Object.keys(files),
    );
    const brief = out.map((f) => `${f.severity} ${f.id} ${f.evidence.file}`).sort();
    assert.deepEqual(brief, [
      'blocker native.x86-intrinsics src/hot.c',
      'warning native.outside-service bench/bench_sse.c',
      'warning native.outside-service tests/unit/simd_test.c',
      'warning native.outside-service third_party/xxhash/xxh_x86dispatch.c',
    ]);
    const vendored = out.find((f) => f.evidence.file?.startsWith('third_party'))!;
    assert.match(vendored.title, /vendored code \(third_party\/\).*lowered from blocker to a warning because vendored third-party code/);
  });

  test('a C client inside a JVM project is not the service; JNI code of the service is', () => {
    const sse = '#include <immintrin.h>\nint f(void) { return _mm_popcnt_u32(1); }\n';
    const files = {
      'clients/c/src/client.c': sse,
      'src/main/native/codec.c': `#include <jni.h>\n${sse}`,
    };
    const paths = ['pom.xml', ...Object.keys(files)];
    const findings = Object.entries(files).flatMap(([p, t]) => analyseNativeSource(p, t));
    const out = contextualiseNative(
      findings,
      Object.entries(files).map(([p, t]) => nativeFileFacts(p, t)),
      paths,
    );
    const client = out.filter((f) => f.evidence.file === 'clients/c/src/client.c');
    assert.deepEqual(
      client.map((f) => `${f.severity} ${f.id}`),
      ['warning native.outside-service'],
    );
    assert.match(client[0]!.title, /a C\/C\+\+ component of the JVM project \(clients\/\).*not JNI the JVM loads/);
    assert.ok(
      out.some((f) => f.evidence.file === 'src/main/native/codec.c' && f.severity === 'blocker'),
      'JNI code is the service',
    );
  });
});
