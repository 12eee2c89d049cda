// Shared by the dependency analysers (jvm, python, node, go): turns "this file declares package P at
// version spec S" into findings using the knowledge base. One rule for all ecosystems: a lockfile says
// what is really installed; a manifest range only breaks when every version it allows is affected.
import path from 'node:path';
import type { Finding, Severity } from '../report.ts';
import type { AffectedRange, Impact, KnowledgeBase, KnowledgeEntry } from '../knowledge/load.ts';
import { normalizePackageName } from '../knowledge/load.ts';
import { compareVersions, specEscapesRange, versionInRange, type VersionScheme, type VersionSpec } from '../versions.ts';

export type DepEcosystem = 'jvm' | 'python' | 'node' | 'go';

export interface SourceFile {
  /** Path relative to the checkout root, with forward slashes. */
  path: string;
  text: string;
}

export interface Declaration {
  ecosystem: DepEcosystem;
  name: string;
  spec: VersionSpec;
  /** The version as written (after property resolution), for messages. */
  written: string;
  file: string;
  line: number;
  excerpt: string;
  origin: 'manifest' | 'lock';
  /** Declarations in one scope describe one install: a lock in the scope overrides manifest ranges. */
  scope: string;
  /** Where the version literal sits, when a plain text bump there is safe (no lockfile to regenerate). */
  literal?: { file: string; line: number; text: string; prefix?: string };
}

const impactWords: Record<Impact, string> = {
  fails: 'does not work on arm64',
  'source-build': 'has no prebuilt arm64 build',
  degrades: 'runs a slower fallback on arm64',
  investigate: 'needs a look before moving to arm64',
};

