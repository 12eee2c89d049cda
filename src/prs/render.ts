// Words for the outcome of a PR run, for Slack (mrkdwn) and the terminal. Diffs are shown in dry runs only.
import type { ChangeOutcome, OpenPrsResult } from './open-prs.ts';

const icons: Record<ChangeOutcome['status'], string> = {
  opened: ':white_check_mark:', updated: ':arrows_counterclockwise:', unchanged: ':white_check_mark:', 'already-done': ':heavy_check_mark:',
  skipped: ':heavy_minus_sign:', refused: ':no_entry:', 'left-alone': ':raised_hand:', failed: ':x:', 'dry-run': ':mag:',
};

const verbs: Record<ChangeOutcome['status'], string> = {
  opened: 'opened', updated: 'updated', unchanged: 'up to date', 'already-done': 'already done', skipped: 'nothing to do',
  refused: 'not opened', 'left-alone': 'left alone', failed: 'failed', 'dry-run': 'would change',
};

function line(o: ChangeOutcome, slack: boolean): string {
  const pr = o.pr ? (slack ? ` <${o.pr.url}|#${o.pr.number}>` : ` #${o.pr.number} ${o.pr.url}`) + (o.pr.draft ? ' (draft)' : '') : '';
  const where = o.repo ? ` in ${slack ? `\`${o.repo}\`` : o.repo}` : '';
  const files = o.status === 'dry-run' && o.files ? `: ${o.files.join(', ')}` : '';
  const head = `${slack ? `${icons[o.status]} *${o.kind}*` : `${o.kind.padEnd(9)}`} ${verbs[o.status]}${pr}${where}${files}`;
  const why = o.reason ?? o.draftReason;
  return why ? `${head}\n${slack ? '    ' : '          '}${o.draftReason && !o.reason ? 'Draft: ' : ''}${why}` : head;
}

export function renderPrResult(result: OpenPrsResult, surface: 'slack' | 'terminal', opts: { diffs?: boolean } = {}): string {
  const slack = surface === 'slack';
  const lines = [slack ? `*PRs for ${result.service}*` : `PRs for ${result.service}`, ...result.outcomes.map((o) => line(o, slack))];
  const diffs = opts.diffs ? result.outcomes.filter((o) => o.diff).map((o) => o.diff!) : [];
  if (diffs.length) lines.push(slack ? `\`\`\`\n${diffs.join('').slice(0, 2800)}\n\`\`\`` : diffs.join(''));
  if (result.outcomes.some((o) => o.pr) && slack) lines.push('_Merge in the order shown in each PR: base image and dependencies, then the pipeline, then scheduling._');
  return lines.join('\n');
}

/** The end table of `archshift pr --all`: one row per service and change, then the counts per status. */
export function renderFleetPrTable(entries: Array<{ service: string; result?: OpenPrsResult; error?: string }>): string {
  const rows = entries.flatMap((e) =>
    e.result
      ? e.result.outcomes.map((o) => [e.service, o.kind, verbs[o.status], o.pr ? `#${o.pr.number} ${o.pr.url}${o.pr.draft ? ' (draft)' : ''}` : (o.reason ?? '')])
      : [[e.service, '-', 'not handled', e.error ?? '']],
  );
  const all = [['SERVICE', 'CHANGE', 'OUTCOME', 'PR OR WHY'], ...rows];
  const widths = [0, 1, 2].map((i) => Math.max(...all.map((r) => r[i]!.length)));
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r[2]!, (counts.get(r[2]!) ?? 0) + 1);
  return [
    ...all.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd()),
    '',
    `${entries.length} service${entries.length === 1 ? '' : 's'}: ${[...counts.entries()].map(([k, n]) => `${n} ${k}`).join(', ') || 'nothing to do'}`,
  ].join('\n');
}
