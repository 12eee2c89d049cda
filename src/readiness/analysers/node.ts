// Node dependencies with native addons: package.json (a range stands for the lowest version it allows),
// package-lock.json / npm-shrinkwrap.json (v1 tree and v2/v3 `packages`) and yarn.lock (v1), which give
// the installed versions including transitive ones. Pure: texts in, findings out; each file is reduced
// on its own (nodeFileDeclarations), so a scan keeps declarations, not lockfile texts.
import path from 'node:path';
import type { Finding } from '../report.ts';
import type { KnowledgeBase } from '../knowledge/load.ts';
import { parseNpmSpec } from '../versions.ts';
import { parseJsonFields, type TakeMember } from './json-fields.ts';
import {
  declaredFile,
  dirOf,
  judgeDeclaredFiles,
  lineAt,
  lineText,
  lockDeclaration,
  unreadable,
  type Declaration,
  type DeclaredFile,
  type SourceFile,
} from './native-deps.ts';

const lockNames = new Set(['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock']);

export function isNodeFile(file: string): boolean {
  const base = path.posix.basename(file);
  return base === 'package.json' || lockNames.has(base);
}

/** Line of each of `keys` as `"key": {` (or `"key": "`) at the start of a line of a JSON text (first occurrence). */
function objectKeyLines(text: string, keys: ReadonlySet<string>): Map<string, number> {
  const lines = new Map<string, number>();
  for (const key of keys) {
    // Searched for, not split into lines: a lockfile has a hundred thousand lines and a handful of wanted keys.
    const quoted = `"${key}"`;
    for (let at = text.indexOf(quoted); at >= 0; at = text.indexOf(quoted, at + 1)) {
      const lineStart = text.lastIndexOf('\n', at) + 1;
      if (text.slice(lineStart, at).trim() !== '' || !/^\s*:\s*[{"]/.test(text.slice(at + quoted.length, at + quoted.length + 64)))
        continue;
      lines.set(key, lineAt(text, at));
      break;
    }
  }
  return lines;
}

/** The fields of a package-lock.json the analyser reads: `packages` entries' name and version, or the v1 `dependencies` tree. */
function lockField(path: readonly string[]): boolean {
  if (path[0] === 'packages') return path.length <= 2 || (path.length === 3 && (path[2] === 'version' || path[2] === 'name'));
  if (path[0] !== 'dependencies') return false;
  // v1: dependencies / <name> / dependencies / <name> / … / version
  return path.every((key, i) => i % 2 === 1 || key === 'dependencies' || (i === path.length - 1 && key === 'version'));
}

function parseJson(
  f: SourceFile,
  out: Finding[],
  keep?: (path: readonly string[]) => boolean,
  take?: TakeMember,
): Record<string, unknown> | undefined {
  try {
    const v = keep ? parseJsonFields(f.text, keep, undefined, take) : JSON.parse(f.text);
    if (v && typeof v === 'object') return v as Record<string, unknown>;
    out.push(unreadable(f.path, 'not a JSON object'));
  } catch (err) {
    out.push(unreadable(f.path, `malformed JSON: ${(err as Error).message}`));
  }
  return undefined;
}

/** `locked`: a lockfile beside it decides the versions, so no literal is offered for a text bump. */
function analysePackageJson(f: SourceFile, out: Finding[], locked: boolean): Declaration[] {
  const json = parseJson(f, out);
  if (!json) return [];
  const decls: Declaration[] = [];
  const lines = f.text.split('\n');
  for (const section of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    const deps = json[section];
    if (!deps || typeof deps !== 'object') continue;
    const sectionLine = lines.findIndex((l) => l.includes(`"${section}"`));
    for (const [name, value] of Object.entries(deps as Record<string, unknown>)) {
      if (typeof value !== 'string') continue;
      const idx = lines.findIndex((l, i) => i > sectionLine && l.includes(`"${name}"`));
      const line = idx >= 0 ? idx + 1 : 1;
      const prefix = /^[\^~]/.exec(value)?.[0] ?? '';
      decls.push({
        ecosystem: 'node',
        name,
        spec: parseNpmSpec(value),
        written: value,
        file: f.path,
        line,
        excerpt: lineText(f.text, line),
        origin: 'manifest',
        scope: dirOf(f.path),
        literal: !locked && /^[\^~]?\d+\.\d+\.\d+$/.test(value) ? { file: f.path, line, text: value, prefix } : undefined,
      });
    }
  }
  return decls;
}

interface Locked {
  name: string;
  version: string;
  /** The object key the entry sits under, whose line is the evidence (when `line` is not known already). */
  key: string;
  line?: number;
}

/** A lockfile's entries the caller wants (in order), and how many entries it has in all. */
interface LockEntries {
  entries: Locked[];
  count: number;
}

/**
 * The installed packages of a package-lock.json (v2/v3 `packages`, or the nested v1 `dependencies` tree)
 * that `wanted` names. A big lockfile's `packages` are reduced as the reader meets them, so its thousands
 * of entries are never all held at once.
 */
function packageLockEntries(f: SourceFile, out: Finding[], wanted: (name: string) => boolean): LockEntries {
  // Per `packages` key, as an object holds it (a repeated key keeps its place and takes the last value):
  // the entry when wanted, true for an entry not wanted, false for a key that is no package entry.
  type ByKey = Map<string, Locked | boolean>;
  const add = (byKey: ByKey, key: string, info: { version?: string; name?: string } | undefined) => {
    const at = key.lastIndexOf('node_modules/');
    if (at < 0 || typeof info?.version !== 'string') return void byKey.set(key, false);
    const name = info.name ?? key.slice(at + 'node_modules/'.length);
    byKey.set(key, wanted(name) ? { name, version: info.version, key } : true);
  };
  let filling: ByKey = new Map();
  let read: ByKey | undefined;
  const take: TakeMember = (p, v) => {
    if (p[0] !== 'packages') return false;
    if (p.length === 1) {
      // One `packages` object read to its end (a repeated one replaces it, as in JSON.parse's value).
      read = filling;
      filling = new Map();
      return false;
    }
    if (p.length !== 2) return false;
    add(filling, p[1]!, v as { version?: string; name?: string } | undefined);
    return true;
  };
  const json = parseJson(f, out, lockField, take);
  if (!json) return { entries: [], count: 0 };
  const packages = json.packages as Record<string, { version?: string; name?: string }> | undefined;
  if (packages && typeof packages === 'object') {
    const byKey = read ?? new Map();
    for (const [key, info] of Object.entries(packages)) add(byKey, key, info);
    const values = [...byKey.values()];
    return { entries: values.filter((v): v is Locked => typeof v === 'object'), count: values.filter((v) => v !== false).length };
  }
  // lockfileVersion 1: a nested `dependencies` tree.
  const entries: Locked[] = [];
  let count = 0;
  const walk = (deps: unknown, depth: number) => {
    if (!deps || typeof deps !== 'object' || depth > 50) return;
    for (const [name, info] of Object.entries(deps as Record<string, { version?: string; dependencies?: unknown }>)) {
      if (typeof info?.version === 'string' && !info.version.includes(':')) {
        count++;
        if (wanted(name)) entries.push({ name, version: info.version, key: name });
      }
      walk(info?.dependencies, depth + 1);
    }
  };
  walk(json.dependencies, 0);
  return { entries, count };
}

/** Every `name@range:` block of a yarn.lock (v1) with the version it resolved to, line by line. */
function yarnLockEntries(f: SourceFile, wanted: (name: string) => boolean): LockEntries {
  const entries: Locked[] = [];
  let count = 0;
  let current: { name: string; line: number } | undefined;
  const { text } = f;
  for (let start = 0, i = 0; start < text.length; i++) {
    const end = text.indexOf('\n', start);
    const l = text.slice(start, end < 0 ? text.length : end);
    const header = /^"?((?:@[^/@"]+\/)?[^@"\s]+)@[^\n]*:\s*$/.exec(l);
    if (header && !l.startsWith(' ')) current = { name: header[1]!, line: i + 1 };
    else {
      const version = /^\s+version:?\s+"?([^"\s]+)"?/.exec(l);
      if (version && current) {
        count++;
        if (wanted(current.name)) entries.push({ name: current.name, version: version[1]!, key: current.name, line: current.line });
        current = undefined;
      }
    }
    if (end < 0) break;
    start = end + 1;
  }
  return { entries, count };
}

