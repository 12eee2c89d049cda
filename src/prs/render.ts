// Words for the outcome of a PR run, for Slack (mrkdwn) and the terminal. Diffs are shown in dry runs only.
import type { Actor } from '../auth/actor.ts';
import { personName } from '../render/people.ts';
import type { ChangeOutcome, OpenPrsResult } from './open-prs.ts';

const icons: Record<ChangeOutcome['status'], string> = {
  opened: ':white_check_mark:',
  updated: ':arrows_counterclockwise:',
  unchanged: ':white_check_mark:',
  'already-done': ':heavy_check_mark:',
  skipped: ':heavy_minus_sign:',
  refused: ':no_entry:',
  'left-alone': ':raised_hand:',
  failed: ':x:',
  'dry-run': ':mag:',
};

const verbs: Record<ChangeOutcome['status'], string> = {
  opened: 'opened',
  updated: 'updated',
  unchanged: 'up to date',
  'already-done': 'already done',
  skipped: 'nothing to do',
  refused: 'not opened',
  'left-alone': 'left alone',
  failed: 'failed',
  'dry-run': 'would change',
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
  if (result.outcomes.some((o) => o.pr) && slack)
    lines.push('_Merge in the order shown in each PR: base image and dependencies, then the pipeline, then scheduling._');
  return lines.join('\n');
}

type FleetEntries = Array<{ service: string; result?: OpenPrsResult; error?: string }>;

/** The end table of `archshift pr --all`: one row per service and change, then the counts per status. */
export function renderFleetPrTable(entries: FleetEntries): string {
  const rows = entries.flatMap((e) =>
    e.result
      ? e.result.outcomes.map((o) => [
          e.service,
          o.kind,
          verbs[o.status],
          o.pr ? `#${o.pr.number} ${o.pr.url}${o.pr.draft ? ' (draft)' : ''}` : (o.reason ?? ''),
        ])
      : [[e.service, '-', NOT_HANDLED, e.error ?? '']],
  );
  const all = [['SERVICE', 'CHANGE', 'OUTCOME', 'PR OR WHY'], ...rows];
  const widths = [0, 1, 2].map((i) => Math.max(...all.map((r) => r[i]!.length)));
  return [
    ...all.map((r) =>
      r
        .map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c))
        .join('  ')
        .trimEnd(),
    ),
    '',
    fleetCounts(entries),
  ].join('\n');
}

const NOT_HANDLED = 'not handled';

/** `3 services: 2 opened, 1 not opened`. */
function fleetCounts(entries: FleetEntries): string {
  const counts = new Map<string, number>();
  for (const e of entries)
    for (const v of e.result ? e.result.outcomes.map((o) => verbs[o.status]) : [NOT_HANDLED]) counts.set(v, (counts.get(v) ?? 0) + 1);
  return `${entries.length} service${entries.length === 1 ? '' : 's'}: ${[...counts.entries()].map(([k, n]) => `${n} ${k}`).join(', ') || 'nothing to do'}`;
}

/** The same end table for Slack (the digest's thread): the counts, then one line per service. */
export function renderFleetPrSlack(entries: FleetEntries): string {
  const lines = entries.map((e) => {
    if (!e.result) return `:x: *${e.service}* ${NOT_HANDLED}: ${e.error ?? ''}`;
    const parts = e.result.outcomes.map((o) => {
      const pr = o.pr ? ` <${o.pr.url}|#${o.pr.number}>${o.pr.draft ? ' (draft)' : ''}` : '';
      const why = o.reason && (o.status === 'refused' || o.status === 'failed' || o.status === 'left-alone') ? `: ${o.reason}` : '';
      return `${icons[o.status]} ${o.kind} ${verbs[o.status]}${pr}${why}`;
    });
    return `*${e.service}*: ${parts.join(' · ') || 'nothing to do'}`;
  });
  return [`*Done: ${fleetCounts(entries)}*`, ...lines].join('\n');
}

/** The batch's progress line, updated in place while it runs. */
export function renderFleetPrProgressSlack(p: {
  done: number;
  total: number;
  service?: string;
  writesThisHour: number;
  by: Actor;
}): string {
  const icon = p.done < p.total ? ':hourglass_flowing_sand:' : ':white_check_mark:';
  const last = p.service ? ` · last: ${p.service}` : '';
  return `${icon} Opening the PRs of ${p.total} ready service${p.total === 1 ? '' : 's'} for ${personName(p.by, 'slack')}, paced to GitHub's limits: ${p.done}/${p.total} done${last} · ${p.writesThisHour} GitHub writes this hour`;
}
