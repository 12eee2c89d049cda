// Gradle builds as real projects write them: versions and coordinates spread over the build scripts,
// scripts applied with `apply from:` (gradle/dependencies.gradle with `versions += [...]` and
// `libs += [...]` maps), `ext {}` / `extra` properties, gradle.properties, buildSrc constants
// (`object Versions { const val netty = "..." }`), GString and Kotlin string templates, and versionless
// dependencies managed by a `platform()`/BOM or by a property the BOM reads (`ext['netty.version']`).
// The whole build is one namespace, as Gradle makes root properties visible to every subproject.
// Pure: file texts in, dependency declarations and findings out.
import path from 'node:path';
import type { Finding } from '../report.ts';
import { parseMavenSpec } from '../versions.ts';
import { dirOf, lineAt, lineText, type Declaration, type SourceFile } from './native-deps.ts';

/** A value the build defines, and where its literal text sits. */
interface Definition {
  value: string;
  file: string;
  line: number;
}

/** A `group:artifact[:version[:classifier]]` written somewhere in the build. */
export interface GradleCoordinate {
  group: string;
  artifact: string;
  /** As resolved; undefined when the string names no version (managed by a platform/BOM). */
  version?: string;
  /** The version text before resolution (`$versions.rocksDB`), for messages when it stays unresolved. */
  rawVersion?: string;
  classifier?: string;
  file: string;
  line: number;
  /** Where the version literal is, when one definition or the string itself holds it. */
  literal?: { file: string; line: number; text: string };
  /** `platform(...)` / `enforcedPlatform(...)` / `mavenBom`: a BOM that sets versions of others. */
  platform: boolean;
}

export interface GradleBuild {
  coordinates: GradleCoordinate[];
  /** Build properties, for BOM-read properties (`netty.version`). */
  lookup(name: string): Definition | undefined;
  findings: Finding[];
}

/** Build scripts, applied scripts, settings and buildSrc sources. */
export function isGradleScript(file: string): boolean {
  const base = path.posix.basename(file);
  if (/\.gradle(\.kts)?$/.test(base)) return true;
  const dirs = file.split('/').slice(0, -1);
  // buildSrc sources, and scripts kept beside the wrapper for `apply from:` (gradle/versions.groovy).
  return (dirs.includes('buildSrc') && /\.(kt|kts|groovy|java)$/.test(base)) || (dirs.at(-1) === 'gradle' && /\.(kts|groovy)$/.test(base));
}

/** Blanks // and /* *\/ comments in Groovy/Kotlin, keeping offsets (URLs inside strings survive). */
export function blankScriptComments(text: string): string {
  return text.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (c) =>
    c.startsWith('"') || c.startsWith("'") ? c : c.replace(/[^\n]/g, ' '),
  );
}

const STRING = /"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'/g;

