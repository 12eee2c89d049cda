// The Slack Block Kit rendering of a readiness report, read at a glance and within Slack's limits (50
// blocks a message, 3000 characters a section text, 150 a header). A long report is folded to counts and
// the full terminal text returned as `overflow`, for the caller to attach in the thread.
import { openPrsButton } from './pr-buttons.ts';
import type { Finding, Report, Severity, Verdict } from '../readiness/report.ts';
import { counts, countsOf, evidenceText, groupByFix, hasAutofix, verdictHeadline, type FixGroup } from './report-common.ts';
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
  return clip(lines.join('\n'), MAX_FINDING_TEXT);
}

const PR_NOTE = ':robot_face: archshift can open a PR';
/** More findings than this that need doing, and the message shows counts only (the full report goes to the thread). */
export const FOLD_AFTER = 8;
const TODO_SHOWN = 3;

function groupTitle(g: FixGroup): string {
  return `*${g.title}* (${countsOf(g.findings)})${g.pr ? ` · ${PR_NOTE}` : ''}`;
}

/** One line of "What to do": the group and, for work by hand, what the first finding says. */
function todoLine(g: FixGroup): string {
  const first = g.pr
    ? ''
    : `: ${escapeMrkdwn(clip(g.findings[0]!.title, 160))}${g.findings.length > 1 ? ` and ${g.findings.length - 1} more` : ''}`;
  return `• ${groupTitle(g)}${first}`;
}

/** The groups in full: a title line (with the PR note once) and their findings, split at Slack's section size. */
function groupSections(groups: FixGroup[]): unknown[] {
  const blocks: unknown[] = [];
  for (const g of groups) {
    blocks.push({ type: 'divider' });
    let section = groupTitle(g);
    for (const f of g.findings) {
      const line = findingMrkdwn(f);
      if (section.length + 1 + line.length > MAX_SECTION_TEXT) {
        blocks.push({ type: 'section', text: { type: 'mrkdwn', text: section } });
        section = line;
      } else section = `${section}\n${line}`;
    }
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: section } });
  }
  return blocks;
}

/**
 * The report at a glance: the verdict, the two or three things to do, the Open PRs button, then the
 * findings grouped by what fixes them. A long report shows each group's counts only and hands the full
 * text to the thread (`overflow`).
 */
export function renderReportBlocks(report: Report): ReportMessage {
  const text = `${report.service}: ${verdictHeadline[report.verdict]} (${counts(report)})`;
  const groups = groupByFix(report.findings);
  const todo = groups.filter((g) => g.key !== 'fine' && g.key !== 'notes');
  const checked = Math.floor(Date.parse(report.checkedAt) / 1000);
  const blocks: unknown[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: clip(`${report.service}: ${verdictHeadline[report.verdict]}`, MAX_HEADER), emoji: true },
    },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `${verdictEmoji[report.verdict]} *${report.verdict}* · ${counts(report)} · checked <!date^${checked}^{date_short_pretty} {time}|${report.checkedAt}>`,
        },
      ],
    },
  ];
  if (todo.length) {
    const more = todo.length > TODO_SHOWN ? `\n…and ${todo.length - TODO_SHOWN} more below` : '';
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: clip(`*What to do*\n${todo.slice(0, TODO_SHOWN).map(todoLine).join('\n')}${more}`, MAX_SECTION_TEXT) },
    });
  }
  if (hasAutofix(report)) blocks.push({ type: 'actions', elements: [openPrsButton(report.service)] });

  const needsDoing = report.findings.filter((f) => f.severity !== 'info').length;
  const full = groupSections(groups);
  // Room for the full groups: everything above plus one closing note.
  const fits = blocks.length + full.length + 1 <= MAX_BLOCKS;
  if (needsDoing <= FOLD_AFTER && fits) return { text, blocks: [...blocks, ...full] };

  const summary = groups.map((g) => `• ${groupTitle(g)}`).join('\n');
  blocks.push({ type: 'divider' }, { type: 'section', text: { type: 'mrkdwn', text: clip(summary, MAX_SECTION_TEXT) } });
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `${report.findings.length} findings, folded: the full report is in the thread.` }],
  });
  return { text, blocks, overflow: renderReportText(report) };
}
