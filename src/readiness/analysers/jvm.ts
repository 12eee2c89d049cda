// JVM dependencies: Maven poms (dependencies, dependencyManagement, properties, local parents),
// Gradle build scripts, version catalogs and lockfiles, classifiers pinned to x86-64, and jars that
// bundle only x86-64 native libraries. Pure: file texts in, findings out.
import path from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { parse as parseToml } from 'smol-toml';
import type { Finding } from '../report.ts';
import type { KnowledgeBase } from '../knowledge/load.ts';
import { parseMavenSpec } from '../versions.ts';
import {
  dirOf,
  escapeRegExp,
  evaluateDeclarations,
  excerpt,
  findLine,
  lineAt,
  lineText,
  readFiles,
  scannedInfo,
  unreadable,
  type Declaration,
  type SourceFile,
} from './deps.ts';

const x86Classifier = /(x86[_-]?64|amd64|x64)(?![a-z0-9])/i;
const armClassifier = /(aarch_?64|arm64)/i;

export function isJvmFile(file: string): boolean {
  const base = path.posix.basename(file);
  return (
    base === 'pom.xml' ||
    base === 'build.gradle' ||
    base === 'build.gradle.kts' ||
    base === 'gradle.lockfile' ||
    base === 'gradle.properties' ||
    base.endsWith('.versions.toml')
  );
}

/** Blanks XML comments but keeps offsets, so line numbers stay right. */
function blankXmlComments(text: string): string {
  return text.replace(/<!--[\s\S]*?-->/g, (c) => c.replace(/[^\n]/g, ' '));
}

interface PomDependency {
  group: string;
  artifact: string;
  version?: string;
  versionOffset?: number;
  classifier?: string;
  offset: number;
  inProfileWithArch: boolean;
}

interface Pom {
  file: string;
  text: string;
  properties: Map<string, { value: string; line: number }>;
  parentPath?: string;
  dependencies: PomDependency[];
}

function childText(block: string, tag: string): { value: string; offset: number } | undefined {
  const m = new RegExp(`<${tag}>\\s*([^<]*?)\\s*</${tag}>`).exec(block);
  return m ? { value: m[1]!, offset: m.index + m[0].indexOf(m[1]!) } : undefined;
}

function parsePom(file: string, raw: string): Pom {
  const text = blankXmlComments(raw);
  const properties = new Map<string, { value: string; line: number }>();
  for (const block of text.matchAll(/<properties>([\s\S]*?)<\/properties>/g)) {
    const base = block.index! + '<properties>'.length;
    for (const p of block[1]!.matchAll(/<([\w.-]+)>\s*([^<]*?)\s*<\/\1>/g)) {
      properties.set(p[1]!, { value: p[2]!, line: lineAt(text, base + p.index!) });
    }
  }
  const project = /<project[\s>]/.exec(text);
  const parentBlock = /<parent>([\s\S]*?)<\/parent>/.exec(text);
  let parentPath: string | undefined;
  if (parentBlock) {
    const rel = /<relativePath\s*\/>/.test(parentBlock[1]!) ? '' : (childText(parentBlock[1]!, 'relativePath')?.value ?? '../pom.xml');
    if (rel) {
      const joined = path.posix.normalize(path.posix.join(dirOf(file) || '.', rel));
      parentPath = joined.endsWith('.xml') ? joined : path.posix.join(joined, 'pom.xml');
    }
  }
  const projectVersion = childText(text.slice(project?.index ?? 0).replace(/<parent>[\s\S]*?<\/parent>/, '').replace(/<dependenc[\s\S]*$/, ''), 'version');
  if (projectVersion) properties.set('project.version', { value: projectVersion.value, line: 0 });
  const profiles = [...text.matchAll(/<profile>[\s\S]*?<\/profile>/g)].map((m) => ({
    start: m.index!,
    end: m.index! + m[0].length,
    arch: /<arch>/.test(m[0]),
  }));
  const dependencies: PomDependency[] = [];
  for (const m of text.matchAll(/<dependency>([\s\S]*?)<\/dependency>/g)) {
    const body = m[1]!;
    const group = childText(body, 'groupId');
    const artifact = childText(body, 'artifactId');
    if (!group || !artifact) continue;
    const version = childText(body, 'version');
    const inner = m.index! + '<dependency>'.length;
    dependencies.push({
      group: group.value,
      artifact: artifact.value,
      version: version?.value,
      versionOffset: version ? inner + version.offset : undefined,
      classifier: childText(body, 'classifier')?.value,
      offset: m.index!,
      inProfileWithArch: profiles.some((p) => p.arch && p.start < m.index! && m.index! < p.end),
    });
  }
  // Code generators configured as coordinates (protobuf-maven-plugin): `g:a:v:exe:${os.detected.classifier}`.
  for (const m of text.matchAll(/<(protocArtifact|pluginArtifact)>\s*([\w.-]+):([\w.-]+):([^:<\s]+)/g)) {
    dependencies.push({
      group: m[2]!,
      artifact: m[3]!,
      version: m[4]!,
      versionOffset: m.index! + m[0].lastIndexOf(m[4]!),
      offset: m.index!,
      inProfileWithArch: false,
    });
  }
  return { file, text, properties, parentPath, dependencies };
}

