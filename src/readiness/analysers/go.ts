// Go: go.mod requirements and `go` directive against the knowledge base, cgo use, amd64-only code that
// leaves a package without an arm64 implementation, and GOARCH hard-coded to amd64 in build files.
// Pure: `extractGoFile` turns one source file into small facts (so a big tree is not held in memory),
// `analyseGo` judges them.
import path from 'node:path';
import type { Finding } from '../report.ts';
import type { KnowledgeBase } from '../knowledge/load.ts';
import {
  dirOf,
  evaluateDeclarations,
  excerpt,
  lineText,
  scannedInfo,
  type Declaration,
  type SourceFile,
} from './deps.ts';

const goArches = new Set(['386', 'amd64', 'arm', 'arm64', 'loong64', 'mips', 'mipsle', 'mips64', 'mips64le', 'ppc64', 'ppc64le', 'riscv64', 's390x', 'wasm']);
const goOses = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'netbsd', 'openbsd', 'plan9', 'solaris', 'wasip1', 'windows', 'zos']);

export function isGoBuildFile(file: string): boolean {
  const base = path.posix.basename(file);
  return (
    base === 'Makefile' ||
    base === 'GNUmakefile' ||
    base.endsWith('.mk') ||
    base.endsWith('.sh') ||
    base === 'Jenkinsfile' ||
    /^Dockerfile/.test(base) ||
    /^\.goreleaser\.ya?ml$/.test(base) ||
    (/\.ya?ml$/.test(base) && file.includes('.github/workflows/'))
  );
}

export interface GoFileFacts {
  path: string;
  onArm64: boolean;
  onAmd64: boolean;
  /** Functions with a body (Go) or a TEXT symbol (assembly). */
  defines: string[];
  /** Function declarations without a body: implemented in assembly. */
  stubs: { name: string; line: number }[];
  calls: string[];
  cgoLine?: number;
  isAsm: boolean;
}

/** Evaluates a `//go:build` expression for one target. Unknown tags are false, as `go build` has them. */
function evalConstraint(expr: string, tags: Set<string>): boolean {
  const tokens = expr.match(/\(|\)|!|&&|\|\||[\w.]+/g) ?? [];
  let i = 0;
  const primary = (): boolean => {
    const t = tokens[i++];
    if (t === '!') return !primary();
    if (t === '(') {
      const v = or();
      i++; // ')'
      return v;
    }
    return t !== undefined && (tags.has(t) || /^go1\.\d+$/.test(t));
  };
  const and = (): boolean => {
    let v = primary();
    while (tokens[i] === '&&') {
      i++;
      v = primary() && v;
    }
    return v;
  };
  const or = (): boolean => {
    let v = and();
    while (tokens[i] === '||') {
      i++;
      v = and() || v;
    }
    return v;
  };
  return or();
}

function legacyToExpr(lines: string[]): string {
  // `// +build a b,c` = a || (b && c); several lines are ANDed.
  return lines.map((l) => `(${l.trim().split(/\s+/).map((alt) => `(${alt.split(',').join(' && ')})`).join(' || ')})`).join(' && ');
}

function buildsFor(file: string, header: string, arch: string): boolean {
  const tags = new Set(['linux', 'unix', 'gc', 'cgo', arch]);
  const stem = path.posix.basename(file).replace(/(_test)?\.(go|s)$/, '');
  const parts = stem.split('_');
  const last = parts[parts.length - 1]!;
  const prev = parts[parts.length - 2];
  if (parts.length > 1) {
    if (goArches.has(last)) {
      if (last !== arch) return false;
      if (prev && parts.length > 2 && goOses.has(prev) && prev !== 'linux') return false;
    } else if (goOses.has(last) && last !== 'linux') return false;
  }
  const goBuild = /^\/\/go:build\s+(.+)$/m.exec(header);
  if (goBuild) return evalConstraint(goBuild[1]!, tags);
  const legacy = [...header.matchAll(/^\/\/\s*\+build\s+(.+)$/gm)].map((m) => m[1]!);
  return legacy.length === 0 || evalConstraint(legacyToExpr(legacy), tags);
}

