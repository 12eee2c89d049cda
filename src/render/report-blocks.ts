// The Slack Block Kit rendering of a readiness report, within Slack's limits (50 blocks a message,
// 3000 characters a section text, 150 a header). What does not fit is cut at a finding boundary and
// returned as `overflow` (the full terminal text) for the caller to attach in the thread.
import { openPrsButton } from './pr-buttons.ts';
import type { Finding, Report, Severity, Verdict } from '../readiness/report.ts';
import { counts, ecosystemTitle, evidenceText, groupByEcosystem, hasAutofix, verdictHeadline } from './report-common.ts';
import { renderReportText } from './report-text.ts';

export const MAX_BLOCKS = 50;
export const MAX_SECTION_TEXT = 3000;
const MAX_HEADER = 150;
const MAX_FINDING_TEXT = 900;


const verdictEmoji: Record<Verdict, string> = {
  ready: ':white_check_mark:',
  'needs-changes': ':large_orange_diamond:',
  blocked: ':no_entry:',
  unknown: ':grey_question:',
};
const severityEmoji: Record<Severity, string> = {
  blocker: ':no_entry:',
  unknown: ':grey_question:',
  change: ':wrench:',
  warning: ':warning:',
  info: ':white_small_square:',
};

export interface ReportMessage {
  /** Notification and screen-reader text. */
  text: string;
  blocks: unknown[];
  /** The full report as text when the blocks had to leave findings out. */
  overflow?: string;
}

/** Slack's mrkdwn control characters; everything a finding quotes from a file is untrusted. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function findingMrkdwn(f: Finding): string {
  const where = evidenceText(f.evidence);
  const lines = [`${severityEmoji[f.severity]} *${escapeMrkdwn(clip(f.title, 400))}*`];
  if (where) lines.push(`      \`${escapeMrkdwn(clip(where, 200)).replace(/`/g, "'")}\``);
  if (f.fix && f.severity !== 'info') lines.push(`      _${escapeMrkdwn(clip(f.fix, 350))}_`);
  if (f.autofix) lines.push('      :robot_face: archshift can open a PR for this');
  return clip(lines.join('\n'), MAX_FINDING_TEXT);
}

export function renderReportBlocks(report: Report): ReportMessage {
  const text = `${report.service}: ${verdictHeadline[report.verdict]} (${counts(report)})`;
  const head: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(`${report.service}: ${verdictHeadline[report.verdict]}`, MAX_HEADER), emoji: true } },
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `${verdictEmoji[report.verdict]} *${report.verdict}* · ${counts(report)} · checked ${report.checkedAt.replace('T', ' ').slice(0, 16)} UTC` }],
    },
  ];
  const actions = hasAutofix(report)
    ? [
        {
          type: 'actions',
          elements: [openPrsButton(report.service)],
        },
      ]
    : [];
  // Room left for findings: the head, the actions, and one note block if something is cut.
  const budget = MAX_BLOCKS - head.length - actions.length - 1;
  const body: unknown[] = [];
  let shown = 0;
  groups: for (const group of groupByEcosystem(report.findings)) {
    if (body.length + 2 > budget) break;
    body.push({ type: 'divider' });
    let section = `*${ecosystemTitle[group.ecosystem]}*`;
    const flush = () => body.push({ type: 'section', text: { type: 'mrkdwn', text: section } });
    for (const f of group.findings) {
      const line = findingMrkdwn(f);
      if (section.length + 1 + line.length > MAX_SECTION_TEXT) {
        flush();
        if (body.length + 1 > budget) break groups;
        section = line;
      } else {
        section = `${section}\n${line}`;
      }
      shown++;
    }
    flush();
  }
  const blocks = [...head, ...body];
  const hidden = report.findings.length - shown;
  if (hidden > 0) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${hidden} more finding${hidden === 1 ? '' : 's'} did not fit in this message: the full report is in the thread.` }] });
  }
  blocks.push(...actions);
  return { text, blocks, ...(hidden > 0 ? { overflow: renderReportText(report) } : {}) };
}