/** 1-based line of a character offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

export function lineText(text: string, line: number): string {
  return excerpt(text.split('\n', line)[line - 1] ?? '');
}

export function excerpt(s: string): string {
  const t = s.trim();
  return t.length > 200 ? `${t.slice(0, 197)}...` : t;
}

/** First 1-based line whose text matches, or 1. */
export function findLine(text: string, pattern: RegExp, from = 0): number {
  const lines = text.split('\n');
  for (let i = from; i < lines.length; i++) if (pattern.test(lines[i]!)) return i + 1;
  return from > 0 ? findLine(text, pattern, 0) : 1;
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function dirOf(file: string): string {
  const d = path.posix.dirname(file);
  return d === '.' ? '' : d;
}

/** A pinned version read from a lockfile at `line` of `f`; its scope is the lockfile's folder. */
export function lockDeclaration(ecosystem: DepEcosystem, f: SourceFile, name: string, version: string, line: number): Declaration {
  return lockDeclarationAt(ecosystem, f.path, name, version, line, lineText(f.text, line));
}

/** The same, with the line's excerpt already known (a file read in chunks). */
export function lockDeclarationAt(
  ecosystem: DepEcosystem,
  file: string,
  name: string,
  version: string,
  line: number,
  excerpt: string,
): Declaration {
  return { ecosystem, name, spec: { kind: 'exact', version }, written: version, file, line, excerpt, origin: 'lock', scope: dirOf(file) };
}

export function unreadable(file: string, why: string, line?: number): Finding {
  return {
    id: 'file.unreadable',
    severity: 'warning',
    ecosystem: 'file',
    title: `could not read ${file}: ${why}`,
    evidence: { file, ...(line ? { line } : {}) },
    fix: 'Fix or remove the file; the rest of the report does not depend on it.',
  };
}

/** Files that were read, i.e. not reported unreadable among `findings`. */
export function readFiles(files: string[], findings: Finding[]): string[] {
  const failed = new Set(findings.filter((f) => f.id === 'file.unreadable').map((f) => f.evidence.file));
  return files.filter((f) => !failed.has(f));
}

/** `files`: the files scanned, or the first few of them when `total` says how many there were. */
export function scannedInfo(ecosystem: Finding['ecosystem'], what: string, files: string[], total = files.length): Finding {
  const shown = files.slice(0, 5).join(', ') + (total > 5 ? `, and ${total - 5} more` : '');
  return {
    id: `${ecosystem}.scanned`,
    severity: 'info',
    ecosystem,
    title: `${what}: nothing known to break on arm64 (${shown})`,
    evidence: { file: files[0] },
  };
}

/**
 * One dependency file reduced to what judging it needs: the declarations the knowledge base knows (the
 * others can never raise a finding), how many there were in all, and the file's own problems. A large
 * lockfile is read, reduced and let go; the scan keeps this instead of its text.
 */
export interface DeclaredFile {
  path: string;
  decls: Declaration[];
  count: number;
  findings: Finding[];
}

/** Keeps the declarations `kb` knows of; the count stays that of all of them. */
export function declaredFile(path: string, decls: Declaration[], findings: Finding[], kb: KnowledgeBase): DeclaredFile {
  return { path, decls: decls.filter((d) => kb.lookup(d.ecosystem, d.name)), count: decls.length, findings };
}

/** Judges an ecosystem's dependency files together (a lockfile governs the manifests of its folder), in path order. */
export function judgeDeclaredFiles(
  files: DeclaredFile[],
  kb: KnowledgeBase,
  scheme: VersionScheme,
  ecosystem: DepEcosystem,
  what: (count: number) => string,
): Finding[] {
  const sorted = [...files].sort((a, b) => a.path.localeCompare(b.path));
  const out = sorted.flatMap((f) => f.findings);
  out.push(
    ...evaluateDeclarations(
      sorted.flatMap((f) => f.decls),
      kb,
      scheme,
    ),
  );
  const read = readFiles(
    sorted.map((f) => f.path),
    out,
  );
  if (read.length > 0 && !out.some((f) => f.ecosystem === ecosystem && f.severity !== 'info')) {
    out.push(scannedInfo(ecosystem, what(sorted.reduce((n, f) => n + f.count, 0)), read));
  }
  return out;
}

function rangeFor(entry: KnowledgeEntry, scheme: VersionScheme, spec: VersionSpec): AffectedRange | undefined {
  return entry.affected.find((r) => !specEscapesRange(scheme, spec, r));
}

/** The version to recommend: the end of the matched range, moved past any later affected range. */
export function targetVersion(entry: KnowledgeEntry, scheme: VersionScheme, range: AffectedRange): string | undefined {
  let target = range.below;
  if (target && entry.upgradeTo && compareVersions(scheme, entry.upgradeTo, target) > 0) target = entry.upgradeTo;
  for (let guard = 0; target && guard < entry.affected.length; guard++) {
    const again = entry.affected.find((r) => versionInRange(scheme, target!, r));
    if (!again) break;
    target = again.below;
  }
  return target;
}

export function severityFor(impact: Impact, target: string | undefined, replacement: string | undefined): Severity {
  if (impact === 'degrades' || impact === 'investigate') return 'warning';
  if (target || replacement) return 'change';
  return impact === 'fails' ? 'blocker' : 'warning';
}

export function fixText(entry: KnowledgeEntry, name: string, written: string, target: string | undefined): string {
  if (entry.fix) return entry.fix;
  if (target) return `Bump ${name} from ${written || 'its current version'} to ${target} or later.`;
  if (entry.replacement) return `Replace ${name} with ${entry.replacement}.`;
  return `No version of ${name} is known to work on arm64: build it for aarch64 or replace it.`;
}

export interface KnowledgeHit {
  entry: KnowledgeEntry;
  range: AffectedRange;
  target?: string;
  severity: Severity;
}

/** Matches one declared spec against the knowledge base. */
export function knowledgeHit(
  kb: KnowledgeBase,
  ecosystem: DepEcosystem | 'system',
  name: string,
  scheme: VersionScheme,
  spec: VersionSpec,
): KnowledgeHit | undefined {
  const entry = kb.lookup(ecosystem, name);
  if (!entry) return undefined;
  const range = rangeFor(entry, scheme, spec);
  if (!range) return undefined;
  const target = targetVersion(entry, scheme, range);
  return { entry, range, target, severity: severityFor(range.impact, target, entry.replacement) };
}

export function evaluateDeclarations(decls: Declaration[], kb: KnowledgeBase, scheme: VersionScheme): Finding[] {
  const groups = new Map<string, Declaration[]>();
  for (const d of decls) {
    if (!kb.lookup(d.ecosystem, d.name)) continue;
    const key = `${d.scope}\u0000${normalizePackageName(d.ecosystem, d.name)}`;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  const findings: Finding[] = [];
  for (const group of groups.values()) {
    const locks = group.filter((d) => d.origin === 'lock');
    const manifests = group.filter((d) => d.origin === 'manifest');
    if (locks.length > 0) {
      const seen = new Set<string>();
      for (const lock of locks) {
        if (seen.has(lock.written)) continue;
        seen.add(lock.written);
        const hit = knowledgeHit(kb, lock.ecosystem, lock.name, scheme, lock.spec);
        if (!hit) continue;
        const declared = manifests[0];
        findings.push(toFinding(hit, lock, declared ? { ...declared, literal: undefined } : lock, lock.written, !declared, lock.file));
      }
      continue;
    }
    for (const d of manifests) {
      if (d.spec.kind === 'unreadable') {
        const entry = kb.lookup(d.ecosystem, d.name)!;
        if (!entry.affected.some((r) => r.below !== undefined || r.from !== undefined)) {
          const hit = knowledgeHit(kb, d.ecosystem, d.name, scheme, { kind: 'none' });
          if (hit) findings.push(toFinding(hit, d, d, d.written, false));
          continue;
        }
        findings.push({
          id: entry.id,
          severity: 'warning',
          ecosystem: d.ecosystem,
          title: `${d.name} ${d.written}: version not known here; some versions do not work on arm64 (${entry.affected[0]!.breaks})`,
          evidence: { file: d.file, line: d.line, excerpt: d.excerpt },
          fix: `Check the resolved version of ${d.name}: ${fixText(entry, d.name, d.written, targetVersion(entry, scheme, entry.affected[0]!))}`,
          source: entry.affected[0]!.source ?? entry.source,
        });
        continue;
      }
      const hit = knowledgeHit(kb, d.ecosystem, d.name, scheme, d.spec);
      if (hit) findings.push(toFinding(hit, d, d, d.written, false));
    }
  }
  return findings;
}

function toFinding(
  hit: KnowledgeHit,
  resolved: Declaration,
  at: Declaration,
  version: string,
  transitive: boolean,
  lockFile?: string,
): Finding {
  const { entry, range, target, severity } = hit;
  const name = resolved.name;
  version = version.replace(/^===?\s*/, '');
  const via = lockFile && lockFile !== at.file ? ` (${lockFile} resolves ${version})` : '';
  const finding: Finding = {
    id: entry.id,
    severity,
    ecosystem: resolved.ecosystem,
    title: `${name} ${version || '(any version)'} ${impactWords[range.impact]}: ${range.breaks}${via}`,
    evidence: { file: at.file, line: at.line, excerpt: at.excerpt },
    fix:
      fixText(entry, name, version, target) +
      (transitive ? ' It arrives transitively: upgrade the package that brings it in, or pin it.' : '') +
      (lockFile && !transitive ? ' Then regenerate the lockfile.' : ''),
    source: range.source ?? entry.source,
    impact: range.impact,
  };
  const literal = at.literal;
  if (target && literal && severity !== 'warning' && at.spec.kind === 'exact') {
    finding.autofix = {
      kind: 'deps',
      params: {
        file: literal.file,
        package: name,
        from: literal.text,
        to: `${literal.prefix ?? ''}${target}`,
        line: String(literal.line),
      },
    };
  }
  return finding;
}
