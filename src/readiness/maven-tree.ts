// The dependency tree of a JVM service, resolved from the POMs of its dependencies (through the Maven
// repository adapter) the way Maven does: parents (properties, dependencyManagement, dependencies),
// imported BOMs, the service's own dependencyManagement applied to everything below it, exclusions,
// scopes (test/provided/system and optional dependencies are not passed on), and nearest wins. Bounded in
// depth and POM count. Any POM that could not be had makes the tree unknown, never clean.
import { XMLParser } from 'fast-xml-parser';
import { MavenUnavailable, type PomReader } from '../adapters/maven.ts';
import { compareVersions } from './versions.ts';

export interface Gav {
  group: string;
  artifact: string;
  version: string;
}

export interface PomDependency extends Gav {
  scope: string;
  optional: boolean;
  type: string;
  exclusions: string[];
}

/** A POM with its parents and imported BOMs folded in, and `${...}` resolved. */
export interface EffectivePom {
  id: Gav;
  dependencies: PomDependency[];
  /** groupId:artifactId → version. */
  managed: Map<string, string>;
  /** Properties after inheritance, which a child POM sees. */
  properties: Map<string, string>;
}

export interface TreeNode extends Gav {
  /** From the service's declared dependency down to this node's parent. */
  path: Gav[];
  depth: number;
}

export type TreeResult = { nodes: TreeNode[]; poms: number; truncated?: string } | { unknown: string };

export interface TreeLimits {
  maxPoms: number;
  maxDepth: number;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) => name === 'dependency' || name === 'exclusion',
});

export const gaOf = (g: { group: string; artifact: string }) => `${g.group}:${g.artifact}`;

interface RawPom {
  parent?: Gav;
  id: Partial<Gav>;
  properties: Record<string, string>;
  dependencies: Array<Omit<PomDependency, 'version' | 'scope' | 'type'> & { version?: string; scope?: string; type?: string }>;
  managed: RawPom['dependencies'];
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : undefined;
}

function deps(block: unknown): RawPom['dependencies'] {
  const list = ((block as { dependency?: unknown[] } | undefined)?.dependency ?? []) as Array<Record<string, unknown>>;
  return list
    .map((d) => ({
      group: text(d.groupId) ?? '',
      artifact: text(d.artifactId) ?? '',
      version: text(d.version),
      scope: text(d.scope),
      type: text(d.type),
      optional: text(d.optional) === 'true',
      exclusions: (((d.exclusions as { exclusion?: unknown[] } | undefined)?.exclusion ?? []) as Array<Record<string, unknown>>).map(
        (e) => `${text(e.groupId)}:${text(e.artifactId)}`,
      ),
    }))
    .filter((d) => d.group && d.artifact);
}

export function parseRawPom(xml: string): RawPom {
  const project = ((parser.parse(xml) as { project?: Record<string, unknown> }).project ?? {}) as Record<string, unknown>;
  const parent = project.parent as Record<string, unknown> | undefined;
  const props = (project.properties ?? {}) as Record<string, unknown>;
  return {
    parent: parent
      ? { group: text(parent.groupId) ?? '', artifact: text(parent.artifactId) ?? '', version: text(parent.version) ?? '' }
      : undefined,
    id: {
      group: text(project.groupId) ?? text(parent?.groupId),
      artifact: text(project.artifactId),
      version: text(project.version) ?? text(parent?.version),
    },
    properties: Object.fromEntries(Object.entries(props).map(([k, v]) => [k, text(v) ?? ''])),
    dependencies: deps(project.dependencies),
    managed: deps((project.dependencyManagement as Record<string, unknown> | undefined)?.dependencies),
  };
}

function interpolate(value: string, props: Map<string, string>): string {
  let out = value;
  for (let i = 0; i < 5 && out.includes('${'); i++) out = out.replace(/\$\{([^}]+)\}/g, (whole, name: string) => props.get(name) ?? whole);
  return out;
}

/**
 * Reads POMs through the adapter, each at most once per resolution, and counts them against the limit.
 * Parents and BOMs may be spelled with properties of the child; a loop among parents stops at 10.
 */
export class PomResolver {
  private readonly effective = new Map<string, Promise<EffectivePom | undefined>>();
  read = 0;

  constructor(
    private readonly reader: PomReader,
    private readonly maxPoms: number,
  ) {}

  get exhausted(): boolean {
    return this.read >= this.maxPoms;
  }

  async raw(gav: Gav): Promise<RawPom | undefined> {
    this.read++;
    const xml = await this.reader.readPom(gav.group, gav.artifact, gav.version);
    if (xml === undefined) return undefined;
    try {
      return parseRawPom(xml);
    } catch (err) {
      throw new MavenUnavailable(`${gaOf(gav)}:${gav.version}: the POM is not valid XML (${(err as Error).message})`);
    }
  }

  /** The effective POM; undefined when no repository has it. */
  pom(gav: Gav, depth = 0): Promise<EffectivePom | undefined> {
    const key = `${gaOf(gav)}:${gav.version}`;
    let p = this.effective.get(key);
    if (!p) {
      p = this.build(gav, depth);
      this.effective.set(key, p);
    }
    return p;
  }

