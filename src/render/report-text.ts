// The terminal rendering of a readiness report: verdict first, then findings grouped by ecosystem with
// their evidence, fix and whether archshift can open the PR. Plain text; also the long form Slack attaches.
import type { Finding, Report, Severity } from '../readiness/report.ts';
import { counts, ecosystemTitle, evidenceText, groupByEcosystem, verdictHeadline } from './report-common.ts';

const mark: Record<Severity, string> = { blocker: 'x', unknown: '?', change: '!', warning: '~', info: '-' };

function findingLines(f: Finding): string[] {
  const lines = [`  [${mark[f.severity]}] ${f.severity.padEnd(7)} ${f.title}  (${f.id})`];
  const where = evidenceText(f.evidence);
  if (where) lines.push(`              at ${where}`);
  if (f.evidence.excerpt && f.evidence.file) lines.push(`              > ${f.evidence.excerpt}`);
  if (f.fix) lines.push(`              fix: ${f.fix}`);
  if (f.autofix) lines.push(`              archshift can open a PR for this (${f.autofix.kind})`);
  return lines;
}

export function renderReportText(report: Report): string {
  const out = [
    `${report.service}: ${report.verdict.toUpperCase()} - ${verdictHeadline[report.verdict]}`,
    `  ${counts(report)} · checked ${report.checkedAt}`,
  ];
  for (const group of groupByEcosystem(report.findings)) {
    out.push('', `${ecosystemTitle[group.ecosystem]}`);
    for (const f of group.findings) out.push(...findingLines(f));
  }
  if (report.findings.some((f) => f.autofix))
    out.push('', 'The "Open PRs" button on the Slack report opens the changes marked "archshift can open a PR".');
  return out.join('\n');
}
