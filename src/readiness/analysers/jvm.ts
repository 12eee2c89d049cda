// JVM dependencies: Maven poms (dependencies, dependencyManagement, properties and profiles, in-repo
// parents and imported BOMs, versions set by an outside BOM through the property it reads), Gradle
// builds (gradle.ts), version catalogs and lockfiles, classifiers pinned to x86-64, and jars that bundle
// only x86-64 native libraries. Build files archshift cannot read (sbt, Ivy, Leiningen, a script applied
// from a URL) are named as not analysed, never passed over. Pure: file texts in, findings out.
import path from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { parse as parseToml } from 'smol-toml';
import type { Finding } from '../report.ts';
import type { KnowledgeBase } from '../knowledge/load.ts';
import { compareVersions, parseMavenSpec } from '../versions.ts';
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
} from './native-deps.ts';
import { analyseGradleBuild, blankScriptComments, gradleDeclarations, isGradleScript, type GradleBuild } from './gradle.ts';

const x86Classifier = /(x86[_-]?64|amd64|x64)(?![a-z0-9])/i;
const armClassifier = /(aarch_?64|arm64)/i;

export function isJvmFile(file: string): boolean {
  const base = path.posix.basename(file);
  return (
    base === 'pom.xml' ||
    isGradleScript(file) ||
    base === 'gradle.lockfile' ||
    base === 'gradle.properties' ||
    base.endsWith('.versions.toml')
  );
}

/** JVM sources of the service (tests and build logic excluded): read only for how they use native transports. */
export function isJvmSource(file: string): boolean {
  const parts = file.split('/');
  return (
    /\.(java|kt|scala|groovy)$/.test(file) &&
    !parts.includes('buildSrc') &&
    !parts.some((p, i) => p === 'test' || p === 'tests' || (p === 'it' && parts[i - 1] === 'src'))
  );
}

/** What one source file does with netty's epoll transport. */
export interface JvmSourceFacts {
  file: string;
  /** First place that builds an epoll event loop or channel (`new EpollEventLoopGroup()`, `EpollServerSocketChannel.class`). */
  usesEpoll?: { line: number; excerpt: string };
  /** The file asks `Epoll.isAvailable()`, i.e. it chooses NIO where epoll cannot load. */
  checksAvailability: boolean;
}

/** The service's JVM sources in small facts: how many were read, and those that build epoll channels (in path order). */
export interface JvmSources {
  count: number;
  epoll: JvmSourceFacts[];
}