  private async build(gav: Gav, depth: number): Promise<EffectivePom | undefined> {
    const raw = await this.raw(gav);
    if (!raw) return undefined;
    const parent = raw.parent && depth < 10 ? await this.pom(raw.parent, depth + 1) : undefined;
    const props = new Map<string, string>([...(parent?.properties ?? []), ...Object.entries(raw.properties)]);
    const version = raw.id.version ?? gav.version;
    for (const [k, v] of [
      ['project.version', version],
      ['pom.version', version],
      ['version', version],
      ['project.groupId', raw.id.group ?? gav.group],
      ['project.artifactId', gav.artifact],
      ['project.parent.version', raw.parent?.version ?? ''],
      ['parent.version', raw.parent?.version ?? ''],
    ] as const)
      props.set(k, v);
    const resolved = (d: RawPom['dependencies'][number]) => ({
      ...d,
      group: interpolate(d.group, props),
      artifact: interpolate(d.artifact, props),
      version: d.version && interpolate(d.version, props),
    });
    const managed = new Map<string, string>();
    for (const d of raw.managed.map(resolved)) {
      if (d.type === 'pom' && d.scope === 'import' && d.version && depth < 10) {
        const bom = await this.pom({ group: d.group, artifact: d.artifact, version: d.version }, depth + 1);
        for (const [k, v] of bom?.managed ?? []) if (!managed.has(k)) managed.set(k, v);
      } else if (d.version && !managed.has(gaOf(d))) managed.set(gaOf(d), d.version);
    }
    for (const [k, v] of parent?.managed ?? []) if (!managed.has(k)) managed.set(k, v);
    const own = raw.dependencies.map(resolved);
    const inherited = (parent?.dependencies ?? []).filter((d) => !own.some((o) => gaOf(o) === gaOf(d)));
    const dependencies = [...inherited, ...own].map((d) => ({
      ...d,
      version: d.version ?? managed.get(gaOf(d)) ?? '',
      scope: d.scope ?? 'compile',
      type: d.type ?? 'jar',
    }));
    return { id: { group: raw.id.group ?? gav.group, artifact: gav.artifact, version }, dependencies, managed, properties: props };
  }
}

/** Scopes a dependency passes on to the project that depends on it. */
const passedOn = new Set(['compile', 'runtime']);

/**
 * The tree below the service's declared dependencies, nearest first. `managed`: the service's own
 * dependencyManagement (in-repo and from its outside parent/BOMs), which overrides every version below.
 */
export async function resolveTree(
  declared: Gav[],
  resolver: PomResolver,
  managed: Map<string, string>,
  limits: TreeLimits,
): Promise<TreeResult> {
  const chosen = new Map<string, TreeNode>();
  for (const d of declared) if (!chosen.has(gaOf(d))) chosen.set(gaOf(d), { ...d, path: [], depth: 0 });
  const queue: Array<{ node: TreeNode; excluded: Set<string> }> = [...chosen.values()].map((node) => ({ node, excluded: new Set() }));
  let truncated: string | undefined;
  try {
    while (queue.length) {
      const { node, excluded } = queue.shift()!;
      if (node.depth >= limits.maxDepth) {
        truncated ??= `the tree was read to depth ${limits.maxDepth} (maven.maxDepth)`;
        continue;
      }
      if (resolver.exhausted) {
        truncated = `the tree was cut after ${limits.maxPoms} POMs (maven.maxPoms)`;
        break;
      }
      const pom = await resolver.pom(node);
      if (!pom) continue; // not in any repository: a private artifact; its own dependencies are not seen
      for (const d of pom.dependencies) {
        const ga = gaOf(d);
        if (!passedOn.has(d.scope) || d.optional || excluded.has(ga) || excluded.has(`${d.group}:*`) || chosen.has(ga)) continue;
        const version = managed.get(ga) ?? d.version;
        if (!version || version.includes('${')) continue;
        const child: TreeNode = {
          group: d.group,
          artifact: d.artifact,
          version,
          path: [...node.path, { group: node.group, artifact: node.artifact, version: node.version }],
          depth: node.depth + 1,
        };
        chosen.set(ga, child);
        queue.push({ node: child, excluded: new Set([...excluded, ...d.exclusions]) });
      }
    }
  } catch (err) {
    if (err instanceof MavenUnavailable) return { unknown: err.message };
    throw err;
  }
  return { nodes: [...chosen.values()].filter((n) => n.depth > 0), poms: resolver.read, truncated };
}

/**
 * The first version of `library` newer than `current` whose own tree brings `culprit` at a version
 * `isFixed` accepts (or no longer brings it), trying at most `probes` releases, same major first.
 */
export async function firstFixingVersion(
  reader: PomReader,
  library: Gav,
  culprit: string,
  isFixed: (version: string) => boolean,
  probes = 8,
): Promise<{ version: string; brings?: string } | undefined> {
  const all = (await reader.versions(library.group, library.artifact)) ?? [];
  const newer = all
    .filter((v) => !/SNAPSHOT|alpha|beta|milestone|-M\d|-RC\d|\.RC\d|\.M\d/i.test(v) && compareVersions('maven', v, library.version) > 0)
    .sort((a, b) => compareVersions('maven', a, b));
  const major = (v: string) => v.split(/[.-]/)[0];
  const ordered = [
    ...newer.filter((v) => major(v) === major(library.version)),
    ...newer.filter((v) => major(v) !== major(library.version)),
  ];
  for (const version of ordered.slice(0, probes)) {
    const resolver = new PomResolver(reader, 60);
    const tree = await resolveTree([{ ...library, version }], resolver, new Map(), { maxPoms: 60, maxDepth: 4 });
    if ('unknown' in tree) return undefined;
    const node = tree.nodes.find((n) => gaOf(n) === culprit);
    if (!node || isFixed(node.version)) return { version, brings: node?.version };
  }
  return undefined;
}