function resolveProperties(
  value: string,
  lookup: (name: string) => { value: string; line: number; file: string } | undefined,
): { value: string; origin?: { file: string; line: number; text: string } } {
  let origin: { file: string; line: number; text: string } | undefined;
  let current = value;
  for (let depth = 0; depth < 5 && current.includes('${'); depth++) {
    const whole = /^\$\{([^}]+)\}$/.exec(current);
    current = current.replace(/\$\{([^}]+)\}/g, (ref, name: string) => {
      const p = lookup(name);
      if (!p) return ref;
      if (whole && p.line > 0) origin = { file: p.file, line: p.line, text: p.value };
      return p.value;
    });
  }
  return { value: current, origin };
}

function analysePoms(files: SourceFile[], out: Finding[]): Declaration[] {
  const poms = new Map<string, Pom>();
  for (const f of files) {
    const valid = XMLValidator.validate(f.text);
    if (valid !== true) {
      out.push(unreadable(f.path, `malformed XML: ${valid.err.msg}`, valid.err.line));
      continue;
    }
    poms.set(f.path, parsePom(f.path, f.text));
  }
  const decls: Declaration[] = [];
  for (const pom of poms.values()) {
    // Properties: own first, then the local parent chain (a child overrides its parent).
    const chain: Pom[] = [];
    for (let p: Pom | undefined = pom; p && chain.length < 10 && !chain.includes(p); p = p.parentPath ? poms.get(p.parentPath) : undefined) {
      chain.push(p);
    }
    const lookup = (name: string) => {
      for (const p of chain) {
        const v = p.properties.get(name);
        if (v) return { ...v, file: p.file };
      }
      return undefined;
    };
    for (const dep of pom.dependencies) {
      if (dep.version === undefined) continue; // managed elsewhere: judged where the version is written
      const resolved = resolveProperties(dep.version, lookup);
      const line = lineAt(pom.text, dep.versionOffset ?? dep.offset);
      const literal = dep.version.includes('${')
        ? resolved.origin
        : { file: pom.file, line, text: dep.version };
      decls.push({
        ecosystem: 'jvm',
        name: `${dep.group}:${dep.artifact}`,
        spec: parseMavenSpec(resolved.value),
        written: resolved.value,
        file: pom.file,
        line,
        excerpt: lineText(pom.text, line),
        origin: 'manifest',
        scope: pom.file,
        literal,
      });
    }
    out.push(
      ...classifierFindings(
        pom.file,
        pom.dependencies
          .filter((d) => !d.inProfileWithArch)
          .map((d) => ({ name: `${d.group}:${d.artifact}`, classifier: d.classifier, line: lineAt(pom.text, d.offset), text: pom.text })),
      ),
    );
  }
  return decls;
}

function classifierFindings(
  file: string,
  deps: { name: string; classifier?: string; line: number; text: string }[],
): Finding[] {
  const findings: Finding[] = [];
  for (const d of deps) {
    if (!d.classifier || !x86Classifier.test(d.classifier) || d.classifier.includes('${')) continue;
    const hasArm = deps.some((o) => o.name === d.name && o.classifier && armClassifier.test(o.classifier));
    if (hasArm) continue;
    findings.push({
      id: 'jvm.classifier-x86-only',
      severity: 'change',
      ecosystem: 'jvm',
      title: `${d.name} is pulled only with classifier ${d.classifier}: no arm64 native library reaches the classpath`,
      evidence: { file, line: d.line, excerpt: lineText(d.text, d.line) },
      fix: `Add the same dependency with classifier ${d.classifier.replace(x86Classifier, 'aarch_64')} (netty before 4.1.55.Final names it linux-aarch64), or use \${os.detected.classifier}.`,
      source: 'https://github.com/netty/netty/pull/10845',
    });
  }
  return findings;
}

