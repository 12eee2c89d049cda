// Names the transitive culprit: resolves a JVM service's dependency tree from the POMs of its
// dependencies (maven-tree.ts, through the Maven repository adapter), matches every dependency below the
// declared ones against the knowledge base, and for each hit names the path ("netty-transport-native-epoll
// 4.1.17.Final arrives through lettuce-core 5.0.0.RELEASE") and the first release of the declared library
// that brings a fixed version, with a PR-able bump where the declared version is a literal.
import type { PomReader } from '../adapters/maven.ts';
import type { Finding } from './report.ts';
import type { KnowledgeBase } from './knowledge/load.ts';
import { knowledgeHit, type SourceFile } from './analysers/native-deps.ts';
import { bomProperty, judgeEpollConsumers, jvmTreeRoots, type JvmSources } from './analysers/jvm.ts';
import { firstFixingVersion, gaOf, PomResolver, resolveTree, type Gav, type TreeLimits } from './maven-tree.ts';

export interface TransitiveOptions {
  reader: PomReader;
  limits: TreeLimits;
}

function gavOf(text: string): Gav | undefined {
  const [group, artifact, version] = text.split(':');
  return group && artifact && version ? { group, artifact, version } : undefined;
}

export async function transitiveJvmFindings(
  files: SourceFile[],
  kb: KnowledgeBase,
  opts: TransitiveOptions,
  sources?: JvmSources,
): Promise<Finding[]> {
  const { declared, managers, unversioned } = jvmTreeRoots(files);
  if (!declared.length && !unversioned.length) return [];
  const resolver = new PomResolver(opts.reader, opts.limits.maxPoms);
  const unknown = (why: string): Finding[] => [
    {
      id: 'jvm.tree-unknown',
      severity: 'unknown',
      ecosystem: 'jvm',
      title: `The dependency tree could not be resolved from the Maven repositories, so transitive native dependencies are unknown: ${why}`,
      evidence: { file: (declared[0] ?? unversioned[0])!.file },
      fix: 'Check maven.repositories (URL, username/passwordEnv) and that archshift can reach it, then check again.',
    },
  ];
  // The service's own management wins below it: its declared versions, then what its outside parent/BOMs manage.
  const managed = new Map<string, string>(declared.map((d) => [d.name, (d.spec as { version: string }).version]));
  const managedBy = new Map<string, string>();
  try {
    for (const m of managers) {
      const gav = gavOf(m);
      const pom = gav && (await resolver.pom(gav));
      for (const [ga, v] of pom?.managed ?? []) {
        if (managed.has(ga)) continue;
        managed.set(ga, v);
        managedBy.set(ga, m);
      }
    }
  } catch (err) {
    return unknown((err as Error).message);
  }
  const findings: Finding[] = [];
  // Declared without a version: the outside BOM's version is the one used, and the BOM's property is what to move.
  for (const d of unversioned) {
    const version = managed.get(d.name);
    const hit = version && knowledgeHit(kb, 'jvm', d.name, 'maven', { kind: 'exact', version });
    if (!version || !hit) continue;
    const manager = managedBy.get(d.name) ?? 'an outside BOM';
    const target = hit.target ?? 'a fixed version';
    findings.push({
      id: hit.entry.id,
      severity: hit.severity,
      ecosystem: 'jvm',
      title: `${d.name} ${version} (the version ${manager} manages): ${hit.range.breaks}`,
      evidence: { file: d.file, line: d.line, excerpt: d.excerpt },
      fix: `Set the property the BOM reads, ${bomProperty(d.name.split(':')[0]!)}, to ${target} in ${d.file}, or move ${manager} to a release that manages ${d.name} ${target} or later.`,
      source: hit.range.source ?? hit.entry.source,
    });
  }
  const roots: Gav[] = declared.map((d) => {
    const [group, artifact] = d.name.split(':') as [string, string];
    return { group, artifact, version: (d.spec as { version: string }).version };
  });
  const tree = await resolveTree(roots, resolver, managed, opts.limits);
  if ('unknown' in tree) return unknown(tree.unknown);

  for (const node of tree.nodes) {
    const ga = gaOf(node);
    const hit = knowledgeHit(kb, 'jvm', ga, 'maven', { kind: 'exact', version: node.version });
    if (!hit) continue;
    const top = node.path[0]!;
    const decl = declared.find((d) => d.name === gaOf(top))!;
    const fixed = (v: string) => !knowledgeHit(kb, 'jvm', ga, 'maven', { kind: 'exact', version: v });
    let fixing: Awaited<ReturnType<typeof firstFixingVersion>>;
    try {
      fixing = await firstFixingVersion(opts.reader, top, ga, fixed);
    } catch {
      fixing = undefined; // the search for a fixing release is advice; the culprit itself stands
    }
    const via =
      node.path.length > 1
        ? ` (via ${node.path
            .slice(1)
            .map((p) => `${gaOf(p)} ${p.version}`)
            .join(' → ')})`
        : '';
    const finding: Finding = {
      id: hit.entry.id,
      severity: hit.severity,
      ecosystem: 'jvm',
      title: `${ga} ${node.version} arrives through ${gaOf(top)} ${top.version}${via}: ${hit.range.breaks}`,
      evidence: { file: decl.file, line: decl.line, excerpt: decl.excerpt },
      fix: fixing
        ? `Bump ${gaOf(top)} to ${fixing.version} or later: it brings ${fixing.brings ? `${ga} ${fixing.brings}` : `no ${ga} any more`}.`
        : `No newer release of ${gaOf(top)} checked brings a fixed ${ga}: pin ${ga}${hit.target ? ` to ${hit.target}` : ''} in dependencyManagement (Gradle: a constraint), or replace ${gaOf(top)}.`,
      source: hit.range.source ?? hit.entry.source,
    };
    if (fixing) finding.severity = hit.severity === 'warning' ? 'warning' : 'change';
    if (fixing && decl.literal && finding.severity !== 'warning') {
      finding.autofix = {
        kind: 'deps',
        params: {
          file: decl.literal.file,
          package: gaOf(top),
          from: decl.literal.text,
          to: fixing.version,
          line: String(decl.literal.line),
        },
      };
    }
    findings.push(finding);
  }
  judgeEpollConsumers(findings, sources);
  if (tree.truncated) {
    findings.push({
      id: 'jvm.tree-partial',
      severity: 'warning',
      ecosystem: 'jvm',
      title: `The dependency tree is partial: ${tree.truncated}; dependencies below that were not checked`,
      evidence: { file: (declared[0] ?? unversioned[0])!.file },
    });
  } else if (!findings.length) {
    findings.push({
      id: 'jvm.tree-resolved',
      severity: 'info',
      ecosystem: 'jvm',
      title: `Dependency tree resolved from ${tree.poms} POMs (${tree.nodes.length} transitive dependencies): none known to break on arm64`,
      evidence: { file: (declared[0] ?? unversioned[0])!.file },
    });
  }
  return findings;
}