/** Collects every `name = "literal"`, map entry, `ext[...]`/`extra[...]`/`set(...)`/`by extra(...)`, object constant and property. */
function collectDefinitions(files: SourceFile[], defs: Map<string, Definition>): void {
  const put = (name: string, value: string, file: string, text: string, offset: number) => {
    if (!defs.has(name)) defs.set(name, { value, file, line: lineAt(text, offset) });
  };
  for (const f of files) {
    if (path.posix.basename(f.path) === 'gradle.properties') {
      for (const m of f.text.matchAll(/^[ \t]*([\w.-]+)[ \t]*[=:][ \t]*([^\s#!][^\r\n]*?)[ \t]*\r?$/gm))
        put(m[1]!, m[2]!, f.path, f.text, m.index! + m[0].indexOf(m[2]!, m[1]!.length));
      continue;
    }
    const text = blankScriptComments(f.text);
    // Kotlin objects (buildSrc): members are named Object.member.
    const objects = [...text.matchAll(/\bobject\s+(\w+)\s*\{/g)].map((m) => ({
      name: m[1]!,
      start: m.index!,
      end: blockEnd(text, m.index! + m[0].length - 1),
    }));
    const owner = (offset: number) =>
      objects
        .filter((o) => o.start < offset && offset < o.end)
        .map((o) => o.name)
        .join('.');
    const qualified = (name: string, offset: number) => [owner(offset), name].filter(Boolean).join('.');
    // Maps: `versions = [...]`, `versions += [...]`, `ext.versions = [...]`, Kotlin `mapOf("a" to "1")`.
    for (const m of text.matchAll(/(?:\bext\.|\bproject\.ext\.)?\b(\w+)\s*\+?=\s*(\[|mapOf\s*\()/g)) {
      const open = m.index! + m[0].length - 1;
      const end = blockEnd(text, open);
      const body = text.slice(open + 1, end);
      for (const e of body.matchAll(
        /(?:^|[\s,[(])(?:(\w+)|"([^"$]+)"|'([^'$]+)')\s*(?::|\bto\b)\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')/g,
      )) {
        const key = e[1] ?? e[2] ?? e[3]!;
        const value = e[4] ?? e[5]!;
        put(`${m[1]}.${key}`, value, f.path, text, open + 1 + e.index! + e[0].lastIndexOf(value));
      }
    }
    // `name = "v"`, `def name = "v"`, `val name = "v"`, `const val NAME = "v"`, `ext.name = "v"`, `set("name", "v")`, `ext["name"] = "v"`, `val name by extra("v")`.
    const patterns: RegExp[] = [
      /(?:^|[\s;{(,])(?:(?:def|val|var|const\s+val|String|private|internal)\s+)*(?:(?:rootProject|project)\.)?(?:ext\.|extra\.)?([A-Za-z_]\w*)(?:\s*:\s*String)?\s*=\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')/gm,
      /\b(?:ext|extra|extensions\.extraProperties)\s*\[\s*["']([^"']+)["']\s*\]\s*=\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')/g,
      /\bset\(\s*["']([^"']+)["']\s*,\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')\s*\)/g,
      /\bva[lr]\s+(\w+)(?:\s*:\s*String)?\s+by\s+extra\s*\(\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')\s*\)/g,
    ];
    for (const re of patterns) {
      for (const m of text.matchAll(re)) {
        const value = m[2] ?? m[3]!;
        const at = m.index! + m[0].lastIndexOf(value);
        put(qualified(m[1]!, m.index!), value, f.path, text, at);
      }
    }
  }
}

/** Offset of the bracket closing the one at `open` (or the end of the text). */
function blockEnd(text: string, open: number): number {
  const pairs: Record<string, string> = { '[': ']', '{': '}', '(': ')' };
  const stack: string[] = [];
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      const close = text.indexOf(c, i + 1);
      if (close < 0) return text.length;
      i = close;
    } else if (pairs[c]) stack.push(pairs[c]!);
    else if (c === stack[stack.length - 1]) {
      stack.pop();
      if (!stack.length) return i;
    }
  }
  return text.length;
}

/** How a reference inside a string or a call names a definition: `versions.netty`, `rootProject.ext.x`, `libs.versions.netty.get()`, `property("x")`. */
function candidatesFor(ref: string): string[] {
  let r = ref
    .trim()
    .replace(/\.get\(\)$/, '')
    .replace(/\s+as\s+String$/, '');
  const call =
    /^(?:(?:rootProject|project)\.)?(?:property|findProperty|properties\.get)\(\s*["']([^"']+)["']\s*\)$/.exec(r) ??
    /^(?:(?:rootProject|project)\.)?(?:ext|extra)\[\s*["']([^"']+)["']\s*\]$/.exec(r);
  if (call) return [call[1]!];
  r = r
    .replace(/^(?:rootProject|project)\./, '')
    .replace(/^(?:ext|extra)\./, '')
    .replace(/^rootProject\.(?:ext|extra)\./, '');
  const parts = r.split('.');
  return parts.map((_, i) => parts.slice(i).join('.'));
}

interface Resolved {
  value: string;
  /** The one definition the whole value came from, when it is a single reference to a literal. */
  origin?: Definition;
  unresolved: boolean;
}

function makeResolver(defs: Map<string, Definition>) {
  const lookup = (ref: string): Definition | undefined => {
    for (const c of candidatesFor(ref)) {
      const d = defs.get(c);
      if (d) return d;
    }
    return undefined;
  };
  const resolve = (raw: string, depth = 0): Resolved => {
    let unresolved = false;
    let origin: Definition | undefined;
    const single = /^\$\{([^}]+)\}$|^\$([A-Za-z_][\w.]*)$/.exec(raw);
    const value = raw.replace(
      /\$\{([^}]+)\}|\$([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*)/g,
      (whole, braced: string | undefined, bare: string | undefined) => {
        if (braced !== undefined) {
          const d = lookup(braced);
          if (!d || depth > 5) return ((unresolved = true), whole);
          const inner = resolve(d.value, depth + 1);
          unresolved ||= inner.unresolved;
          if (single) origin = inner.origin ?? d;
          return inner.value;
        }
        // `$versions.rocksDB` in Groovy; `$version.Final` means the variable and a literal tail: longest prefix that resolves.
        const parts = bare!.split('.');
        for (let n = parts.length; n > 0; n--) {
          const d = defs.get(parts.slice(0, n).join('.'));
          if (!d || depth > 5) continue;
          const inner = resolve(d.value, depth + 1);
          unresolved ||= inner.unresolved;
          if (single && n === parts.length) origin = inner.origin ?? d;
          return inner.value + (n < parts.length ? `.${parts.slice(n).join('.')}` : '');
        }
        unresolved = true;
        return whole;
      },
    );
    return { value, origin: unresolved ? undefined : origin, unresolved };
  };
  return { lookup, resolve };
}

const COORDINATE = /^([\w.-]+):([\w.-]+)(?::([^:@\s]*))?(?::([\w.${}-]+))?(?:@\w+)?$/;

/** Reads a whole Gradle build: every coordinate string, map-notation dependency and platform, with versions resolved. */
export function analyseGradleBuild(files: SourceFile[], catalogVersions: Map<string, Definition>): GradleBuild {
  const findings: Finding[] = [];
  const defs = new Map<string, Definition>(catalogVersions);
  const scripts = files.filter((f) => path.posix.basename(f.path) !== 'gradle.properties');
  // Scripts first (ext, maps), then gradle.properties: a script's own value wins over a -P default.
  collectDefinitions([...scripts.sort((a, b) => a.path.localeCompare(b.path)), ...files.filter((f) => !scripts.includes(f))], defs);
  const { lookup, resolve } = makeResolver(defs);
  const coordinates: GradleCoordinate[] = [];
  const have = new Set(files.map((f) => f.path));

  for (const f of scripts) {
    const text = blankScriptComments(f.text);
    // Scripts applied from elsewhere must be in the checkout to be read.
    for (const m of text.matchAll(/\bapply\s*\(?\s*from\s*[:=]\s*(?:"([^"]+)"|'([^']+)')/g)) {
      const target = m[1] ?? m[2]!;
      const rel = resolve(target)
        .value.replace(/^\$\{?rootDir\}?\/|^\$\{?rootProject\.projectDir\}?\//, '')
        .replace(/^\$\{?projectDir\}?\//, `${dirOf(f.path)}/`.replace(/^\//, ''));
      const local = /^https?:/.test(rel) ? undefined : path.posix.normalize(rel.startsWith('/') ? rel.slice(1) : rel);
      if (local && (have.has(local) || have.has(path.posix.join(dirOf(f.path), local)))) continue;
      findings.push({
        id: 'jvm.not-analysed',
        severity: 'unknown',
        ecosystem: 'jvm',
        title: `${f.path} applies ${target}, which was not read (${local ? 'not in this checkout' : 'a remote script is not fetched'}): the dependencies it declares are unknown`,
        evidence: { file: f.path, line: lineAt(text, m.index!), excerpt: lineText(f.text, lineAt(text, m.index!)) },
        fix: 'Check a checkout that holds the applied script, or declare its dependencies in the build itself.',
      });
    }
    for (const m of text.matchAll(STRING)) {
      const raw = m[1] ?? m[2]!;
      if (!raw.includes(':') || raw.includes(' ')) continue;
      const { value } = resolve(raw);
      const c = COORDINATE.exec(value);
      if (!c || /^https?$/.test(c[1]!) || (!c[1]!.includes('.') && !c[3])) continue;
      const before = text.slice(Math.max(0, m.index! - 40), m.index!);
      const platform = /(?:platform|enforcedPlatform|mavenBom|importBom)\s*\(?\s*$/.test(before);
      // The version part as written: a reference alone (`$versions.x`) points at its definition.
      const rawParts = raw.split(':');
      const rawVersion = rawParts.length >= 3 ? rawParts[2] : undefined;
      const version = c[3] || undefined;
      let literal: GradleCoordinate['literal'];
      if (rawVersion !== undefined && version !== undefined && !rawVersion.includes('$')) {
        literal = { file: f.path, line: lineAt(text, m.index!), text: rawVersion };
      } else if (rawVersion !== undefined) {
        const r = resolve(rawVersion);
        if (r.origin) literal = { file: r.origin.file, line: r.origin.line, text: r.origin.value };
      }
      coordinates.push({
        group: c[1]!,
        artifact: c[2]!,
        version: version && !version.includes('$') ? version : undefined,
        rawVersion,
        classifier: c[4],
        file: f.path,
        line: lineAt(text, m.index!),
        literal,
        platform,
      });
    }
    // Map notation: group: 'g', name: 'a', version: 'v' (Groovy) or group = "g", name = "a", version = "v" (Kotlin).
    for (const m of text.matchAll(
      /group\s*[:=]\s*["']([\w.-]+)["']\s*,\s*name\s*[:=]\s*["']([\w.-]+)["'](?:\s*,\s*version\s*[:=]\s*(?:"([^"]+)"|'([^']+)'|([\w.]+)))?(?:\s*,\s*classifier\s*[:=]\s*["']([\w.-]+)["'])?/g,
    )) {
      const raw = m[3] ?? m[4] ?? (m[5] ? `\${${m[5]}}` : undefined);
      const r = raw === undefined ? undefined : resolve(raw);
      const line = lineAt(text, m.index!);
      coordinates.push({
        group: m[1]!,
        artifact: m[2]!,
        version: r && !r.unresolved ? r.value : undefined,
        rawVersion: raw,
        classifier: m[6],
        file: f.path,
        line,
        literal: r?.origin
          ? { file: r.origin.file, line: r.origin.line, text: r.origin.value }
          : raw && !raw.includes('$')
            ? { file: f.path, line: lineAt(text, m.index! + m[0].indexOf(raw)), text: raw }
            : undefined,
        platform: false,
      });
    }
    // Kotlin `variantOf(libs.x) { classifier("linux-x86_64") }` and `classifier = "..."` on a catalog entry are classifier facts too.
  }
  return { coordinates, lookup, findings };
}

/** The declarations a Gradle build makes, for the knowledge base; a coordinate with a reference that does not resolve stays unreadable. */
export function gradleDeclarations(build: GradleBuild, files: SourceFile[], scopeOf: (file: string) => string): Declaration[] {
  const textOf = new Map(files.map((f) => [f.path, f.text]));
  return build.coordinates
    .filter((c) => !(c.version === undefined && c.rawVersion === undefined))
    .map((c): Declaration => {
      const written = c.version ?? c.rawVersion ?? '';
      return {
        ecosystem: 'jvm',
        name: `${c.group}:${c.artifact}`,
        spec: c.version === undefined ? { kind: 'unreadable', text: written } : parseMavenSpec(c.version),
        written,
        file: c.file,
        line: c.line,
        excerpt: lineText(textOf.get(c.file) ?? '', c.line),
        origin: 'manifest',
        scope: scopeOf(c.file),
        literal: c.literal,
      };
    });
}