/** Blanks // and /* *\/ comments in Groovy/Kotlin build scripts, keeping offsets. */
function blankScriptComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|(^|[^:"'])\/\/[^\n]*/g, (c) => c.replace(/[^\n]/g, ' '));
}

function gradleVariables(texts: string[]): Map<string, string> {
  const vars = new Map<string, string>();
  for (const text of texts) {
    for (const m of text.matchAll(/(?:^|[\s.(,{])([A-Za-z_][\w]*)\s*(?:=|:)\s*["']([^"'$\n]+)["']/gm)) vars.set(m[1]!, m[2]!);
    for (const m of text.matchAll(/set\(\s*["'](\w+)["']\s*,\s*["']([^"'$]+)["']\s*\)/g)) vars.set(m[1]!, m[2]!);
    for (const m of text.matchAll(/^\s*([\w.]+)\s*=\s*([^\s#]+)\s*$/gm)) vars.set(m[1]!, m[2]!);
  }
  return vars;
}

function analyseGradleScript(f: SourceFile, vars: Map<string, string>, scope: string, out: Finding[]): Declaration[] {
  const text = blankScriptComments(f.text);
  const decls: Declaration[] = [];
  const classified: { name: string; classifier?: string; line: number; text: string }[] = [];
  const add = (group: string, artifact: string, rawVersion: string, classifier: string | undefined, versionOffset: number) => {
    const ref = /^\$\{?([\w.]+?)(?:\.get\(\))?\}?$/.exec(rawVersion);
    const version = ref ? vars.get(ref[1]!.split('.').pop()!) ?? vars.get(ref[1]!) : rawVersion;
    const line = lineAt(text, versionOffset);
    const name = `${group}:${artifact}`;
    classified.push({ name, classifier, line, text: f.text });
    decls.push({
      ecosystem: 'jvm',
      name,
      spec: version === undefined ? { kind: 'unreadable', text: rawVersion } : parseMavenSpec(version),
      written: version ?? rawVersion,
      file: f.path,
      line,
      excerpt: lineText(f.text, line),
      origin: 'manifest',
      scope,
      literal: ref ? undefined : { file: f.path, line, text: rawVersion },
    });
  };
  for (const m of text.matchAll(/(["'])([\w.-]+):([\w.-]+):([^"':@\s]+)(?::([\w.-]+))?(?:@\w+)?\1/g)) {
    add(m[2]!, m[3]!, m[4]!, m[5], m.index! + m[0].indexOf(`:${m[4]!}`) + 1);
  }
  for (const m of text.matchAll(
    /group\s*[:=]\s*["']([\w.-]+)["']\s*,\s*name\s*[:=]\s*["']([\w.-]+)["']\s*,\s*version\s*[:=]\s*["']([^"']+)["'](?:\s*,\s*classifier\s*[:=]\s*["']([\w.-]+)["'])?/g,
  )) {
    add(m[1]!, m[2]!, m[3]!, m[4], m.index! + m[0].lastIndexOf(m[3]!));
  }
  out.push(...classifierFindings(f.path, classified));
  return decls;
}

function analyseCatalog(f: SourceFile, scope: string, out: Finding[]): Declaration[] {
  let toml: Record<string, unknown>;
  try {
    toml = parseToml(f.text) as Record<string, unknown>;
  } catch (err) {
    out.push(unreadable(f.path, `malformed TOML: ${(err as Error).message.split('\n')[0]}`));
    return [];
  }
  const versions = (toml.versions ?? {}) as Record<string, unknown>;
  const libraries = (toml.libraries ?? {}) as Record<string, unknown>;
  const versionsStart = findLine(f.text, /^\s*\[versions\]/) - 1;
  const librariesStart = findLine(f.text, /^\s*\[libraries\]/) - 1;
  const decls: Declaration[] = [];
  for (const [alias, def] of Object.entries(libraries)) {
    let module: string | undefined;
    let version: string | undefined;
    let ref: string | undefined;
    if (typeof def === 'string') {
      const parts = def.split(':');
      module = parts.slice(0, 2).join(':');
      version = parts[2];
    } else if (def && typeof def === 'object') {
      const d = def as Record<string, unknown>;
      module = typeof d.module === 'string' ? d.module : d.group && d.name ? `${d.group}:${d.name}` : undefined;
      const v = d.version;
      if (typeof v === 'string') version = v;
      else if (v && typeof v === 'object') {
        const vo = v as Record<string, unknown>;
        ref = typeof vo.ref === 'string' ? vo.ref : undefined;
        version = typeof vo.strictly === 'string' ? vo.strictly : typeof vo.require === 'string' ? vo.require : undefined;
      }
    }
    if (!module) continue;
    const line = findLine(f.text, new RegExp(`^\\s*["']?${escapeRegExp(alias)}["']?\\s*=`), librariesStart);
    let literal: Declaration['literal'];
    if (ref !== undefined) {
      const rv = versions[ref];
      version = typeof rv === 'string' ? rv : undefined;
      const refLine = findLine(f.text, new RegExp(`^\\s*["']?${escapeRegExp(ref)}["']?\\s*=`), versionsStart);
      if (version) literal = { file: f.path, line: refLine, text: version };
    } else if (version) {
      literal = { file: f.path, line, text: version };
    }
    decls.push({
      ecosystem: 'jvm',
      name: module,
      spec: version ? parseMavenSpec(version) : { kind: 'none' },
      written: version ?? '',
      file: f.path,
      line,
      excerpt: lineText(f.text, line),
      origin: 'manifest',
      scope,
      literal,
    });
  }
  return decls;
}

function analyseGradleLock(f: SourceFile, scope: string): Declaration[] {
  const decls: Declaration[] = [];
  f.text.split('\n').forEach((raw, i) => {
    const m = /^([\w.-]+):([\w.-]+):([^=\s]+)=/.exec(raw.trim());
    if (!m) return;
    decls.push({
      ecosystem: 'jvm',
      name: `${m[1]}:${m[2]}`,
      spec: { kind: 'exact', version: m[3]! },
      written: m[3]!,
      file: f.path,
      line: i + 1,
      excerpt: excerpt(raw),
      origin: 'lock',
      scope,
    });
  });
  return decls;
}

/** Gradle scope: the project directory (a catalog in `gradle/` belongs to the directory above). */
function gradleScope(file: string): string {
  const dir = dirOf(file);
  return path.posix.basename(dir) === 'gradle' ? dirOf(dir) : dir;
}

export function analyseJvm(files: SourceFile[], kb: KnowledgeBase): Finding[] {
  const out: Finding[] = [];
  const byBase = (pred: (base: string) => boolean) => files.filter((f) => pred(path.posix.basename(f.path)));
  const decls: Declaration[] = analysePoms(byBase((b) => b === 'pom.xml'), out);
  const properties = byBase((b) => b === 'gradle.properties');
  for (const f of byBase((b) => b === 'build.gradle' || b === 'build.gradle.kts')) {
    // Variables: this script, gradle.properties here and at the root.
    const scope = gradleScope(f.path);
    const texts = [
      ...properties.filter((p) => dirOf(p.path) === '' || dirOf(p.path) === scope).map((p) => p.text),
      blankScriptComments(f.text),
    ];
    decls.push(...analyseGradleScript(f, gradleVariables(texts), scope, out));
  }
  for (const f of byBase((b) => b.endsWith('.versions.toml'))) decls.push(...analyseCatalog(f, gradleScope(f.path), out));
  for (const f of byBase((b) => b === 'gradle.lockfile')) decls.push(...analyseGradleLock(f, gradleScope(f.path)));
  out.push(...evaluateDeclarations(decls, kb, 'maven'));
  const manifests = readFiles(files.filter((f) => path.posix.basename(f.path) !== 'gradle.properties').map((f) => f.path), out);
  if (manifests.length > 0 && !out.some((f) => f.ecosystem === 'jvm' && f.severity !== 'info')) {
    out.push(scannedInfo('jvm', `JVM build files scanned (${decls.length} dependencies)`, manifests));
  }
  return out;
}

/**
 * A jar's native libraries, from its central-directory entry names: x86-64 `.so` files with no aarch64
 * twin mean the jar cannot load its native code on arm64.
 */
export function analyseJarEntries(file: string, entryNames: string[]): Finding[] {
  const natives = entryNames.filter((n) => /\.so(\.\d+)*$/i.test(n) && !n.endsWith('/'));
  const x86 = natives.filter((n) => /x86[_-]?64|amd64|x64|\bi[3-6]86\b/i.test(n));
  const arm = natives.filter((n) => armClassifier.test(n));
  if (x86.length === 0 || arm.length > 0) return [];
  return [
    {
      id: 'jvm.jar-x86-only',
      severity: 'blocker',
      ecosystem: 'jvm',
      title: `${path.posix.basename(file)} bundles native code for x86-64 only (${x86.slice(0, 3).join(', ')}${x86.length > 3 ? ', ...' : ''})`,
      evidence: { file },
      fix: 'Use a version of this library that ships linux-aarch64 natives, or rebuild the jar with an aarch64 .so beside the x86-64 one.',
      source: 'https://github.com/aws/aws-graviton-getting-started/blob/main/java.md',
    },
  ];
}
