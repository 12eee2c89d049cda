// What a change introduces for arm64: the findings of the head that the base does not have, keyed by
// what they are about (finding id + file + package or image), never by line, so moving a line or
// bumping a version that was already a problem blames nothing on the change. Pure.
import { parseImageRef } from '../images/ref.ts';
import type { Finding, Report } from '../readiness/report.ts';

export interface Comparison {
  /** In head, not in base: what the change brings. */
  introduced: Finding[];
  /** In base, not in head: what the change removes. */
  fixed: Finding[];
  /** In both (the head's copy, with its current line). */
  unchanged: Finding[];
}

/** Severities that break arm64 when a change introduces them (a fix is needed before it runs there). */
export const BREAKING = new Set<Finding['severity']>(['blocker', 'change']);

const PACKAGE_ECOSYSTEMS = new Set(['jvm', 'python', 'node', 'go', 'system']);

/** The thing a finding is about: an image repository (tag left out), a package name, or nothing beyond its file. */
export function subjectOf(f: Finding): string {
  if (f.evidence.image) {
    try {
      const ref = parseImageRef(f.evidence.image);
      return `image:${ref.registry}/${ref.repository}`;
    } catch {
      return `image:${f.evidence.image}`;
    }
  }
  const pkg = f.autofix?.params.package;
  if (pkg) return `package:${pkg.toLowerCase()}`;
  // Dependency findings are titled "<package> <version> ...".
  if (PACKAGE_ECOSYSTEMS.has(f.ecosystem)) {
    const name = /^([@\w][\w@./:+-]*)\s/.exec(f.title)?.[1];
    if (name) return `package:${name.toLowerCase()}`;
  }
  return '';
}

export function findingKey(f: Finding): string {
  return `${f.id}\u0000${f.evidence.file ?? ''}\u0000${subjectOf(f)}`;
}

/** Info findings are supporting evidence ("publishes arm64"), not something a change adds or removes. */
const relevant = (f: Finding) => f.severity !== 'info';

/**
 * Findings sharing a key are matched as a multiset: the same title first (one image named twice), then any;
 * what is left over in head is introduced (a second FROM of an amd64-only image), left over in base fixed.
 */
export function compareReports(base: Pick<Report, 'findings'>, head: Pick<Report, 'findings'>): Comparison {
  const group = (list: Finding[]) => {
    const out = new Map<string, Finding[]>();
    for (const f of list.filter(relevant)) out.set(findingKey(f), [...(out.get(findingKey(f)) ?? []), f]);
    return out;
  };
  const [before, after] = [group(base.findings), group(head.findings)];
  const result: Comparison = { introduced: [], fixed: [], unchanged: [] };
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const b = [...(before.get(key) ?? [])];
    const h = [...(after.get(key) ?? [])];
    const matched: Finding[] = [];
    for (const f of [...h]) {
      const i = b.findIndex((x) => x.title === f.title);
      if (i < 0) continue;
      b.splice(i, 1);
      h.splice(h.indexOf(f), 1);
      matched.push(f);
    }
    while (b.length && h.length) {
      b.shift();
      matched.push(h.shift()!);
    }
    result.unchanged.push(...matched);
    result.introduced.push(...h);
    result.fixed.push(...b);
  }
  return result;
}
