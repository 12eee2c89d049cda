// C/C++: x86 intrinsics and their headers, x86 inline assembly, x86 assembly sources, x86-only compiler
// flags and libraries in Makefiles/CMake/meson/setup.py, and stale config.guess. Code is judged in
// context: inside an x86 `#if` that has an arm64 or generic alternative, or in a branch a Linux aarch64
// build never compiles (`_MSC_VER`, `_WIN32`, the `#else` of `#if defined(__GNUC__)`), it is fine and not
// reported; code in test/example/benchmark/vendored folders, or a C component of a JVM project, is
// not the service and is at most one grouped warning (contextualiseNative). Pure: text in, findings out.
import path from 'node:path';
import type { Finding, Severity } from '../report.ts';
import { lineText } from './native-deps.ts';

const sourceExt = /\.(c|cc|cpp|cxx|c\+\+|h|hh|hpp|hxx|inl|ipp|tcc|cu|m|mm)$/i;
const asmExt = /\.(s|asm)$/i;

export function isNativeSource(file: string): boolean {
  return sourceExt.test(file);
}
export function isAsmSource(file: string): boolean {
  return asmExt.test(file);
}
export function isNativeBuildFile(file: string): boolean {
  const base = path.posix.basename(file);
  return (
    /^(GNU)?makefile(\.in|\.am)?$/i.test(base) ||
    base.endsWith('.mk') ||
    base === 'CMakeLists.txt' ||
    base.endsWith('.cmake') ||
    base === 'configure.ac' ||
    base === 'configure.in' ||
    base === 'meson.build' ||
    base === 'setup.py' ||
    base === 'binding.gyp' ||
    base === 'config.guess'
  );
}

const x86Macro =
  /\b(__x86_64__|__x86_64|__amd64__|__amd64|__i386__|__i386|_M_X64|_M_AMD64|_M_IX86|__SSE\d?\w*__|__AVX\w*__|__FMA__|__BMI2?__|__POPCNT__|__PCLMUL__|__AES__|\w*(?:SSE|AVX|X86|X64|AMD64|I386)\w*)\b/;
const armMacro =
  /\b(__aarch64__|__arm64__|__arm__|_M_ARM64|_M_ARM|__ARM_NEON\w*|__ARM_FEATURE_\w+|__ARM_ARCH\w*|\w*(?:NEON|AARCH64|ARM64|SVE)\w*)\b/;

/** `gnu`: GCC/Clang (what a Linux aarch64 build uses); `not-linux`: MSVC or Windows only, never compiled there. */
type Branch = 'x86' | 'arm' | 'non-x86' | 'gnu' | 'not-linux' | 'other';

const msvcMacro = /\b(_MSC_VER|_WIN32|_WIN64|_WINDOWS|__MINGW32__|__MINGW64__|__CYGWIN__)\b/;
const gnuMacro = /\b(__GNUC__|__clang__|__linux__|__linux|__unix__|__ELF__)\b/;

