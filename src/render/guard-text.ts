// The terminal rendering of a guard verdict (`archshift guard`), and its stable JSON form for CI scripts.
import type { GuardVerdict } from '../guard/guard.ts';
import type { Finding } from '../readiness/report.ts';
import { evidenceText } from './report-common.ts';
import { moveFactText, outcomeHeadline } from './guard-common.ts';

const mark: Record<Finding['severity'], string> = { blocker: 'x', unknown: '?', change: '!', warning: '~', info: '-' };

function line(f: Finding, withFix: boolean): string[] {
  const where = evidenceText(f.evidence);
  return [
    `  [${mark[f.severity]}] ${f.severity.padEnd(7)} ${f.title}  (${f.id})${where ? `  at ${where}` : ''}`,
    ...(withFix && f.fix ? [`        fix: ${f.fix}`] : []),
  ];
}

export function renderGuardText(v: GuardVerdict): string {
  const c = v.comparison;
  const out = [`${v.service}: ${v.conclusion.toUpperCase()} - ${outcomeHeadline[v.outcome]}`];
  out.push(
    v.moved.length
      ? `  on arm64: ${v.moved.map(moveFactText).join('; ')}`
      : '  not on arm64 yet (no pods on arm64 nodes, no arm64 selector, no merged selectors PR)',
  );
  if (v.clusterProblem) out.push(`  the cluster could not be read: ${v.clusterProblem}`);
  out.push(
    '',
    `Introduced by this change (${c.introduced.length})`,
    ...(c.introduced.length ? c.introduced.flatMap((f) => line(f, true)) : ['  nothing']),
  );
  if (c.fixed.length) out.push('', `Fixed by this change (${c.fixed.length})`, ...c.fixed.flatMap((f) => line(f, false)));
  if (c.unchanged.length)
    out.push(
      '',
      `Already there before this change, not blamed on it (${c.unchanged.length})`,
      ...c.unchanged.flatMap((f) => line(f, false)),
    );
  return out.join('\n');
}

const findingJson = (f: Finding) => ({
  id: f.id,
  severity: f.severity,
  ecosystem: f.ecosystem,
  title: f.title,
  evidence: f.evidence,
  fix: f.fix ?? null,
});

/** Fields are only ever added, as with `check --json`. */
export function renderGuardJson(v: GuardVerdict): string {
  return JSON.stringify(
    {
      schemaVersion: 1,
      service: v.service,
      policy: v.policy,
      conclusion: v.conclusion,
      outcome: v.outcome,
      moved: v.moved,
      ...(v.clusterProblem ? { clusterProblem: v.clusterProblem } : {}),
      introduced: v.comparison.introduced.map(findingJson),
      fixed: v.comparison.fixed.map(findingJson),
      unchanged: v.comparison.unchanged.map(findingJson),
    },
    null,
    2,
  );
}
