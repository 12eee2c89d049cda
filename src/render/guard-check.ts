// GitHub's words for the PR check: the Check Run's title, Markdown summary and file:line annotations.
import type { CheckAnnotation, CheckOutput } from '../adapters/github.ts';
import type { GuardVerdict } from '../guard/guard.ts';
import type { PullCheck } from '../guard/pull-request.ts';
import { BREAKING } from '../guard/compare.ts';
import type { Finding } from '../readiness/report.ts';
import { evidenceText } from './report-common.ts';
import { moveFactText, outcomeHeadline } from './guard-common.ts';

/** GitHub's limits: summary 65535 characters, annotation title 255, message 64 KB. */
const MAX_SUMMARY = 65_000;
const MAX_TITLE = 255;
const MAX_MESSAGE = 60_000;

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
// Markdown table cells: pipes and newlines would break the row.
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

function title(check: PullCheck): string {
  const failing = check.verdicts.filter((v) => v.conclusion === 'failure').map((v) => v.service);
  if (failing.length) return clip(`Breaks arm64 for ${failing.join(', ')}`, MAX_TITLE);
  if (check.errors.length) return 'archshift could not check every service';
  if (check.verdicts.some((v) => v.outcome === 'warned')) return 'Breaks arm64 for a moved service (guard: warn)';
  if (check.verdicts.some((v) => v.outcome === 'unverified')) return 'Adds something archshift could not verify on arm64';
  if (check.verdicts.some((v) => v.outcome === 'not-moved' && v.breaking.length)) return 'Adds arm64 work for a service not on arm64 yet';
  return check.verdicts.length ? 'Nothing here breaks arm64' : 'No file archshift reads changed';
}

function rows(findings: Finding[]): string[] {
  return [
    '| | Finding | Where | Fix |',
    '|---|---|---|---|',
    ...findings.map(
      (f) => `| ${f.severity} | ${cell(f.title)} (\`${f.id}\`) | ${cell(evidenceText(f.evidence) || '-')} | ${cell(f.fix ?? '')} |`,
    ),
  ];
}

function section(v: GuardVerdict, reportUrl?: string): string[] {
  const c = v.comparison;
  const out = [`### ${v.service}: ${v.conclusion}`, '', `${outcomeHeadline[v.outcome]}.`, ''];
  out.push(
    v.moved.length
      ? `On arm64: ${v.moved.map(moveFactText).join('; ')}.`
      : 'Not on arm64 yet: no pods on arm64 nodes, no arm64 selector, no merged selectors PR.',
  );
  if (v.clusterProblem)
    out.push('', `The cluster could not be read (${v.clusterProblem}); whether the service runs on arm64 rests on the rest.`);
  out.push('', `**Introduced by this PR: ${c.introduced.length}**`, '');
  if (c.introduced.length) out.push(...rows(c.introduced));
  if (c.fixed.length) out.push('', `Fixed by this PR: ${c.fixed.length} (${[...new Set(c.fixed.map((f) => f.id))].join(', ')}).`);
  if (c.unchanged.length)
    out.push(
      '',
      `Already there before this PR, not blamed on it: ${c.unchanged.length} (${[...new Set(c.unchanged.map((f) => f.id))].join(', ')}).`,
    );
  out.push(
    '',
    reportUrl
      ? `[The full report for ${v.service}](${reportUrl})`
      : `The full report: \`/arm64 check ${v.service}\` in Slack or \`archshift check ${v.service}\`.`,
    '',
  );
  return out;
}

function annotation(a: PullCheck['annotate'][number]): CheckAnnotation {
  const f = a.finding;
  const line = f.evidence.line ?? 1;
  const level = BREAKING.has(f.severity)
    ? a.verdict.conclusion === 'failure'
      ? 'failure'
      : 'warning'
    : f.severity === 'unknown'
      ? 'warning'
      : 'notice';
  return {
    path: f.evidence.file!,
    startLine: line,
    endLine: line,
    level,
    title: clip(`${a.service}: ${f.id}`, MAX_TITLE),
    message: clip(`${f.title}${f.fix ? `\n\nFix: ${f.fix}` : ''}`, MAX_MESSAGE),
  };
}

export function renderPullCheck(check: PullCheck): CheckOutput {
  const out: string[] = [];
  for (const v of check.verdicts) out.push(...section(v, check.reportUrls[v.service]));
  for (const e of check.errors)
    out.push(
      `### ${e.service}: not checked`,
      '',
      `archshift could not check it: ${e.message}. Re-run the check when the cause is fixed.`,
      '',
    );
  if (check.untouched.length) out.push(`Not touched by this PR: ${check.untouched.join(', ')}.`);
  return {
    title: title(check),
    summary: clip(out.join('\n').trim() || 'This PR changes no file archshift reads for the services in this repository.', MAX_SUMMARY),
    annotations: check.annotate.map(annotation),
  };
}
