// The fleet check (`archshift check --all`) as a terminal table, CSV or Markdown: one row per service,
// then the summary (verdict counts, the blockers that affect most services, what PRs would fix).
import type { FleetEntry, FleetResult, FindingCount } from '../fleet/check-all.ts';
import type { Severity, Verdict } from '../readiness/report.ts';
import { reportToJson } from './report-json.ts';

export const VERDICT_ORDER: Verdict[] = ['blocked', 'unknown', 'needs-changes', 'ready'];

const count = (e: FleetEntry, s: Severity) => e.report?.findings.filter((f) => f.severity === s).length ?? 0;

/** The first thing to look at for a service: its worst finding, or why it has no report. */
export function headlineOf(e: FleetEntry): string {
  if (e.error) return e.error;
  const worst = e.report?.findings.find((f) => f.severity === 'blocker' || f.severity === 'unknown' || f.severity === 'change');
  return worst ? `${worst.id}: ${worst.title}` : '';
}

function rows(r: FleetResult): string[][] {
  return r.entries.map((e) => [
    e.service,
    e.team ?? '',
    e.cluster ?? '',
    e.verdict,
    String(count(e, 'blocker')),
    String(count(e, 'unknown')),
    String(count(e, 'change')),
    headlineOf(e),
  ]);
}
const HEADER = ['service', 'team', 'cluster', 'verdict', 'blockers', 'unknowns', 'changes', 'first thing to fix'];

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function summaryLines(r: FleetResult, bullet: string): string[] {
  const s = r.summary;
  const lines = [`${plural(s.total, 'service')}: ${VERDICT_ORDER.map((v) => `${s.verdicts[v]} ${v}`).join(', ')}`];
  const top = (title: string, list: FindingCount[]) => {
    if (!list.length) return;
    lines.push('', title);
    for (const c of list.slice(0, 5)) lines.push(`${bullet}${plural(c.services.length, 'service')}: ${c.id} (e.g. ${c.title})`);
  };
  top('Blockers affecting most services:', s.topBlockers);
  top('Evidence missing most often:', s.topUnknowns);
  if (s.prs.length) {
    lines.push('', 'What PRs would fix (archshift pr --all):');
    for (const p of s.prs) lines.push(`${bullet}${p.kind}: ${plural(p.services.length, 'service')}`);
    lines.push(`${bullet}ready once its PRs merge: ${plural(s.readyAfterPrs.length, 'service')}`);
  }
  return lines;
}

const truncate = (t: string, n: number) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);

export function renderFleetTable(r: FleetResult): string {
  const body = rows(r).map((row) => [...row.slice(0, -1), truncate(row.at(-1)!, 80)]);
  const all = [HEADER.map((h) => h.toUpperCase()), ...body];
  const widths = HEADER.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const table = all.map((row) =>
    row
      .map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
  return [...table, '', ...summaryLines(r, '  ')].join('\n');
}

/** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; CRLF line ends. */
const csvField = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

export function renderFleetCsv(r: FleetResult): string {
  return [HEADER, ...rows(r)].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

const mdCell = (v: string) =>
  v
    .replaceAll('\\', '\\\\')
    .replaceAll('|', '\\|')
    .replace(/[\r\n]+/g, ' ');

export function renderFleetMarkdown(r: FleetResult): string {
  const table = [HEADER, HEADER.map(() => '---'), ...rows(r)].map((row) => `| ${row.map(mdCell).join(' | ')} |`);
  return [
    '# arm64 readiness of the fleet',
    '',
    `Checked ${r.checkedAt}.`,
    '',
    ...summaryLines(r, '- ').map((l) => (l.endsWith(':') ? `**${l}**` : l)),
    '',
    ...table,
    '',
  ].join('\n');
}

/** The `--json` payload: the summary and every service's report in its stable JSON form. */
export function fleetJson(r: FleetResult): object {
  return {
    checkedAt: r.checkedAt,
    filter: r.filter,
    summary: r.summary,
    services: r.entries.map((e) => ({
      service: e.service,
      team: e.team ?? null,
      cluster: e.cluster ?? null,
      verdict: e.verdict,
      error: e.error ?? null,
      report: e.report ? reportToJson(e.report) : null,
    })),
  };
}
