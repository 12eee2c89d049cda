// Node dependencies with native addons: package.json (a range stands for the lowest version it allows),
// package-lock.json / npm-shrinkwrap.json (v1 tree and v2/v3 `packages`) and yarn.lock (v1), which give
// the installed versions including transitive ones. Pure: texts in, findings out.
import path from 'node:path';
import type { Finding } from '../report.ts';
import type { KnowledgeBase } from '../knowledge/load.ts';
import { parseNpmSpec } from '../versions.ts';
import {
  dirOf,
  evaluateDeclarations,
  lineText,
  lockDeclaration,
  readFiles,
  scannedInfo,
  unreadable,
  type Declaration,
  type SourceFile,
} from './deps.ts';

const lockNames = new Set(['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock']);

export function isNodeFile(file: string): boolean {
  const base = path.posix.basename(file);
  return base === 'package.json' || lockNames.has(base);
}

/** Line of each `"key": {` in a JSON text (first occurrence), in one pass. */
function objectKeyLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  text.split('\n').forEach((l, i) => {
    const m = /^\s*"([^"]+)"\s*:\s*[{"]/.exec(l);
    if (m && !lines.has(m[1]!)) lines.set(m[1]!, i + 1);
  });
  return lines;
}

function parseJson(f: SourceFile, out: Finding[]): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(f.text);
    if (v && typeof v === 'object') return v as Record<string, unknown>;
    out.push(unreadable(f.path, 'not a JSON object'));
  } catch (err) {
    out.push(unreadable(f.path, `malformed JSON: ${(err as Error).message}`));
  }
  return undefined;
}

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
        literal:
          !locked && /^[\^~]?\d+\.\d+\.\d+$/.test(value) ? { file: f.path, line, text: value, prefix } : undefined,
      });
    }
  }
  return decls;
}

const lockDecl = (f: SourceFile, name: string, version: string, line: number): Declaration => lockDeclaration('node', f, name, version, line);

function analysePackageLock(f: SourceFile, out: Finding[]): Declaration[] {
  const json = parseJson(f, out);
  if (!json) return [];
  const keyLines = objectKeyLines(f.text);
  const decls: Declaration[] = [];
  const packages = json.packages as Record<string, { version?: string; name?: string }> | undefined;
  if (packages && typeof packages === 'object') {
    for (const [key, info] of Object.entries(packages)) {
      const at = key.lastIndexOf('node_modules/');
      if (at < 0 || typeof info?.version !== 'string') continue;
      decls.push(lockDecl(f, info.name ?? key.slice(at + 'node_modules/'.length), info.version, keyLines.get(key) ?? 1));
    }
    return decls;
  }
  // lockfileVersion 1: a nested `dependencies` tree.
  const walk = (deps: unknown, depth: number) => {
    if (!deps || typeof deps !== 'object' || depth > 50) return;
    for (const [name, info] of Object.entries(deps as Record<string, { version?: string; dependencies?: unknown }>)) {
      if (typeof info?.version === 'string' && !info.version.includes(':')) {
        decls.push(lockDecl(f, name, info.version, keyLines.get(name) ?? 1));
      }
      walk(info?.dependencies, depth + 1);
    }
  };
  walk(json.dependencies, 0);
  return decls;
}

function analyseYarnLock(f: SourceFile): Declaration[] {
  const decls: Declaration[] = [];
  const lines = f.text.split('\n');
  let current: { name: string; line: number } | undefined;
  lines.forEach((l, i) => {
    const header = /^"?((?:@[^/@"]+\/)?[^@"\s]+)@[^\n]*:\s*$/.exec(l);
    if (header && !l.startsWith(' ')) {
      current = { name: header[1]!, line: i + 1 };
      return;
    }
    const version = /^\s+version:?\s+"?([^"\s]+)"?/.exec(l);
    if (version && current) {
      decls.push(lockDecl(f, current.name, version[1]!, current.line));
      current = undefined;
    }
  });
  return decls;
}

export function analyseNode(files: SourceFile[], kb: KnowledgeBase): Finding[] {
  const out: Finding[] = [];
  const decls: Declaration[] = [];
  const lockedDirs = new Set(files.filter((f) => lockNames.has(path.posix.basename(f.path))).map((f) => dirOf(f.path)));
  for (const f of files) {
    const base = path.posix.basename(f.path);
    if (base === 'package.json') decls.push(...analysePackageJson(f, out, lockedDirs.has(dirOf(f.path))));
    else if (base === 'yarn.lock') decls.push(...analyseYarnLock(f));
    else decls.push(...analysePackageLock(f, out));
  }
  out.push(...evaluateDeclarations(decls, kb, 'semver'));
  const read = readFiles(files.map((f) => f.path), out);
  if (read.length > 0 && !out.some((f) => f.ecosystem === 'node' && f.severity !== 'info')) {
    out.push(scannedInfo('node', `Node dependency files scanned (${decls.length} entries)`, read));
  }
  return out;
}