/**
 * One Node dependency file reduced to the declarations `kb` knows. A lockfile's entries are matched
 * against it first, so the lines of the few that matter are all that is looked up.
 */
export function nodeFileDeclarations(f: SourceFile, kb: KnowledgeBase): DeclaredFile {
  const out: Finding[] = [];
  const base = path.posix.basename(f.path);
  if (base === 'package.json') return declaredFile(f.path, analysePackageJson(f, out, false), out, kb);
  const known = (name: string) => kb.lookup('node', name) !== undefined;
  const { entries, count } = base === 'yarn.lock' ? yarnLockEntries(f, known) : packageLockEntries(f, out, known);
  const lines = objectKeyLines(f.text, new Set(entries.filter((e) => e.line === undefined).map((e) => e.key)));
  const decls = entries.map((e) => lockDeclaration('node', f, e.name, e.version, e.line ?? lines.get(e.key) ?? 1));
  return { path: f.path, decls, count, findings: out };
}

/** Judges a tree's Node dependency files: a lockfile in a folder decides the versions of the package.json beside it. */
export function judgeNode(files: DeclaredFile[], kb: KnowledgeBase): Finding[] {
  const lockedDirs = new Set(files.filter((f) => lockNames.has(path.posix.basename(f.path))).map((f) => dirOf(f.path)));
  const settled = files.map((f) =>
    path.posix.basename(f.path) === 'package.json' && lockedDirs.has(dirOf(f.path))
      ? { ...f, decls: f.decls.map((d) => ({ ...d, literal: undefined })) }
      : f,
  );
  return judgeDeclaredFiles(settled, kb, 'semver', 'node', (n) => `Node dependency files scanned (${n} entries)`);
}

export function analyseNode(files: SourceFile[], kb: KnowledgeBase): Finding[] {
  return judgeNode(
    files.map((f) => nodeFileDeclarations(f, kb)),
    kb,
  );
}
