// Go: go.mod requirements and `go` directive against the knowledge base, cgo use, amd64-only code that
// leaves a package without an arm64 implementation, and GOARCH hard-coded to amd64 in build files.
// Pure: `extractGoFile` and `extractGoBuildFile` turn one file into small facts, `GoSources` judges a
// package as soon as its directory is read (so a big tree is not held in memory), `analyseGo` the rest.
import path from 'node:path';
import type { Finding } from '../report.ts';
import type { KnowledgeBase } from '../knowledge/load.ts';
import { dirOf, evaluateDeclarations, excerpt, lineText, scannedInfo, type Declaration, type SourceFile } from './native-deps.ts';

const goArches = new Set([
  '386',
  'amd64',
  'arm',
  'arm64',
  'loong64',
  'mips',
  'mipsle',
  'mips64',
  'mips64le',
  'ppc64',
  'ppc64le',
  'riscv64',
  's390x',
  'wasm',
]);
const goOses = new Set([
  'aix',
  'android',
  'darwin',
  'dragonfly',
  'freebsd',
  'hurd',
  'illumos',
  'ios',
  'js',
  'linux',
  'netbsd',
  'openbsd',
  'plan9',
  'solaris',
  'wasip1',
  'windows',
  'zos',
]);

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
  /** Functions with a body (Go) or a TEXT symbol (assembly), joined by newlines (see `names`). */
  defines: string;
  /** Function declarations without a body: implemented in assembly. */
  stubs: { name: string; line: number }[];
  /** Names called, each once, joined by newlines. */
  calls: string;
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
  return lines
    .map(
      (l) =>
        `(${l
          .trim()
          .split(/\s+/)
          .map((alt) => `(${alt.split(',').join(' && ')})`)
          .join(' || ')})`,
    )
    .join(' && ');
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

/**
 * Each line of `text` (lines as `split('\n')` gives them) that contains `needle`, once and in order, with
 * its number: a file is searched for the few lines that can match instead of being split into all of them.
 */
function linesContaining(text: string, needle: string, visit: (line: string, n: number) => void): void {
  let n = 1;
  let counted = 0;
  for (let at = text.indexOf(needle); at >= 0;) {
    const start = text.lastIndexOf('\n', at) + 1;
    for (let nl = text.indexOf('\n', counted); nl >= 0 && nl < start; nl = text.indexOf('\n', nl + 1)) {
      n++;
      counted = nl + 1;
    }
    const newline = text.indexOf('\n', at);
    const end = newline < 0 ? text.length : newline;
    visit(text.slice(start, end), n);
    if (newline < 0) break;
    at = text.indexOf(needle, end + 1);
  }
}

/**
 * One Go (or Go assembly) file reduced to its facts. The names are joined into fresh strings and stub
 * names copied, so the facts hold no slice of `text` (a scan keeps them until the package is judged).
 */
