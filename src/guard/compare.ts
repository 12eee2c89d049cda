// What a change introduces for arm64: the findings of the head that the base does not have, keyed by
// what they are about (finding id + file + package or image), never by line, so moving a line or
// bumping a version that was already a problem blames nothing on the change. Pure.
import { parseImageRef } from '../readiness/image-ref.ts';
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

export function compareReports(base: Pick<Report, 'findings'>, head: Pick<Report, 'findings'>): Comparison {
  const baseKeys = new Set(base.findings.filter(relevant).map(findingKey));
  const headKeys = new Set(head.findings.filter(relevant).map(findingKey));
  const headRelevant = head.findings.filter(relevant);
  return {
    introduced: headRelevant.filter((f) => !baseKeys.has(findingKey(f))),
    fixed: base.findings.filter(relevant).filter((f) => !headKeys.has(findingKey(f))),
    unchanged: headRelevant.filter((f) => baseKeys.has(findingKey(f))),
  };
}
