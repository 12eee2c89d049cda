// Node dependencies with native addons: package.json (a range stands for the lowest version it allows),
// package-lock.json / npm-shrinkwrap.json (v1 tree and v2/v3 `packages`) and yarn.lock (v1), which give
// the installed versions including transitive ones. Pure: texts in, findings out; each file is reduced
// on its own (nodeFileDeclarations), so a scan keeps declarations, not lockfile texts.
import path from 'node:path';
import type { Finding } from '../report.ts';
import type { KnowledgeBase } from '../knowledge/load.ts';
import { parseNpmSpec } from '../versions.ts';
import { parseJsonChunks, parseJsonFields, type TakeMember } from './json-fields.ts';
import {
  declaredFile,
  dirOf,
  judgeDeclaredFiles,
  lineAt,
  lineText,
  lockDeclaration,
  lockDeclarationAt,
  excerpt,
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

/** Where a lockfile entry's key sits: its line and that line's excerpt. */
interface KeyLine {
  line: number;
  excerpt: string;
}

/**
 * The line of each of `keys` as `"key": {` (or `"key": "`) at the start of a line of a JSON text (first
 * occurrence), and the first line's excerpt. The text comes in chunks; only the lines not searched yet
 * (and 64 characters past them) are held, so a big lockfile is never whole in memory.
 */
function objectKeyLines(chunks: Iterable<string>, keys: ReadonlySet<string>): { lines: Map<string, KeyLine>; first: string } {
  const lines = new Map<string, KeyLine>();
  let first: string | undefined;
  const pending = new Set(keys);
  const longest = Math.max(0, ...[...keys].map((k) => k.length + 2));
  let buf = '';
  let bufLine = 1; // the line `buf` starts (always at a line's start)
  const search = (upTo: number) => {
    for (const key of pending) {
      const quoted = `"${key}"`;
      // Searched for, not split into lines: a lockfile has a hundred thousand lines and a handful of wanted keys.
      for (let at = buf.indexOf(quoted); at >= 0 && at < upTo; at = buf.indexOf(quoted, at + 1)) {
        const lineStart = buf.lastIndexOf('\n', at) + 1;
        if (buf.slice(lineStart, at).trim() !== '' || !/^\s*:\s*[{"]/.test(buf.slice(at + quoted.length, at + quoted.length + 64)))
          continue;
        const lineEnd = buf.indexOf('\n', at);
        lines.set(key, {
          line: bufLine + lineAt(buf, lineStart) - 1,
          excerpt: excerpt(buf.slice(lineStart, lineEnd < 0 ? buf.length : lineEnd)),
        });
        pending.delete(key);
        break;
      }
    }
  };
  const consume = (ended: boolean) => {
    if (first === undefined) {
      const nl = buf.indexOf('\n');
      if (nl >= 0 || ended) first = excerpt(buf.slice(0, nl < 0 ? buf.length : nl));
    }
    // Occurrences before the start of the line holding `safe` have their whole line and 64 characters after them.
    const safe = ended ? buf.length : Math.max(0, buf.length - 64 - longest);
    const upTo = ended ? buf.length : buf.lastIndexOf('\n', safe - 1) + 1;
    search(upTo);
    for (let nl = buf.indexOf('\n'); nl >= 0 && nl < upTo; nl = buf.indexOf('\n', nl + 1)) bufLine++;
    buf = buf.slice(upTo);
  };
  for (const chunk of chunks) {
    buf += chunk;
    consume(false);
    if (pending.size === 0 && first !== undefined) return { lines, first };
  }
  consume(true);
  return { lines, first: first ?? '' };
}

/** The fields of a package-lock.json the analyser reads: `packages` entries' name and version, or the v1 `dependencies` tree. */
function lockField(path: readonly string[]): boolean {
  if (path[0] === 'packages') return path.length <= 2 || (path.length === 3 && (path[2] === 'version' || path[2] === 'name'));
  if (path[0] !== 'dependencies') return false;
  // v1: dependencies / <name> / dependencies / <name> / … / version
  return path.every((key, i) => i % 2 === 1 || key === 'dependencies' || (i === path.length - 1 && key === 'version'));
}

function parseJson(file: string, out: Finding[], parse: () => unknown): Record<string, unknown> | undefined {
  try {
    const v = parse();
    if (v && typeof v === 'object') return v as Record<string, unknown>;
    out.push(unreadable(file, 'not a JSON object'));
  } catch (err) {
    out.push(unreadable(file, `malformed JSON: ${(err as Error).message}`));
  }
  return undefined;
}

/** `locked`: a lockfile beside it decides the versions, so no literal is offered for a text bump. */
function analysePackageJson(f: SourceFile, out: Finding[], locked: boolean): Declaration[] {
  const json = parseJson(f.path, out, () => JSON.parse(f.text));
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
function packageLockEntries(
  parse: (take: TakeMember) => Record<string, unknown> | undefined,
  wanted: (name: string) => boolean,
): LockEntries {
  // Per `packages` key, as an object holds it (a repeated key keeps its place and takes the last value):
  // the entry when wanted, true for an entry not wanted, false for a key that is no package entry.
  type ByKey = Map<string, Locked | boolean>;
  const add = (byKey: ByKey, key: string, info: { version?: string; name?: string } | undefined) => {
    const at = key.lastIndexOf('node_modules/');
    // A copy of the key: one read in chunks is a slice that would keep its whole chunk alive.
    const own = detached(key);
    if (at < 0 || typeof info?.version !== 'string') return void byKey.set(own, false);
    const name = info.name ?? key.slice(at + 'node_modules/'.length);
    byKey.set(own, wanted(name) ? { name, version: info.version, key: own } : true);
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
  const json = parse(take);
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
 * A copy of `s` that is no slice of a bigger string (V8 flattens the concatenation into a new string
 * before slicing it).
 */
const detached = (s: string): string => ` ${s}`.slice(1);

/**
 * One Node dependency file reduced to the declarations `kb` knows. A lockfile's entries are matched
 * against it first, so the lines of the few that matter are all that is looked up.
 */
export function nodeFileDeclarations(f: SourceFile, kb: KnowledgeBase): DeclaredFile {
  const out: Finding[] = [];
  const base = path.posix.basename(f.path);
  if (base === 'package.json') return declaredFile(f.path, analysePackageJson(f, out, false), out, kb);
  const known = (name: string) => kb.lookup('node', name) !== undefined;
  if (base !== 'yarn.lock')
    return npmLockDeclarations(
      f.path,
      out,
      (take) => parseJsonFields(f.text, lockField, undefined, take),
      () => [f.text],
      kb,
    );
  const { entries, count } = yarnLockEntries(f, known);
  const decls = entries.map((e) => lockDeclaration('node', f, e.name, e.version, e.line!));
  return { path: f.path, decls, count, findings: out };
}

/** A file read chunk by chunk: each call of `chunks` yields its text from the start. */
export interface ChunkedFile {
  path: string;
  chunks: () => Iterable<string>;
}

/** A big package-lock.json / npm-shrinkwrap.json reduced as nodeFileDeclarations reduces it, its text never held whole. */
export function npmLockFileDeclarations(f: ChunkedFile, kb: KnowledgeBase): DeclaredFile {
  return npmLockDeclarations(f.path, [], (take) => parseJsonChunks(f.chunks, lockField, take), f.chunks, kb);
}

function npmLockDeclarations(
  file: string,
  out: Finding[],
  parse: (take: TakeMember) => unknown,
  chunks: () => Iterable<string>,
  kb: KnowledgeBase,
): DeclaredFile {
  const known = (name: string) => kb.lookup('node', name) !== undefined;
  const { entries, count } = packageLockEntries((take) => parseJson(file, out, () => parse(take)), known);
  if (entries.length === 0) return { path: file, decls: [], count, findings: out };
  const { lines, first } = objectKeyLines(chunks(), new Set(entries.map((e) => e.key)));
  const decls = entries.map((e) => {
    const at = lines.get(e.key) ?? { line: 1, excerpt: first };
    return lockDeclarationAt('node', file, e.name, e.version, at.line, at.excerpt);
  });
  return { path: file, decls, count, findings: out };
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
