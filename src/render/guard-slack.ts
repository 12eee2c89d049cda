// Slack's words for the guard's note: a PR would break arm64 for a service that runs there.
import type { GuardNote } from '../guard/pull-request.ts';
import { evidenceText } from './report-common.ts';
import { moveFactText } from './guard-common.ts';

/** Slack escapes: &, < and > only. */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const MAX_LISTED = 10;

export function renderGuardNote(note: GuardNote): { text: string; blocks: unknown[] } {
  const { pr, verdict } = note;
  const link = `<${pr.url}|${esc(pr.repo)}#${pr.number}>`;
  const blocking = verdict.outcome === 'breaks-arm64';
  const head = `:warning: ${link} would break arm64 for *${esc(note.service)}*, which runs there (${esc(verdict.moved.map(moveFactText).join('; '))}).`;
  const items = verdict.breaking
    .slice(0, MAX_LISTED)
    .map((f) => `• ${esc(f.title)} (\`${f.id}\`${evidenceText(f.evidence) ? `, ${esc(evidenceText(f.evidence))}` : ''})`);
  if (verdict.breaking.length > MAX_LISTED) items.push(`• and ${verdict.breaking.length - MAX_LISTED} more in the check run`);
  const tail = blocking
    ? 'The `archshift/arm64` check fails until it is fixed.'
    : 'The check only warns (guard: warn), so the PR can still merge.';
  const text = `${head}\n${items.join('\n')}\n${tail}`;
  return { text: text.slice(0, 3000), blocks: [{ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } }] };
}