export function extractGoFile(file: string, text: string): GoFileFacts {
  const isAsm = file.endsWith('.s');
  const pkg = isAsm ? -1 : text.search(/^package\s/m);
  const header = pkg >= 0 ? text.slice(0, pkg) : text.slice(0, 2000);
  const defines: string[] = [];
  const stubs: { name: string; line: number }[] = [];
  let cgoLine: number | undefined;
  const calls = new Set<string>();
  if (isAsm) {
    linesContaining(text, 'TEXT', (l) => {
      const m = /^\s*TEXT\s+[\w/.]*·(\w+)/.exec(l);
      if (m) defines.push(m[1]!);
    });
  } else {
    linesContaining(text, 'func', (l, n) => {
      const fn = /^func\s+(\w+)\s*[([]/.exec(l);
      if (!fn) return;
      if (l.includes('{') || !/\)\s*[\w.*[\]() ,]*$/.test(l.replace(/\/\/.*$/, '').trim())) defines.push(fn[1]!);
      else stubs.push({ name: fn[1]!, line: n });
    });
    linesContaining(text, '"C"', (l, n) => {
      if (cgoLine === undefined && /^\s*(import\s+)?"C"\s*$/.test(l)) cgoLine = n;
    });
    const call = /\b([A-Za-z_]\w*)\s*\(/g;
    for (let m = call.exec(text); m; m = call.exec(text)) calls.add(m[1]!);
  }
  return {
    path: file,
    onArm64: buildsFor(file, header, 'arm64'),
    onAmd64: buildsFor(file, header, 'amd64'),
    defines: defines.join('\n'),
    stubs: stubs.length ? structuredClone(stubs) : stubs,
    calls: [...calls].join('\n'),
    cgoLine,
    isAsm,
  };
}

/** The names of a `defines` or `calls` fact. */
const namesOf = (joined: string): string[] => (joined ? joined.split('\n') : []);

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
    const armDefined = new Set(arm.flatMap((f) => namesOf(f.defines)));
    const armCalls = new Set(arm.flatMap((f) => namesOf(f.calls)));
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
      for (const name of namesOf(f.defines)) {
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

/** What a build file (Makefile, script, Dockerfile, goreleaser, workflow) says about the Go build's target, in small facts. */
export interface GoBuildFacts {
  path: string;
  dockerfile: boolean;
  /** A Dockerfile that runs `make`: the Makefile builds the image's binary. */
  runsMake: boolean;
  /** A goreleaser file that publishes images too (dockers, docker_manifests, kos). */
  publishesImages: boolean;
  /** Where the build is pinned to amd64. */
  amd64Only?: { line: number; excerpt: string; what: string };
}

export function extractGoBuildFile(file: string, text: string): GoBuildFacts {
  const base = path.posix.basename(file);
  const dockerfile = /^Dockerfile/.test(base);
  const facts: GoBuildFacts = {
    path: file,
    dockerfile,
    runsMake: dockerfile && /\bRUN\b[^\n]*\bmake\b/.test(text),
    publishesImages: /^\s*(dockers|docker_manifests|kos):/m.test(text),
  };
  const at = (line: number, what: string) => ({ line, excerpt: lineText(text, line), what });
  if (/^\.goreleaser\.ya?ml$/.test(base)) {
    const list = /^\s*goarch:\s*\n((?:\s+-\s*\S+\s*\n?)+)/m.exec(text);
    if (list && /-\s*["']?amd64/.test(list[1]!) && !/-\s*["']?arm64/.test(list[1]!)) {
      facts.amd64Only = at(text.slice(0, list.index).split('\n').length, 'goreleaser builds amd64 only');
    }
    return facts;
  }
  if (/\barm64\b|aarch64|TARGETARCH|\$\{?GOARCH\}?/.test(text.replace(/GOARCH\s*[:=]\s*["']?amd64/g, ''))) return facts;
  const idx = text.split('\n').findIndex((l) => /GOARCH\s*[:=]\s*["']?amd64\b/.test(l) && !/^\s*#/.test(l));
  if (idx >= 0) facts.amd64Only = at(idx + 1, 'GOARCH is hard-coded to amd64');
  return facts;
}

function goarchFindings(files: GoBuildFacts[]): Finding[] {
  // When a Dockerfile builds the service image, that artefact is what runs (and is judged on its own);
  // a goreleaser or CI file that builds release binaries (a side CLI) for amd64 does not decide it.
  const dockerfiles = files.filter((f) => f.dockerfile);
  const sideBuild = (f: GoBuildFacts): boolean => {
    const base = path.posix.basename(f.path);
    if (!dockerfiles.length || f.dockerfile) return false;
    if (/^\.goreleaser\.ya?ml$/.test(base)) return !f.publishesImages;
    // A Makefile the Dockerfile runs builds the image's binary.
    if (/^(GNU)?Makefile$|\.mk$/.test(base)) return !dockerfiles.some((d) => d.runsMake);
    return true;
  };
  return files.flatMap((f) => (f.amd64Only ? [goarchFinding(f, f.amd64Only, sideBuild(f))] : []));
}

function goarchFinding(f: GoBuildFacts, at: NonNullable<GoBuildFacts['amd64Only']>, side: boolean): Finding {
  return {
    id: 'go.goarch-amd64',
    severity: side ? 'warning' : 'change',
    ecosystem: 'go',
    title: side
      ? `${at.what} in ${path.posix.basename(f.path)}: those release binaries have no arm64 build, but the service image is built by its Dockerfile, which is judged on its own (lowered to a warning)`
      : `${at.what} in ${path.posix.basename(f.path)}: the build makes no arm64 binary`,
    evidence: { file: f.path, line: at.line, excerpt: at.excerpt },
    fix: 'Take the architecture from the target platform (GOARCH=$TARGETARCH under docker buildx) or build both amd64 and arm64.',
    source: 'https://docs.docker.com/build/building/multi-platform/',
  };
}

/**
 * A tree's Go sources once each package (directory) has been judged: findings and counts, not a record
 * per file. A scan adds a directory's facts when all its files are read, and lets them go.
 */
export class GoSources {
  files = 0;
  readonly findings: Finding[] = [];
  /** The first few source paths (in path order), for the "scanned" note. */
  readonly sample: string[] = [];
  cgo = 0;
  firstCgo?: { path: string; line: number };

  /** `facts`: every source file of one or more whole directories. */
  addPackages(facts: GoFileFacts[]): void {
    const sorted = [...facts].sort((a, b) => a.path.localeCompare(b.path));
    this.findings.push(...amd64OnlyFindings(sorted));
    this.files += sorted.length;
    for (const f of sorted) {
      if (this.sample.length < 5 || f.path.localeCompare(this.sample[4]!) < 0) {
        this.sample.push(f.path);
        this.sample.sort((a, b) => a.localeCompare(b)).splice(5);
      }
      if (f.cgoLine === undefined || !f.onArm64) continue;
      this.cgo++;
      if (!this.firstCgo || f.path.localeCompare(this.firstCgo.path) < 0) this.firstCgo = { path: f.path, line: f.cgoLine };
    }
  }
}

export function analyseGo(input: { mods: SourceFile[]; sources: GoSources; buildFiles: GoBuildFacts[] }, kb: KnowledgeBase): Finding[] {
  const out: Finding[] = [];
  const { mods, sources } = input;
  const decls = mods.flatMap(analyseGoMod);
  out.push(...evaluateDeclarations(decls, kb, 'go'));
  out.push(...sources.findings);
  if (sources.firstCgo) {
    out.push({
      id: 'go.cgo',
      severity: 'warning',
      ecosystem: 'go',
      title: `${sources.cgo} Go file(s) use cgo: the arm64 build needs a C toolchain for aarch64 and arm64 builds of the C libraries`,
      evidence: { file: sources.firstCgo.path, line: sources.firstCgo.line },
      fix: 'Build natively on arm64 (or with an aarch64 cross compiler and CGO_ENABLED=1) and check the linked C libraries exist for arm64.',
      source: 'https://pkg.go.dev/cmd/cgo',
    });
  }
  if (mods.length > 0 || sources.files > 0) out.push(...goarchFindings(input.buildFiles));
  const scanned = [...mods.map((m) => m.path), ...sources.sample];
  if (scanned.length > 0 && !out.some((f) => f.ecosystem === 'go' && f.severity !== 'info')) {
    out.push(
      scannedInfo(
        'go',
        `Go module scanned (${decls.length} requirements, ${sources.files} source files)`,
        scanned,
        mods.length + sources.files,
      ),
    );
  }
  return out;
}
