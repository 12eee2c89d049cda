// Python dependencies: requirements files (pins, ranges, -r/-c includes), Pipfile.lock, poetry.lock and
// pyproject.toml (PEP 621 and Poetry). Only packages with compiled code that lacked an aarch64 wheel are
// in the knowledge base, so pure-Python packages never raise anything. Pure: texts in, findings out.
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { Finding } from '../report.ts';
import type { KnowledgeBase } from '../knowledge/load.ts';
import { parsePep440Spec, parsePoetrySpec, type VersionSpec } from '../versions.ts';
import { parseJsonFields } from './json-fields.ts';
import {
  declaredFile,
  dirOf,
  escapeRegExp,
  findLine,
  judgeDeclaredFiles,
  lineText,
  lockDeclaration,
  unreadable,
  type Declaration,
  type DeclaredFile,
  type SourceFile,
} from './native-deps.ts';

export function isRequirementsFile(file: string): boolean {
  const base = path.posix.basename(file);
  return (
    /^requirements.*\.(txt|in)$/i.test(base) ||
    /^constraints.*\.txt$/i.test(base) ||
    (path.posix.basename(dirOf(file)) === 'requirements' && base.endsWith('.txt'))
  );
}

export function isPythonFile(file: string): boolean {
  const base = path.posix.basename(file);
  return isRequirementsFile(file) || base === 'Pipfile.lock' || base === 'poetry.lock' || base === 'pyproject.toml';
}