const epollUse =
  /\bnew\s+Epoll\w*\s*\(|\bEpoll(?:EventLoopGroup|IoHandler\.newFactory)\s*\(|\bEpoll\w*Channel\s*(?:\.class|::class)|\bEpoll\.ensureAvailability\s*\(/;

export function extractJvmSource(file: string, text: string): JvmSourceFacts {
  const code = blankScriptComments(text);
  const m = epollUse.exec(code);
  const line = m ? lineAt(code, m.index) : 0;
  return {
    file,
    usesEpoll: m ? { line, excerpt: lineText(text, line) } : undefined,
    checksAvailability: /\bEpoll\.isAvailable\s*\(/.test(code) && !/\bEpoll\.ensureAvailability\s*\(/.test(code),
  };
}

/**
 * netty's epoll transport without an aarch64 library: what happens depends on who uses it. Code that
 * builds epoll channels without asking `Epoll.isAvailable()` fails to start (UnsatisfiedLinkError);
 * everything else (netty's own users: reactor-netty, lettuce, Vert.x, gRPC) falls back to NIO, which
 * only degrades. `sources` undefined: the service's code was not read, so the severity stays.
 */
export function judgeEpollConsumers(findings: Finding[], sources: JvmSources | undefined): void {
  const required = sources?.epoll.find((s) => s.usesEpoll && !s.checksAvailability);
  for (const f of findings) {
    const epoll =
      f.id === 'jvm.netty-epoll' || (f.id === 'jvm.classifier-x86-only' && f.title.startsWith('io.netty:netty-transport-native-epoll '));
    if (!epoll || f.severity !== 'change') continue;
    if (!sources || sources.count === 0) {
      f.fix = `${f.fix ?? ''} Kept at this severity: no source of the service was read to tell whether it falls back to NIO.`.trim();
    } else if (required) {
      f.title += ` (fails here: ${required.file}:${required.usesEpoll!.line} builds epoll channels without checking Epoll.isAvailable(), so the service does not start on arm64)`;
    } else {
      f.severity = 'warning';
      const guarded = sources.epoll.find((s) => s.usesEpoll);
      f.title += guarded
        ? ` (lowered to a warning: ${guarded.file}:${guarded.usesEpoll!.line} checks Epoll.isAvailable() and falls back to NIO, which is slower but works)`
        : ` (lowered to a warning: none of the ${sources.count} source files builds epoll channels itself; netty's users fall back to NIO, which is slower but works)`;
    }
  }
}

/**
 * Properties an outside BOM reads for a group's version (Spring Boot's `netty.version`, `grpc.version`
 * of the gRPC BOMs), by the convention `<last part of the groupId>.version`.
 */
export function bomProperty(group: string): string {
  return `${group.split('.').pop()}.version`;
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
  /** Inside <dependencyManagement>: sets a version for others, adds nothing by itself. */
  managed: boolean;
  /** `<type>pom</type><scope>import</scope>` in dependencyManagement: a BOM. */
  importsBom: boolean;
}

interface Pom {
  file: string;
  text: string;
  properties: Map<string, { value: string; line: number }>;
  parentPath?: string;
  /** `groupId:artifactId:version` of the declared parent. */
  parent?: string;
  /** `groupId:artifactId` of this pom (groupId inherited from the parent when absent). */
  id?: string;
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
  const own = text
    .slice(project?.index ?? 0)
    .replace(/<parent>[\s\S]*?<\/parent>/, '')
    .replace(/<(dependencies|dependencyManagement|build|profiles|properties|modules)>[\s\S]*$/, '');
  const parentGav = parentBlock ? ['groupId', 'artifactId', 'version'].map((t) => childText(parentBlock[1]!, t)?.value ?? '') : undefined;
  const ownGroup = childText(own, 'groupId')?.value ?? parentGav?.[0];
  const ownArtifact = childText(own, 'artifactId')?.value;
  const projectVersion = childText(
    text
      .slice(project?.index ?? 0)
      .replace(/<parent>[\s\S]*?<\/parent>/, '')
      .replace(/<dependenc[\s\S]*$/, ''),
    'version',
  );
  if (projectVersion) properties.set('project.version', { value: projectVersion.value, line: 0 });
  const management = [...text.matchAll(/<dependencyManagement>[\s\S]*?<\/dependencyManagement>/g)].map(
    (m) => [m.index!, m.index! + m[0].length] as const,
  );
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
      managed: management.some(([start, end]) => start < m.index! && m.index! < end),
      importsBom: childText(body, 'type')?.value === 'pom' && childText(body, 'scope')?.value === 'import',
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
      managed: false,
      importsBom: false,
    });
  }
  return {
    file,
    text,
    properties,
    parentPath,
    parent: parentGav?.join(':'),
    id: ownGroup && ownArtifact ? `${ownGroup}:${ownArtifact}` : undefined,
    dependencies,
  };
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

function parentOf(pom: Pom, poms: Map<string, Pom>): Pom | undefined {
  if (!pom.parent) return undefined;
  const ga = pom.parent.split(':').slice(0, 2).join(':');
  const atPath = pom.parentPath ? poms.get(pom.parentPath) : undefined;
  if (atPath && (atPath.id === undefined || atPath.id === ga)) return atPath;
  return [...poms.values()].find((p) => p !== pom && p.id === ga);
}

function analysePoms(files: SourceFile[], out: Finding[], managers: string[]): Declaration[] {
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
    // Properties: own first, then the in-repo parent chain (a child overrides its parent). A parent is
    // found at its relativePath, else by its coordinates anywhere in the checkout; the first one not in
    // the checkout is the outside parent (e.g. spring-boot-starter-parent).
    const chain: Pom[] = [];
    let outside: string | undefined;
    for (let p: Pom | undefined = pom; p && chain.length < 10 && !chain.includes(p); p = parentOf(p, poms)) {
      chain.push(p);
      if (p.parent && !parentOf(p, poms)) outside = p.parent;
    }
    // BOMs imported by the chain: in-repo ones manage like a parent does; outside ones set versions unseen here.
    const imports = chain.flatMap((p) => p.dependencies.filter((d) => d.importsBom));
    const inRepoBoms = imports
      .map((d) => [...poms.values()].find((b) => b.id === `${d.group}:${d.artifact}`))
      .filter((b): b is Pom => b !== undefined);
    const outsideBoms = imports
      .filter((d) => ![...poms.values()].some((b) => b.id === `${d.group}:${d.artifact}`))
      .map((d) => `${d.group}:${d.artifact}`);
    for (const gav of [
      outside,
      ...imports
        .filter((d) => outsideBoms.includes(`${d.group}:${d.artifact}`))
        .map((d) => `${d.group}:${d.artifact}:${resolveProperties(d.version ?? '', lookup).value}`),
    ]) {
      if (gav && !gav.includes('${') && !managers.includes(gav)) managers.push(gav);
    }
    const lookup = (name: string) => {
      for (const p of chain) {
        const v = p.properties.get(name);
        if (v) return { ...v, file: p.file };
      }
      return undefined;
    };
    for (const dep of pom.dependencies) {
      if (dep.importsBom) continue;
      if (dep.version === undefined) {
        // Managed in the checkout: judged where the version is written.
        const name = `${dep.group}:${dep.artifact}`;
        if (
          [...chain, ...inRepoBoms].some((p) =>
            p.dependencies.some((d) => d.managed && d.version !== undefined && `${d.group}:${d.artifact}` === name),
          )
        )
          continue;
        const managers = [...(outside ? [outside] : []), ...outsideBoms];
        const line = lineAt(pom.text, dep.offset);
        // An outside BOM of the same group (io.netty:netty-bom) sets the version it is imported at; else the property an outside BOM reads.
        const bom = imports.find((d) => d.group === dep.group && d.version !== undefined);
        let property = lookup(bomProperty(dep.group));
        if (bom) {
          const owner = chain.find((p) => p.dependencies.includes(bom))!;
          const r = resolveProperties(bom.version!, lookup);
          if (!r.value.includes('${'))
            property = { value: r.value, ...(r.origin ?? { file: owner.file, line: lineAt(owner.text, bom.versionOffset!) }) };
        }
        decls.push({
          ecosystem: 'jvm',
          name,
          ...(property
            ? {
                spec: parseMavenSpec(property.value),
                written: property.value,
                literal: { file: property.file, line: property.line, text: property.value },
              }
            : {
                spec: { kind: 'unreadable', text: '' },
                written: managers.length ? `(managed by ${managers.join(', ')})` : '(no version)',
              }),
          file: pom.file,
          line,
          excerpt: lineText(pom.text, line),
          origin: 'manifest',
          scope: pom.file,
        });
        continue;
      }
      const resolved = resolveProperties(dep.version, lookup);
      const line = lineAt(pom.text, dep.versionOffset ?? dep.offset);
      const literal = dep.version.includes('${') ? resolved.origin : { file: pom.file, line, text: dep.version };
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
        pom.dependencies
          .filter((d) => !d.inProfileWithArch)
          .map((d) => ({
            name: `${d.group}:${d.artifact}`,
            classifier: d.classifier,
            version: d.version === undefined ? undefined : resolveProperties(d.version, lookup).value,
            line: lineAt(pom.text, d.offset),
            text: pom.text,
            file: pom.file,
            twinnable: true,
          })),
      ),
    );
  }
  return decls;
}

interface Classified {
  name: string;
  classifier?: string;
  /** The resolved version, when known (decides the twin's spelling). */
  version?: string;
  line: number;
  text: string;
  file: string;
  /** The declaration can be copied as it stands (a `<dependency>` block, or a one-line Gradle dependency call). */
  twinnable: boolean;
}

/**
 * Artifacts whose arm64 classifier archshift can add, with the first release that published one
 * (`linux-aarch64`) and the release that renamed it `linux-aarch_64`: netty's epoll transport from
 * 4.1.50.Final (PR #9804), renamed in 4.1.55.Final (PR #10845, "Use aarch_64 in a consistent way");
 * netty-tcnative-boringssl-static from 2.0.31.Final, renamed in 2.0.35.Final (shared notes native-deps.md §A1, §B).
 */
const armClassifiers: Record<string, { first: string; renamed: string }> = {
  'io.netty:netty-transport-native-epoll': { first: '4.1.50.Final', renamed: '4.1.55.Final' },
  'io.netty:netty-tcnative-boringssl-static': { first: '2.0.31.Final', renamed: '2.0.35.Final' },
};

/** The twin's classifier; below the first arm64 release the version must move anyway, past the rename. */
export function armTwin(name: string, classifier: string, version: string | undefined): string | undefined {
  const known = armClassifiers[name];
  if (!known) return undefined;
  const old =
    version !== undefined && compareVersions('maven', version, known.first) >= 0 && compareVersions('maven', version, known.renamed) < 0;
  return classifier.replace(x86Classifier, old ? 'aarch64' : 'aarch_64');
}

function classifierFindings(deps: Classified[]): Finding[] {
  const findings: Finding[] = [];
  for (const d of deps) {
    if (!d.classifier || !x86Classifier.test(d.classifier) || d.classifier.includes('${')) continue;
    const hasArm = deps.some((o) => o.name === d.name && o.classifier && armClassifier.test(o.classifier));
    if (hasArm) continue;
    const twin = armTwin(d.name, d.classifier, d.version);
    const finding: Finding = {
      id: 'jvm.classifier-x86-only',
      severity: 'change',
      ecosystem: 'jvm',
      title: `${d.name} is pulled only with classifier ${d.classifier}: no arm64 native library reaches the classpath`,
      evidence: { file: d.file, line: d.line, excerpt: lineText(d.text, d.line) },
      fix: twin
        ? `Add the same dependency with classifier ${twin}${twin.endsWith('aarch64') ? ` (the spelling of ${d.version}; from ${armClassifiers[d.name]!.renamed} it is ${d.classifier.replace(x86Classifier, 'aarch_64')})` : ''}.`
        : `Add the same dependency with its aarch64 classifier (often ${d.classifier.replace(x86Classifier, 'aarch_64')}), or use \${os.detected.classifier}.`,
      source: 'https://github.com/netty/netty/pull/10845',
    };
    if (twin && d.twinnable) {
      finding.autofix = { kind: 'deps', params: { file: d.file, package: d.name, classifier: d.classifier, twin, line: String(d.line) } };
    } else if (twin) {
      finding.fix += ` archshift cannot add it here (${d.file}:${d.line} is not a one-line dependency declaration): add it where the dependency is used.`;
    }
    findings.push(finding);
  }
  return findings;
}

/** A Gradle line that is one dependency call (`runtimeOnly("g:a:v:c")`, `implementation 'g:a:v:c'`), so a copy of it is a second dependency. */
function isDependencyCallLine(text: string, line: number): boolean {
  const t = lineText(text, line);
  return (
    /^["']?[A-Za-z]\w*["']?\s*\(?\s*(?:group\s*[:=]\s*)?["'][^"']+["'](?:\s*,[^()\n]*)?\s*\)?\s*$/.test(t) &&
    !/\b(?:val|var|def|const)\b|=/.test(t.replace(/(group|name|version|classifier)\s*=/g, ''))
  );
}

/** Reads a version catalog; its [versions] become `<catalog>.versions.<alias>` for the build scripts' accessors. */
function analyseCatalog(
  f: SourceFile,
  scope: string,
  out: Finding[],
  defs: Map<string, { value: string; file: string; line: number }>,
): Declaration[] {
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
  const accessor = path.posix.basename(f.path).replace(/\.versions\.toml$/, '');
  for (const [alias, v] of Object.entries(versions)) {
    const value =
      typeof v === 'string'
        ? v
        : v && typeof v === 'object'
          ? ((v as Record<string, unknown>).strictly ?? (v as Record<string, unknown>).require)
          : undefined;
    if (typeof value !== 'string') continue;
    const line = findLine(f.text, new RegExp(`^\\s*["']?${escapeRegExp(alias)}["']?\\s*=`), versionsStart);
    defs.set(`${accessor}.versions.${alias.replace(/[-_]/g, '.')}`, { value, file: f.path, line });
  }
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
  if (file.split('/').includes('buildSrc')) return '';
  const dir = dirOf(file);
  return path.posix.basename(dir) === 'gradle' ? dirOf(dir) : dir;
}

/** `sources`: the service's JVM sources, when all of them were read (undefined otherwise). */
/** What the build files declare: dependencies, findings about the files themselves, and the outside parents/BOMs that manage versions (`g:a:v`). */
interface JvmBuild {
  decls: Declaration[];
  findings: Finding[];
  managers: string[];
}

function readJvmBuild(files: SourceFile[]): JvmBuild {
  const out: Finding[] = [];
  const managers: string[] = [];
  const byBase = (pred: (base: string) => boolean) => files.filter((f) => pred(path.posix.basename(f.path)));
  const decls: Declaration[] = analysePoms(
    byBase((b) => b === 'pom.xml'),
    out,
    managers,
  );
  const catalogVersions = new Map<string, { value: string; file: string; line: number }>();
  for (const f of byBase((b) => b.endsWith('.versions.toml'))) decls.push(...analyseCatalog(f, gradleScope(f.path), out, catalogVersions));
  const gradleFiles = files.filter((f) => isGradleScript(f.path) || path.posix.basename(f.path) === 'gradle.properties');
  if (gradleFiles.some((f) => isGradleScript(f.path))) {
    const build = analyseGradleBuild(gradleFiles, catalogVersions);
    out.push(...build.findings);
    decls.push(...gradleDeclarations(build, gradleFiles, gradleScope), ...managedGradleDeclarations(build, gradleFiles));
    for (const p of build.coordinates.filter((c) => c.platform && c.version)) managers.push(`${p.group}:${p.artifact}:${p.version}`);
    for (const f of gradleFiles) {
      const boot = /\bid\s*\(?\s*["']org\.springframework\.boot["']\s*\)?\s*version\s*["']([^"'$]+)["']/.exec(f.text);
      if (boot) managers.push(`org.springframework.boot:spring-boot-dependencies:${boot[1]}`);
    }
    const textOf = new Map(files.map((f) => [f.path, f.text]));
    out.push(
      ...classifierFindings(
        build.coordinates.map((c) => {
          const text = textOf.get(c.file) ?? '';
          return {
            name: `${c.group}:${c.artifact}`,
            classifier: c.classifier,
            version: c.version,
            line: c.line,
            text,
            file: c.file,
            twinnable: isDependencyCallLine(text, c.line),
          };
        }),
      ),
    );
  }
  for (const f of byBase((b) => b === 'gradle.lockfile')) decls.push(...analyseGradleLock(f, gradleScope(f.path)));
  return { decls, findings: out, managers: [...new Set(managers)] };
}

/** `sources`: the service's JVM sources, when all of them were read (undefined otherwise). */
export function analyseJvm(files: SourceFile[], kb: KnowledgeBase, sources?: JvmSources): Finding[] {
  const { decls, findings: out } = readJvmBuild(files);
  out.push(...evaluateDeclarations(decls, kb, 'maven'));
  judgeEpollConsumers(out, sources);
  // Scanned means analysed: a file reported unreadable is not claimed.
  const manifests = readFiles(
    files.filter((f) => path.posix.basename(f.path) !== 'gradle.properties').map((f) => f.path),
    out,
  );
  if (manifests.length > 0 && !out.some((f) => f.ecosystem === 'jvm' && f.severity !== 'info')) {
    out.push(scannedInfo('jvm', `JVM build files analysed (${decls.length} dependencies)`, manifests));
  }
  return out;
}

/** The roots of the dependency tree: declared dependencies with an exact version, and the outside parents/BOMs that manage versions below them. */
export function jvmTreeRoots(files: SourceFile[]): { declared: Declaration[]; managers: string[]; unversioned: Declaration[] } {
  const { decls, managers } = readJvmBuild(files);
  return {
    declared: decls.filter((d) => d.origin === 'manifest' && d.spec.kind === 'exact'),
    managers,
    // Versionless dependencies an outside parent/BOM sets: the tree's management says which version.
    unversioned: decls.filter((d) => d.origin === 'manifest' && d.spec.kind === 'unreadable' && d.written.startsWith('(managed by')),
  };
}

/**
 * Versionless Gradle dependencies: the version comes from a platform in the build of the same group
 * (netty-bom), from the property an outside BOM reads (`ext['netty.version']` for Spring Boot's), or
 * from an outside BOM archshift does not read here (then the version is unknown, never assumed fine).
 */
function managedGradleDeclarations(build: GradleBuild, files: SourceFile[]): Declaration[] {
  const textOf = new Map(files.map((f) => [f.path, f.text]));
  const platforms = build.coordinates.filter((c) => c.platform);
  const outside = [
    ...platforms.map((p) => `${p.group}:${p.artifact}`),
    ...(files.some((f) => /\borg\.springframework\.boot\b/.test(f.text) && isGradleScript(f.path)) ? ['the Spring Boot plugin'] : []),
  ];
  return build.coordinates
    .filter((c) => !c.platform && !c.version && !c.rawVersion)
    .map((c): Declaration => {
      const name = `${c.group}:${c.artifact}`;
      const excerpt = lineText(textOf.get(c.file) ?? '', c.line);
      const base = {
        ecosystem: 'jvm' as const,
        name,
        file: c.file,
        line: c.line,
        excerpt,
        origin: 'manifest' as const,
        scope: gradleScope(c.file),
      };
      const bom = platforms.find((p) => p.group === c.group && p.version);
      if (bom) return { ...base, spec: parseMavenSpec(bom.version!), written: bom.version!, literal: bom.literal };
      const property = build.lookup(bomProperty(c.group));
      if (property)
        return {
          ...base,
          spec: parseMavenSpec(property.value),
          written: property.value,
          literal: { file: property.file, line: property.line, text: property.value },
        };
      return {
        ...base,
        spec: { kind: 'unreadable', text: '' },
        written: outside.length ? `(managed by ${outside.join(', ')})` : '(no version)',
      };
    });
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