export function extractGoFile(file: string, text: string): GoFileFacts {
  const isAsm = file.endsWith('.s');
  const pkg = isAsm ? -1 : text.search(/^package\s/m);
  const header = pkg >= 0 ? text.slice(0, pkg) : text.slice(0, 2000);
  const defines: string[] = [];
  const stubs: { name: string; line: number }[] = [];
  let cgoLine: number | undefined;
  const lines = text.split('\n');
  lines.forEach((l, i) => {
    if (isAsm) {
      const m = /^\s*TEXT\s+[\w/.]*·(\w+)/.exec(l);
      if (m) defines.push(m[1]!);
      return;
    }
    const fn = /^func\s+(\w+)\s*[([]/.exec(l);
    if (fn) {
      if (l.includes('{') || !/\)\s*[\w.*[\]() ,]*$/.test(l.replace(/\/\/.*$/, '').trim())) defines.push(fn[1]!);
      else stubs.push({ name: fn[1]!, line: i + 1 });
    }
    if (cgoLine === undefined && /^\s*(import\s+)?"C"\s*$/.test(l)) cgoLine = i + 1;
  });
  const calls = isAsm ? [] : [...new Set([...text.matchAll(/\b([A-Za-z_]\w*)\s*\(/g)].map((m) => m[1]!))];
  return {
    path: file,
    onArm64: buildsFor(file, header, 'arm64'),
    onAmd64: buildsFor(file, header, 'amd64'),
    defines,
    stubs,
    calls,
    cgoLine,
    isAsm,
  };
}

function analyseGoMod(f: SourceFile): Declaration[] {
  const decls: Declaration[] = [];
  const replaced = new Map<string, string>();
  const lines = f.text.split('\n');
  for (const l of lines) {
    const r = /^\s*(?:replace\s+)?([\w.\-/~]+)(?:\s+v\S+)?\s*=>\s*([\w.\-/~]+)\s+(v\S+)/.exec(l.replace(/\/\/.*$/, ''));
    if (r) replaced.set(r[1]!, r[3]!);
  }
  let inRequire = false;
  lines.forEach((raw, i) => {
    const l = raw.replace(/\/\/.*$/, '').trim();
    const decl = (name: string, version: string) =>
      decls.push({
        ecosystem: 'go',
        name,
        spec: { kind: 'exact', version: replaced.get(name) ?? version },
        written: replaced.get(name) ?? version,
        file: f.path,
        line: i + 1,
        excerpt: excerpt(raw),
        origin: 'manifest',
        scope: dirOf(f.path),
        literal: replaced.has(name) ? undefined : { file: f.path, line: i + 1, text: version },
      });
    if (/^require\s*\($/.test(l)) inRequire = true;
    else if (inRequire && l === ')') inRequire = false;
    else if (inRequire) {
      const m = /^([\w.\-/~]+)\s+(v\S+)/.exec(l);
      if (m) decl(m[1]!, m[2]!);
    } else {
      const single = /^require\s+([\w.\-/~]+)\s+(v\S+)/.exec(l);
      if (single) decl(single[1]!, single[2]!);
      const go = /^go\s+(\d+\.\d+(?:\.\d+)?)$/.exec(l);
      if (go) decl('go', go[1]!);
    }
  });
  return decls;
}

function amd64OnlyFindings(facts: GoFileFacts[]): Finding[] {
  const byDir = new Map<string, GoFileFacts[]>();
  for (const f of facts) {
    if (f.path.endsWith('_test.go')) continue;
    byDir.set(dirOf(f.path), [...(byDir.get(dirOf(f.path)) ?? []), f]);
  }
  const findings: Finding[] = [];
  for (const [dir, files] of byDir) {
    const amdOnly = files.filter((f) => f.onAmd64 && !f.onArm64);
    if (amdOnly.length === 0) continue;
    const arm = files.filter((f) => f.onArm64);
    const armDefined = new Set(arm.flatMap((f) => f.defines));
    const armCalls = new Set(arm.flatMap((f) => f.calls));
    const missing = new Set<string>();
    let at: { file: string; line: number } | undefined;
    for (const f of arm) {
      for (const s of f.stubs) {
        if (!armDefined.has(s.name)) {
          missing.add(s.name);
          at ??= { file: f.path, line: s.line };
        }
      }
    }
    for (const f of amdOnly) {
      for (const name of f.defines) {
        if (!armDefined.has(name) && armCalls.has(name)) {
          missing.add(name);
          at ??= { file: f.path, line: 1 };
        }
      }
    }
    const goFiles = files.filter((f) => !f.isAsm);
    if (missing.size === 0 && (arm.some((f) => !f.isAsm) || goFiles.length === 0)) continue;
    const names = [...missing].slice(0, 5).join(', ');
    findings.push({
      id: 'go.amd64-only-code',
      severity: missing.size > 0 ? 'blocker' : 'warning',
      ecosystem: 'go',
      title:
        missing.size > 0
          ? `package ${dir || '.'} implements ${names} for amd64 only: it does not build for arm64`
          : `package ${dir || '.'} has only amd64 files: it is empty on arm64`,
      evidence: at ?? { file: amdOnly[0]!.path, line: 1 },
      fix: 'Add an arm64 (or generic `//go:build !amd64`) implementation of these functions, or use a pure-Go fallback.',
      source: 'https://pkg.go.dev/cmd/go#hdr-Build_constraints',
    });
  }
  return findings;
}

function goarchFindings(files: SourceFile[]): Finding[] {
  const findings: Finding[] = [];
  // When a Dockerfile builds the service image, that artefact is what runs (and is judged on its own);
  // a goreleaser or CI file that builds release binaries (a side CLI) for amd64 does not decide it.
  const dockerfiles = files.filter((f) => /^Dockerfile/.test(path.posix.basename(f.path)));
  const sideBuild = (f: SourceFile): boolean => {
    const base = path.posix.basename(f.path);
    if (!dockerfiles.length || /^Dockerfile/.test(base)) return false;
    if (/^\.goreleaser\.ya?ml$/.test(base)) return !/^\s*(dockers|docker_manifests|kos):/m.test(f.text);
    // A Makefile the Dockerfile runs builds the image's binary.
    if (/^(GNU)?Makefile$|\.mk$/.test(base)) return !dockerfiles.some((d) => /\bRUN\b[^\n]*\bmake\b/.test(d.text));
    return true;
  };
  for (const f of files) {
    const base = path.posix.basename(f.path);
    if (/^\.goreleaser\.ya?ml$/.test(base)) {
      const list = /^\s*goarch:\s*\n((?:\s+-\s*\S+\s*\n?)+)/m.exec(f.text);
      if (list && /-\s*["']?amd64/.test(list[1]!) && !/-\s*["']?arm64/.test(list[1]!)) {
        const line = f.text.slice(0, list.index).split('\n').length;
        findings.push(goarchFinding(f, line, 'goreleaser builds amd64 only', sideBuild(f)));
      }
      continue;
    }
    if (/\barm64\b|aarch64|TARGETARCH|\$\{?GOARCH\}?/.test(f.text.replace(/GOARCH\s*[:=]\s*["']?amd64/g, ''))) continue;
    const lines = f.text.split('\n');
    const idx = lines.findIndex((l) => /GOARCH\s*[:=]\s*["']?amd64\b/.test(l) && !/^\s*#/.test(l));
    if (idx >= 0) findings.push(goarchFinding(f, idx + 1, 'GOARCH is hard-coded to amd64', sideBuild(f)));
  }
  return findings;
}

function goarchFinding(f: SourceFile, line: number, what: string, side = false): Finding {
  return {
    id: 'go.goarch-amd64',
    severity: side ? 'warning' : 'change',
    ecosystem: 'go',
    title: side
      ? `${what} in ${path.posix.basename(f.path)}: those release binaries have no arm64 build, but the service image is built by its Dockerfile, which is judged on its own (lowered to a warning)`
      : `${what} in ${path.posix.basename(f.path)}: the build makes no arm64 binary`,
    evidence: { file: f.path, line, excerpt: lineText(f.text, line) },
    fix: 'Take the architecture from the target platform (GOARCH=$TARGETARCH under docker buildx) or build both amd64 and arm64.',
    source: 'https://docs.docker.com/build/building/multi-platform/',
  };
}

export function analyseGo(
  input: { mods: SourceFile[]; sources: GoFileFacts[]; buildFiles: SourceFile[] },
  kb: KnowledgeBase,
): Finding[] {
  const out: Finding[] = [];
  const decls = input.mods.flatMap(analyseGoMod);
  out.push(...evaluateDeclarations(decls, kb, 'go'));
  out.push(...amd64OnlyFindings(input.sources));
  const cgo = input.sources.filter((s) => s.cgoLine !== undefined && s.onArm64);
  if (cgo.length > 0) {
    out.push({
      id: 'go.cgo',
      severity: 'warning',
      ecosystem: 'go',
      title: `${cgo.length} Go file(s) use cgo: the arm64 build needs a C toolchain for aarch64 and arm64 builds of the C libraries`,
      evidence: { file: cgo[0]!.path, line: cgo[0]!.cgoLine },
      fix: 'Build natively on arm64 (or with an aarch64 cross compiler and CGO_ENABLED=1) and check the linked C libraries exist for arm64.',
      source: 'https://pkg.go.dev/cmd/cgo',
    });
  }
  if (input.mods.length > 0 || input.sources.length > 0) out.push(...goarchFindings(input.buildFiles));
  const scanned = [...input.mods.map((m) => m.path), ...input.sources.map((s) => s.path)];
  if (scanned.length > 0 && !out.some((f) => f.ecosystem === 'go' && f.severity !== 'info')) {
    out.push(scannedInfo('go', `Go module scanned (${decls.length} requirements, ${input.sources.length} source files)`, scanned));
  }
  return out;
}