/** Files a requirements file pulls in with -r/-c, relative to the checkout root. */
export function requirementIncludes(file: SourceFile): string[] {
  const out: string[] = [];
  for (const line of joinContinuations(file.text)) {
    const m = /^\s*(?:-r|--requirement|-c|--constraint)(?:\s+|=)(\S+)/.exec(line.text);
    if (m && !/^[a-z]+:\/\//i.test(m[1]!)) out.push(path.posix.normalize(path.posix.join(dirOf(file.path) || '.', m[1]!)));
  }
  return out;
}

function joinContinuations(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let t = lines[i]!;
    while (t.endsWith('\\') && i + 1 < lines.length) t = t.slice(0, -1) + ' ' + lines[++i]!;
    out.push({ text: t.replace(/(^|\s)#.*$/, ''), line: start + 1 });
  }
  return out;
}

/** One PEP 508 requirement: name, extras, specifier, marker. URL requirements have no version. */
export function parseRequirement(text: string): { name: string; spec: VersionSpec; written: string } | undefined {
  const m = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*?)\s*(;.*)?$/.exec(text);
  if (!m) return undefined;
  const rest = m[3]!.replace(/^\((.*)\)$/, '$1').trim();
  if (rest.startsWith('@')) return { name: m[1]!, spec: { kind: 'unreadable', text: rest }, written: rest };
  return { name: m[1]!, spec: parsePep440Spec(rest), written: rest };
}

function analyseRequirements(f: SourceFile): Declaration[] {
  const decls: Declaration[] = [];
  for (const { text, line } of joinContinuations(f.text)) {
    const t = text.trim();
    if (t === '' || t.startsWith('-') || /^[a-z]+:\/\//i.test(t) || t.startsWith('.') || t.startsWith('/')) continue;
    const req = parseRequirement(t.replace(/\s--hash=\S+/g, ''));
    if (!req) continue;
    const pin = /===?\s*([^\s,;]+)/.exec(req.written);
    decls.push({
      ecosystem: 'python',
      name: req.name,
      spec: req.spec,
      written: req.written,
      file: f.path,
      line,
      excerpt: lineText(f.text, line),
      origin: 'manifest',
      // pip reads a requirements file on its own; no lockfile governs it.
      scope: `requirements:${f.path}`,
      literal: req.spec.kind === 'exact' && pin ? { file: f.path, line, text: pin[1]! } : undefined,
    });
  }
  return decls;
}

/** A lockfile's pins, as `[name, version]`; the lines of those `kb` knows are looked up after (see pythonFileDeclarations). */
function pipfileLockPins(f: SourceFile, out: Finding[]): [string, string][] {
  let json: Record<string, Record<string, { version?: string }>>;
  try {
    json = parseJsonFields(
      f.text,
      (p) => (p[0] === 'default' || p[0] === 'develop') && (p.length <= 2 || (p.length === 3 && p[2] === 'version')),
    ) as typeof json;
  } catch (err) {
    out.push(unreadable(f.path, `malformed JSON: ${(err as Error).message}`));
    return [];
  }
  const pins: [string, string][] = [];
  for (const section of ['default', 'develop']) {
    for (const [name, info] of Object.entries(json?.[section] ?? {})) {
      const version = info?.version?.replace(/^==/, '');
      if (version) pins.push([name, version]);
    }
  }
  return pins;
}

function parseTomlFile(f: SourceFile, out: Finding[]): Record<string, unknown> | undefined {
  try {
    return parseToml(f.text) as Record<string, unknown>;
  } catch (err) {
    out.push(unreadable(f.path, `malformed TOML: ${(err as Error).message.split('\n')[0]}`));
    return undefined;
  }
}

function poetryLockPins(f: SourceFile, out: Finding[]): [string, string][] {
  const toml = parseTomlFile(f, out);
  if (!toml) return [];
  const packages = Array.isArray(toml.package) ? (toml.package as Record<string, unknown>[]) : [];
  return packages.flatMap((p): [string, string][] =>
    typeof p.name === 'string' && typeof p.version === 'string' ? [[p.name, p.version]] : [],
  );
}

function analysePyproject(f: SourceFile, out: Finding[]): Declaration[] {
  const toml = parseTomlFile(f, out);
  if (!toml) return [];
  const decls: Declaration[] = [];
  const push = (name: string, spec: VersionSpec, written: string, linePattern: RegExp) => {
    const line = findLine(f.text, linePattern);
    const pin = spec.kind === 'exact' ? /^(?:==)?\s*([\w.!+-]+)$/.exec(written.trim()) : null;
    decls.push({
      ecosystem: 'python',
      name,
      spec,
      written,
      file: f.path,
      line,
      excerpt: lineText(f.text, line),
      origin: 'manifest',
      scope: dirOf(f.path),
      literal: pin ? { file: f.path, line, text: pin[1]! } : undefined,
    });
  };
  const project = (toml.project ?? {}) as Record<string, unknown>;
  const pep621 = [
    ...(Array.isArray(project.dependencies) ? project.dependencies : []),
    ...Object.values((project['optional-dependencies'] ?? {}) as Record<string, unknown>).flatMap((v) => (Array.isArray(v) ? v : [])),
  ];
  for (const dep of pep621) {
    if (typeof dep !== 'string') continue;
    const req = parseRequirement(dep);
    if (req) push(req.name, req.spec, req.written, new RegExp(`["']${escapeRegExp(req.name)}\\s*[\\[=<>~!;@ "']`, 'i'));
  }
  const poetry = ((toml.tool as Record<string, unknown> | undefined)?.poetry ?? {}) as Record<string, unknown>;
  const tables = [
    poetry.dependencies,
    poetry['dev-dependencies'],
    ...Object.values((poetry.group ?? {}) as Record<string, { dependencies?: unknown }>).map((g) => g?.dependencies),
  ];
  for (const table of tables) {
    for (const [name, value] of Object.entries((table ?? {}) as Record<string, unknown>)) {
      if (name.toLowerCase() === 'python') continue;
      const written =
        typeof value === 'string'
          ? value
          : typeof (value as { version?: unknown })?.version === 'string'
            ? (value as { version: string }).version
            : '';
      push(
        name,
        written ? parsePoetrySpec(written) : { kind: 'none' },
        written,
        new RegExp(`^\\s*["']?${escapeRegExp(name)}["']?\\s*=`, 'i'),
      );
    }
  }
  return decls;
}

/** One Python dependency file reduced to the declarations `kb` knows (a lockfile's lines looked up for those alone). */
export function pythonFileDeclarations(f: SourceFile, kb: KnowledgeBase): DeclaredFile {
  const out: Finding[] = [];
  const base = path.posix.basename(f.path);
  if (base === 'pyproject.toml') return declaredFile(f.path, analysePyproject(f, out), out, kb);
  if (base !== 'Pipfile.lock' && base !== 'poetry.lock') return declaredFile(f.path, analyseRequirements(f), out, kb);
  const pins = base === 'Pipfile.lock' ? pipfileLockPins(f, out) : poetryLockPins(f, out);
  const at = (name: string) =>
    base === 'Pipfile.lock' ? new RegExp(`^\\s*"${escapeRegExp(name)}"\\s*:`) : new RegExp(`^\\s*name\\s*=\\s*"${escapeRegExp(name)}"`);
  const decls = pins
    .filter(([name]) => kb.lookup('python', name))
    .map(([name, version]) => lockDeclaration('python', f, name, version, findLine(f.text, at(name))));
  return { path: f.path, decls, count: pins.length, findings: out };
}

export function judgePython(files: DeclaredFile[], kb: KnowledgeBase): Finding[] {
  return judgeDeclaredFiles(files, kb, 'pep440', 'python', (n) => `Python dependency files scanned (${n} requirements)`);
}

export function analysePython(files: SourceFile[], kb: KnowledgeBase): Finding[] {
  return judgePython(
    files.map((f) => pythonFileDeclarations(f, kb)),
    kb,
  );
}

/**
 * On a musl (Alpine) final image pip cannot use manylinux wheels on any architecture: a package without
 * an aarch64 manylinux wheel is built from source on amd64 too, so arm64 is no worse. Such findings are
 * lowered to a warning that says why, and no PR is offered for them.
 */
export function lowerForMusl(findings: Finding[], base: string): Finding[] {
  return findings.map((f) =>
    f.ecosystem === 'python' && f.impact === 'source-build' && (f.severity === 'change' || f.severity === 'blocker')
      ? {
          ...f,
          severity: 'warning' as const,
          title: `${f.title}; lowered to a warning: the final image is based on ${base} (musl), where pip builds it from source on amd64 too, so arm64 is no worse`,
          autofix: undefined,
        }
      : f,
  );
}