function classifyCondition(cond: string, negatedDirective: boolean): Branch {
  const c = cond.replace(/\/\*.*?\*\/|\/\/.*$/g, '');
  // A compiler/OS test decides before any architecture in it: `_MSC_VER && _M_X64` never builds on Linux.
  const onlyMsvc = msvcMacro.test(c) && !new RegExp(`!\\s*(?:defined\\s*\\(?\\s*)?${msvcMacro.source}`).test(c) && !/\|\|/.test(c);
  if (onlyMsvc) return negatedDirective ? 'other' : 'not-linux';
  if (gnuMacro.test(c) && !/!\s*(?:defined\s*\(?\s*)?(__GNUC__|__clang__|__linux__)/.test(c) && !x86Macro.test(c) && !armMacro.test(c)) {
    return negatedDirective ? 'not-linux' : 'gnu';
  }
  const negX86 = new RegExp(`!\\s*(?:defined\\s*\\(?\\s*)?${x86Macro.source}`).test(c);
  const negArm = new RegExp(`!\\s*(?:defined\\s*\\(?\\s*)?${armMacro.source}`).test(c);
  const posX86 = x86Macro.test(c) && !negX86;
  const posArm = armMacro.test(c) && !negArm;
  let b: Branch = 'other';
  if (posX86 && !posArm) b = 'x86';
  else if (posArm && !posX86) b = 'arm';
  else if (negArm && !posArm) b = 'x86';
  else if (negX86 && !posX86) b = 'non-x86';
  if (!negatedDirective) return b;
  return b === 'x86' ? 'non-x86' : b === 'non-x86' ? 'x86' : b === 'arm' ? 'other' : b;
}

/** The branch an `#else` takes after `branches`. */
function elseBranch(branches: Branch[]): Branch {
  if (branches.includes('gnu')) return 'not-linux';
  if (branches.includes('not-linux')) return 'other';
  return branches.includes('x86') && !branches.includes('arm') ? 'non-x86' : 'other';
}

interface Chain {
  branches: Branch[];
  current: Branch;
  /** true once an arm branch or an #else after an x86 branch exists: arm64 has its own path. */
  alternative: boolean;
  hits: Hit[];
}

type HitKind = 'header' | 'intrinsic' | 'asm' | 'arch-error';
interface Hit {
  kind: HitKind;
  line: number;
  what: string;
  /** x86 assembly / intrinsic recognised for sure (vs. unknown asm). */
  x86: boolean;
}

const x86Header =
  /^\s*#\s*include\s*[<"]((?:x86|imm|emm|xmm|pmm|tmm|smm|nmm|amm|wmm|zmm|mm|avx\w*|avx512\w*|popcnt|ia32|bmi2?|lzcnt|fma|f16c|cpuid)intrin\.h|mm3dnow\.h|cpuid\.h|intrin\.h)[>"]/;
const x86Intrinsic =
  /\b(_mm(?:256|512)?_\w+|__m(?:64|128|256|512)[id]?|__builtin_ia32_\w+|__rdtscp?|_rdtsc|__cpuid(?:ex|_count)?|_xgetbv|_rdrand\d+_step|_pdep_u\d+|_pext_u\d+|_tzcnt_u\d+|_lzcnt_u\d+|_bzhi_u\d+|_BitScan(?:Forward|Reverse)\d*|_xbegin|_xend|_xabort|__builtin_cpu_supports\s*\(\s*"(?:avx|sse|fma|bmi|popcnt)\w*")\b/;
const armIntrinsic = /\b(v\w+q?_[suf](?:8|16|32|64)|vld\d\w*|vst\d\w*|sv\w+_[suf]\d+\w*|__builtin_arm_\w+|arm_neon\.h)\b/;
const x86AsmText =
  /%%?(?:[re]?[abcd]x|[re]?[sd]i|[re]?[sb]p|r\d{1,2}[dwb]?|[xyz]mm\d+|[abcd][lh])\b|\b(?:cpuid|rdtscp?|pause|mfence|lfence|sfence|xchg[lqwb]?|cmpxchg\w*|mov[lqwb]|add[lqwb]|lock|bswap[lq]?|pushf[lq]?|popf[lq]?|xgetbv|rep\s+nop|int3|hlt|pushq|popq|leaq|incl|decl)\b/i;
const armAsmText = /\b(?:dmb|dsb|isb|yield|wfe|wfi|sev|ldxr|stxr|ldaxr|stlxr|ldar|stlr|mrs|msr|casal?|ldadd\w*|\bx\d{1,2}|\bw\d{1,2})\b/i;

/** Blanks comments and string/char literal contents, keeping line structure. */
function stripCommentsAndStrings(text: string, keepStrings: boolean): string {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, (m) => {
    if (m.startsWith('"') || m.startsWith("'")) return keepStrings ? m : m[0] + m.slice(1, -1).replace(/[^\n]/g, ' ') + m[0];
    return m.replace(/[^\n]/g, ' ');
  });
}

export function analyseNativeSource(file: string, text: string): Finding[] {
  const code = stripCommentsAndStrings(text, false);
  const withStrings = stripCommentsAndStrings(text, true);
  const lines = code.split('\n');
  const rawLines = withStrings.split('\n');
  const stack: Chain[] = [];
  const top: Hit[] = [];
  const closed: Chain[] = [];
  const record = (hit: Hit) => {
    // Code a Linux aarch64 build never compiles (MSVC/Windows branches) is not its problem.
    if (stack.some((c) => c.current === 'not-linux')) return;
    // Innermost x86 branch decides; with no x86 branch around, the code builds on arm64 as is.
    for (let i = stack.length - 1; i >= 0; i--) {
      const c = stack[i]!;
      if (c.current === 'arm' || c.current === 'non-x86') return; // arm64's own code
      if (c.current === 'x86') {
        c.hits.push(hit);
        return;
      }
    }
    top.push(hit);
  };
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    const lineNo = i + 1;
    // Preprocessor lines may continue with a backslash.
    while (/^\s*#/.test(line) && line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i]!;
    const pp = /^\s*#\s*(if|ifdef|ifndef|elif|else|endif|error)\b(.*)$/.exec(line);
    if (pp) {
      const [, directive, rest] = pp as unknown as [string, string, string];
      if (directive === 'if' || directive === 'ifdef' || directive === 'ifndef') {
        const b = classifyCondition(directive === 'if' ? rest : rest.trim(), directive === 'ifndef');
        stack.push({ branches: [b], current: b, alternative: false, hits: [] });
      } else if (directive === 'elif' || directive === 'else') {
        const c = stack[stack.length - 1];
        if (c) {
          const b: Branch = directive === 'else' ? elseBranch(c.branches) : classifyCondition(rest, false);
          if (c.branches.includes('x86') && (b === 'arm' || b === 'non-x86' || directive === 'else')) c.alternative = true;
          c.branches.push(b);
          c.current = b;
        }
      } else if (directive === 'endif') {
        const c = stack.pop();
        if (c) closed.push(c);
      } else if (directive === 'error') {
        // An #error on arm64's path: the file refuses to build there.
        const onArmPath = stack.some((c) => c.current === 'non-x86' || (c.current === 'other' && c.branches.includes('x86')));
        if (onArmPath && !stack.some((c) => c.current === 'arm' || c.current === 'not-linux')) {
          top.push({
            kind: 'arch-error',
            line: lineNo,
            what: (rawLines[i] ?? '')
              .replace(/^\s*#\s*error\s*/, '')
              .trim()
              .slice(0, 80),
            x86: true,
          });
        }
      }
      continue;
    }
    const header = x86Header.exec(rawLines[i]!);
    if (header) {
      record({ kind: 'header', line: lineNo, what: header[1]!, x86: true });
      continue;
    }
    const intrinsic = x86Intrinsic.exec(line);
    if (intrinsic && !armIntrinsic.test(line)) record({ kind: 'intrinsic', line: lineNo, what: intrinsic[1]!, x86: true });
    const asm = /(?:^|[^\w])(__asm__|__asm|asm)\b\s*(?:volatile|__volatile__|goto|inline|\s)*(\(|\{)/.exec(line);
    if (asm) {
      // The template is the string literals right after `(`, up to the first `:` (outputs, inputs, clobbers follow).
      const body = rawLines.slice(i, i + 12).join('\n');
      const open = body.indexOf(asm[2]!, asm.index + asm[0].length - 1);
      const template = /^\(\s*((?:"(?:[^"\\]|\\.)*"\s*)*)/.exec(body.slice(open))?.[1] ?? '';
      const strings = [...template.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]).join(' ');
      if (asm[2] === '{') record({ kind: 'asm', line: lineNo, what: 'MSVC __asm block', x86: true });
      else if (strings.trim() === '' || /^\s*\.symver\b/.test(strings))
        continue; // compiler barrier / symbol versioning
      else if (x86AsmText.test(strings)) record({ kind: 'asm', line: lineNo, what: strings.trim().slice(0, 40), x86: true });
      else if (!armAsmText.test(strings)) record({ kind: 'asm', line: lineNo, what: strings.trim().slice(0, 40), x86: false });
    }
  }
  closed.push(...stack); // unterminated #if: judge what we have
  const findings: Finding[] = [];
  const emit = (hits: Hit[], guarded: boolean) => {
    const groups = new Map<string, Hit[]>();
    for (const h of hits) {
      const sev: Severity = guarded ? 'warning' : h.x86 ? 'blocker' : 'warning';
      const key = `${h.kind}\u0000${sev}`;
      groups.set(key, [...(groups.get(key) ?? []), h]);
    }
    for (const [key, hs] of groups) {
      const [kind, severity] = key.split('\u0000') as [HitKind, Severity];
      findings.push(nativeFinding(file, text, kind, severity, hs, guarded));
    }
  };
  emit(top, false);
  emit(
    closed.filter((c) => !c.alternative).flatMap((c) => c.hits),
    true,
  );
  return findings;
}

const kindText: Record<HitKind, { id: string; what: string; fix: string }> = {
  header: {
    id: 'native.x86-intrinsics',
    what: 'includes x86-only intrinsics headers',
    fix: 'Guard x86 code with `#if defined(__x86_64__)` and add a NEON (`arm_neon.h`) or portable path; sse2neon or SIMDe can translate SSE/AVX intrinsics.',
  },
  intrinsic: {
    id: 'native.x86-intrinsics',
    what: 'uses x86 SIMD/CPU intrinsics',
    fix: 'Guard x86 code with `#if defined(__x86_64__)` and add a NEON (`arm_neon.h`) or portable path; sse2neon or SIMDe can translate SSE/AVX intrinsics.',
  },
  asm: {
    id: 'native.inline-asm',
    what: 'contains inline assembly',
    fix: 'Guard the assembly with `#if defined(__x86_64__)` and add an aarch64 version or a portable fallback (compiler builtins, <atomic>).',
  },
  'arch-error': {
    id: 'native.arch-error',
    what: 'stops the arm64 build with #error',
    fix: 'Add an aarch64 branch to this architecture check.',
  },
};

function nativeFinding(file: string, text: string, kind: HitKind, severity: Severity, hits: Hit[], guarded: boolean): Finding {
  const k = kindText[kind];
  const first = hits[0]!;
  const names = [...new Set(hits.map((h) => h.what))].slice(0, 4).join(', ');
  const where = guarded ? ' inside an x86-only #if with no arm64 alternative (arm64 gets no equivalent code)' : '';
  const unknownAsm = kind === 'asm' && !first.x86;
  return {
    id: k.id,
    severity,
    ecosystem: 'native',
    title: `${path.posix.basename(file)} ${unknownAsm ? 'contains inline assembly of unknown architecture' : k.what}${where}: ${names}${hits.length > 1 ? ` (${hits.length} places)` : ''}`,
    evidence: { file, line: first.line, excerpt: lineText(text, first.line) },
    fix: guarded ? 'Add an aarch64/NEON branch (or a portable #else) so arm64 gets an equivalent.' : k.fix,
    source: 'https://github.com/aws/aws-graviton-getting-started/blob/main/c-c++.md',
  };
}

/** Whether an aarch64 twin of an assembly file is among `asmPaths` (foo_aarch64.S for foo_x86_64.S, or an arm64 file beside it). */
export function hasArm64Twin(file: string, asmPaths: ReadonlySet<string>): boolean {
  const dir = path.posix.dirname(file);
  const archWord = /(x86_64|x86-64|x86|amd64|x64|i386|i686|intel)/i;
  const twins = archWord.test(file) ? ['aarch64', 'arm64', 'armv8', 'arm', 'neon'].map((a) => file.replace(archWord, a)) : [];
  return (
    twins.some((t) => asmPaths.has(t)) ||
    [...asmPaths].some((p) => path.posix.dirname(p) === dir && /aarch64|arm64|armv8|neon/i.test(path.posix.basename(p)) && asmExt.test(p))
  );
}

/** An x86 assembly source with no aarch64 twin next to it (e.g. foo_x86_64.S beside foo_aarch64.S); `asmPaths` holds the tree's assembly files. */
export function analyseAsmSource(file: string, text: string, asmPaths: ReadonlySet<string>): Finding[] {
  const code = text.replace(/(\/\*[\s\S]*?\*\/|(^|\s)[#;@][^\n]*|\/\/[^\n]*)/g, ' ');
  if (!x86AsmText.test(code) && !/\b(rax|rbx|rcx|rdx|rsi|rdi|rsp|rbp|eax|ebx|xmm\d+|ymm\d+)\b/i.test(code)) return [];
  if (armAsmText.test(code) && !/%[re]?[abcd]x/.test(code)) return [];
  if (hasArm64Twin(file, asmPaths)) return [];
  const base = path.posix.basename(file);
  const lineNo = Math.max(1, text.split('\n').findIndex((l) => x86AsmText.test(l)) + 1);
  return [
    {
      id: 'native.x86-asm-source',
      severity: 'blocker',
      ecosystem: 'native',
      title: `${base} is x86 assembly with no aarch64 counterpart`,
      evidence: { file, line: lineNo, excerpt: lineText(text, lineNo) },
      fix: 'Provide an aarch64 implementation (or a C fallback) and select it by architecture in the build.',
      source: 'https://github.com/aws/aws-graviton-getting-started/blob/main/c-c++.md',
    },
  ];
}

const x86Flag =
  /(?:^|[\s"'=(,[])(-m(?:avx\w*|sse[\w.]*|ssse3|fma4?|bmi2?|pclmul|aes|popcnt|lzcnt|f16c|xop|sha|rdrnd|rdseed|adx|64|32|tune=(?!generic|native)[\w.-]+)|-march=(?!native\b|armv\d|arm\b)[\w.-]+|\/arch:(?:AVX\w*|SSE\w*|IA32))(?=$|[\s"'),\]])/;
const x86Lib = /(?:^|[\s"'(])-l(mkl_\w+|mkl|ipp\w+|svml|iomp5|imf|irc|intlc)\b/;
const probeLine =
  /check_(c|cxx)_compiler_flag|CheckCXXCompilerFlag|check_\w*_source_compiles|has_argument|has_multi_arguments|AX_CHECK_COMPILE_FLAG|AX_GCC_ARCHFLAG|try_compile/i;

/** Compiler flags and libraries that exist only for x86, outside an architecture guard. */
export function analyseNativeBuildFile(file: string, text: string): Finding[] {
  const base = path.posix.basename(file);
  if (base === 'config.guess') {
    if (/aarch64:Linux/.test(text)) return [];
    return [
      {
        id: 'native.config-guess',
        severity: 'change',
        ecosystem: 'native',
        title: 'config.guess predates aarch64: ./configure stops with "unable to guess system type" on arm64',
        evidence: { file, line: 1 },
        fix: 'Replace config.guess and config.sub with current copies from GNU config (or run autoreconf -fi).',
        source: 'https://git.savannah.gnu.org/cgit/config.git',
      },
    ];
  }
  const cmake = base === 'CMakeLists.txt' || base.endsWith('.cmake');
  const guards: boolean[] = []; // true = inside an x86-only branch
  const flags: { line: number; flag: string }[] = [];
  const libs: { line: number; lib: string }[] = [];
  const lines = text.split('\n');
  const isX86Cond = (c: string) => /x86|amd64|x64|i[3-6]86|intel|sse|avx/i.test(c) && !/arm|aarch64/i.test(c);
  lines.forEach((raw, i) => {
    const l = raw.replace(cmake ? /#.*$/ : /(^|\s)#.*$/, '');
    const t = l.trim();
    const open = cmake
      ? /^if\s*\((.*)\)?/i.exec(t)
      : (/^(ifeq|ifneq|ifdef|ifndef)\b(.*)$/.exec(t) ?? (base === 'meson.build' || base === 'setup.py' ? /^if\s+(.*):?$/.exec(t) : null));
    if (open) {
      const cond = open[open.length - 1] ?? '';
      guards.push(isX86Cond(cond) && !/^ifneq/.test(t));
      return;
    }
    if (cmake ? /^(elseif|else)\s*\(/i.test(t) : /^else\b/.test(t)) {
      if (guards.length) guards[guards.length - 1] = cmake && /^elseif/i.test(t) ? isX86Cond(t) : false;
      return;
    }
    if (cmake ? /^endif\s*\(/i.test(t) : /^endif\b/.test(t)) {
      guards.pop();
      return;
    }
    if (guards.some(Boolean) || probeLine.test(l)) return;
    for (const f of l.matchAll(new RegExp(x86Flag.source, 'g'))) flags.push({ line: i + 1, flag: f[1]! });
    const lib = x86Lib.exec(l);
    if (lib) libs.push({ line: i + 1, lib: lib[1]! });
  });
  const findings: Finding[] = [];
  if (flags.length > 0) {
    const names = [...new Set(flags.map((f) => f.flag))].slice(0, 5).join(' ');
    findings.push({
      id: 'native.x86-flags',
      severity: 'change',
      ecosystem: 'native',
      title: `${base} passes x86-only compiler flags (${names}): aarch64 compilers reject them`,
      evidence: { file, line: flags[0]!.line, excerpt: lineText(text, flags[0]!.line) },
      fix: 'Set these flags only when the target is x86-64 (e.g. CMAKE_SYSTEM_PROCESSOR / `uname -m` checks) and use -march=armv8.2-a (or -mcpu=neoverse-n1) on arm64.',
      source: 'https://github.com/aws/aws-graviton-getting-started/blob/main/c-c++.md',
    });
  }
  if (libs.length > 0) {
    findings.push({
      id: 'native.x86-library',
      severity: 'blocker',
      ecosystem: 'native',
      title: `${base} links Intel-only libraries (${[...new Set(libs.map((l) => l.lib))].join(', ')}): none exist for arm64`,
      evidence: { file, line: libs[0]!.line, excerpt: lineText(text, libs[0]!.line) },
      fix: 'Link an arm64 equivalent instead (OpenBLAS or Arm Performance Libraries for MKL, libgomp for iomp5).',
      source: 'https://github.com/aws/aws-graviton-getting-started/blob/main/c-c++.md',
    });
  }
  return findings;
}

/** Prebuilt binaries committed to the checkout, from their ELF header: x86-64 with no aarch64 twin. */
export function analysePrebuiltBinaries(binaries: { file: string; machine: 'x86-64' | 'aarch64' | 'other' }[]): Finding[] {
  const arm = binaries.filter((b) => b.machine === 'aarch64').map((b) => b.file);
  const norm = (p: string) => path.posix.basename(p).replace(/x86[_-]?64|amd64|x64|aarch_?64|arm64/gi, '*');
  return binaries
    .filter((b) => b.machine === 'x86-64' && !arm.some((a) => norm(a) === norm(b.file)))
    .map((b) => ({
      id: 'native.prebuilt-x86',
      severity: 'blocker' as const,
      ecosystem: 'native' as const,
      title: `${b.file} is a prebuilt x86-64 binary with no aarch64 build beside it`,
      evidence: { file: b.file },
      fix: 'Rebuild it for aarch64 (or install it from a package that ships arm64) and select the right one per architecture.',
    }));
}

/** Folders whose code is not built into the service image. */
const outsideFolders: { kind: string; words: RegExp; why: string }[] = [
  {
    kind: 'test',
    words: /^(tests?|testing|__tests__|unittests?|spec|testdata|fuzz|fuzzing)$/i,
    why: 'test code is not built into the service image',
  },
  { kind: 'example', words: /^(examples?|samples?|demos?|tutorials?)$/i, why: 'examples are not built into the service image' },
  { kind: 'benchmark', words: /^(bench|benchmarks?|perf)$/i, why: 'benchmarks are not built into the service image' },
  {
    kind: 'vendored',
    words: /^(third[_-]?party|3rd[_-]?party|thirdparty|external|extern|deps|contrib)$/i,
    why: 'vendored third-party code keeps its own (upstream) arm64 support; check the service builds it for aarch64',
  },
];

const jvmBuild = /(^|\/)(pom\.xml|build\.gradle(\.kts)?|build\.sbt)$/;
const jniMarker = /#\s*include\s*[<"]jni\.h[>"]|\bJNIEXPORT\b|\bJNIEnv\b/;

export interface NativeFileFacts {
  path: string;
  /** The file is JNI code (includes jni.h or exports JNI functions): it is loaded by the JVM service. */
  jni: boolean;
}

export function nativeFileFacts(file: string, text: string): NativeFileFacts {
  return { path: file, jni: jniMarker.test(text) };
}

/** Why a native file is not the service's own code, or undefined when it is. */
function outsideService(file: string, jvmRoots: string[], jniDirs: Set<string>): { group: string; why: string } | undefined {
  const dirs = file.split('/').slice(0, -1);
  for (const f of outsideFolders) {
    const at = dirs.findIndex((d) => f.words.test(d));
    if (at >= 0) return { group: `${f.kind} code (${dirs.slice(0, at + 1).join('/')}/)`, why: f.why };
  }
  // A C/C++ component inside a JVM project (a client library, a tool) is not the JVM service, unless it is JNI.
  const root = jvmRoots.find((r) => r === '' || file.startsWith(`${r}/`));
  const top = dirs.slice(0, root ? root.split('/').length + 1 : 1).join('/');
  if (root !== undefined && !jniDirs.has(top)) {
    return {
      group: `a C/C++ component of the JVM project (${top || '.'}/)`,
      why: `${root ? `${root}/` : 'the root '}is a JVM project (its build file is there) and this code is not JNI the JVM loads, so it is not the service`,
    };
  }
  return undefined;
}

/**
 * Lowers native findings that are not about the service's own code (tests, examples, benchmarks,
 * vendored code, a C client inside a JVM project) to one warning per group, saying why; the service's
 * own findings are returned unchanged.
 */
export function contextualiseNative(findings: Finding[], files: NativeFileFacts[], allPaths: Iterable<string>): Finding[] {
  const jvmRoots = [...allPaths]
    .filter((p) => jvmBuild.test(p))
    .map((p) => path.posix.dirname(p))
    .map((d) => (d === '.' ? '' : d));
  const jniDirs = new Set<string>();
  for (const f of files.filter((x) => x.jni)) {
    const dirs = f.path.split('/').slice(0, -1);
    // The JNI code's top folder under its JVM project (e.g. `src` or `native`) is the service's.
    const root = jvmRoots.find((r) => r === '' || f.path.startsWith(`${r}/`));
    jniDirs.add(dirs.slice(0, root ? root.split('/').length + 1 : 1).join('/'));
  }
  const kept: Finding[] = [];
  const groups = new Map<string, { why: string; findings: Finding[] }>();
  for (const f of findings) {
    const file = f.evidence.file;
    const outside = f.ecosystem === 'native' && file && f.severity !== 'info' ? outsideService(file, jvmRoots, jniDirs) : undefined;
    if (!outside) {
      kept.push(f);
      continue;
    }
    const g = groups.get(outside.group) ?? { why: outside.why, findings: [] };
    g.findings.push(f);
    groups.set(outside.group, g);
  }
  for (const [group, { why, findings: fs }] of groups) {
    const files = [...new Set(fs.map((f) => f.evidence.file!))];
    const worst = fs.some((f) => f.severity === 'blocker') ? 'blocker' : fs.some((f) => f.severity === 'change') ? 'change' : 'warning';
    kept.push({
      id: 'native.outside-service',
      severity: 'warning',
      ecosystem: 'native',
      title: `x86-only native code in ${group}: ${fs.length} finding(s) in ${files.slice(0, 3).join(', ')}${files.length > 3 ? `, and ${files.length - 3} more` : ''}; lowered from ${worst} to a warning because ${why}`,
      evidence: { ...fs[0]!.evidence },
      fix: `If this code is built into the image after all, fix it like the service's own code: ${fs[0]!.title}`,
      source: 'https://github.com/aws/aws-graviton-getting-started/blob/main/c-c++.md',
    });
  }
  return kept;
}
