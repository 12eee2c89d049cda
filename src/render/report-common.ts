// Wording shared by the report renderers (Slack, terminal), so every surface says the same thing.
import type { Ecosystem, Evidence, Finding, Report, Severity, Verdict } from '../readiness/report.ts';

export const verdictHeadline: Record<Verdict, string> = {
  ready: 'Ready for arm64',
  'needs-changes': 'Needs changes before it can run on arm64',
  blocked: 'Blocked: cannot run on arm64 until the blockers are fixed by hand',
  unknown: 'Unknown: evidence is missing, so it is not reported ready',
};

export const ecosystemTitle: Record<Ecosystem, string> = {
  image: 'Images',
  dockerfile: 'Dockerfile',
  pipeline: 'Pipeline',
  kubernetes: 'Kubernetes',
  jvm: 'JVM',
  python: 'Python',
  node: 'Node.js',
  go: 'Go',
  native: 'Native code',
  system: 'System packages',
  file: 'Files',
};

export const severityOrder: Severity[] = ['blocker', 'unknown', 'change', 'warning', 'info'];

/** Findings grouped by ecosystem, groups with the most severe finding first, each group sorted by severity. */
export function groupByEcosystem(findings: Finding[]): Array<{ ecosystem: Ecosystem; findings: Finding[] }> {
  const rank = (f: Finding) => severityOrder.indexOf(f.severity);
  const groups = new Map<Ecosystem, Finding[]>();
  for (const f of findings) groups.set(f.ecosystem, [...(groups.get(f.ecosystem) ?? []), f]);
  return [...groups.entries()]
    .map(([ecosystem, list]) => ({ ecosystem, findings: [...list].sort((a, b) => rank(a) - rank(b)) }))
    .sort(
      (a, b) =>
        rank(a.findings[0]!) - rank(b.findings[0]!) ||
        Object.keys(ecosystemTitle).indexOf(a.ecosystem) - Object.keys(ecosystemTitle).indexOf(b.ecosystem),
    );
}

/** `Dockerfile:12`, `registry/x:1@sha256:…`, or the excerpt that locates a live object. */
export function evidenceText(e: Evidence): string {
  const parts: string[] = [];
  if (e.file) parts.push(e.line ? `${e.file}:${e.line}` : e.file);
  if (e.image && !e.file) parts.push(e.digest ? `${e.image}@${e.digest.slice(0, 19)}…` : e.image);
  if (!parts.length && e.excerpt) parts.push(e.excerpt);
  return parts.join(' ');
}

export function counts(report: Report): string {
  const n = (s: Severity) => report.findings.filter((f) => f.severity === s).length;
  const parts = severityOrder
    .map((s) => [s, n(s)] as const)
    .filter(([, c]) => c > 0)
    .map(([s, c]) => `${c} ${s}${c === 1 ? '' : s === 'change' ? 's' : s === 'info' ? '' : 's'}`);
  return parts.join(' · ') || 'no findings';
}

export const hasAutofix = (report: Report): boolean => report.findings.some((f) => f.autofix);

/** What closes a group of findings: one of archshift's PRs, a person, more evidence, or nothing (fine). */
export type FixGroupKey = 'pr:base' | 'pr:deps' | 'pr:pipeline' | 'pr:selectors' | 'by-hand' | 'evidence' | 'notes' | 'fine';

export interface FixGroup {
  key: FixGroupKey;
  title: string;
  /** archshift can open the PR that fixes every finding of the group. */
  pr: boolean;
  findings: Finding[];
}

const fixGroupTitle: Record<FixGroupKey, string> = {
  'pr:base': 'Base images',
  'pr:deps': 'Dependencies',
  'pr:pipeline': 'Pipeline: build linux/arm64',
  'pr:selectors': 'Scheduling on arm64 nodes',
  'by-hand': 'To fix by hand',
  evidence: 'Evidence missing',
  notes: 'Worth a look',
  fine: 'Checked and fine',
};
const fixGroupOrder = Object.keys(fixGroupTitle) as FixGroupKey[];

function fixGroupOf(f: Finding): FixGroupKey {
  if (f.autofix) return `pr:${f.autofix.kind}`;
  if (f.severity === 'blocker' || f.severity === 'change') return 'by-hand';
  if (f.severity === 'unknown') return 'evidence';
  return f.severity === 'warning' ? 'notes' : 'fine';
}

/** Findings grouped by what fixes them, the group with the most severe finding first (PR groups before the rest on a tie). */
export function groupByFix(findings: Finding[]): FixGroup[] {
  const rank = (f: Finding) => severityOrder.indexOf(f.severity);
  const groups = new Map<FixGroupKey, Finding[]>();
  for (const f of findings) groups.set(fixGroupOf(f), [...(groups.get(fixGroupOf(f)) ?? []), f]);
  return [...groups.entries()]
    .map(([key, list]) => ({
      key,
      title: fixGroupTitle[key],
      pr: key.startsWith('pr:'),
      findings: [...list].sort((a, b) => rank(a) - rank(b)),
    }))
    .sort((a, b) => rank(a.findings[0]!) - rank(b.findings[0]!) || fixGroupOrder.indexOf(a.key) - fixGroupOrder.indexOf(b.key));
}

/** `2 changes`, `1 blocker · 1 unknown`: the severities of some findings. */
export function countsOf(findings: Finding[]): string {
  return counts({ findings } as Report);
}
