// The digest as text: the parts (headline, trend, cost, lists) in Slack mrkdwn or plain terminal
// text. The Block Kit renderer places the same parts into blocks, so both always say the same thing.
import type { MeasuredSaving } from '../digest/cost.ts';
import type { DigestModel, Group } from '../digest/model.ts';
import type { Shares } from '../digest/history.ts';

export type TextStyle = 'slack' | 'terminal' | 'markdown';

interface Fmt {
  bold(s: string): string;
  code(s: string): string;
  link(url: string, text: string): string;
}

const formats: Record<TextStyle, Fmt> = {
  slack: { bold: (s) => `*${s}*`, code: (s) => `\`${s}\``, link: (u, t) => `<${u}|${t.replace(/[<>|]/g, '')}>` },
  terminal: { bold: (s) => s, code: (s) => s, link: (u, t) => `${t} (${u})` },
  markdown: { bold: (s) => `**${s}**`, code: (s) => `\`${s}\``, link: (u, t) => `[${t.replace(/[[\]]/g, '')}](${u})` },
};

export const pct = (x: number) => `${(Math.round(x * 1000) / 10).toFixed(1)}%`;

export function progressBar(share: number, width = 20): string {
  const filled = Math.round(Math.min(1, Math.max(0, share)) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

export function money(amount: number, currency: string): string {
  const rounded = Math.round(amount);
  const n = rounded.toLocaleString('en-US');
  return currency === 'USD' ? `$${n}` : `${n} ${currency}`;
}

const cores = (millis: number) => `${(Math.round(millis / 100) / 10).toLocaleString('en-US')} CPU`;

function delta(now: number, then: number | undefined): string {
  if (then === undefined) return 'n/a';
  const pts = Math.round((now - then) * 1000) / 10;
  return `${pts >= 0 ? '+' : ''}${pts.toFixed(1)} pts`;
}

function names(list: string[], max: number, f: Fmt): string {
  const shown = list
    .slice(0, max)
    .map((s) => f.code(s))
    .join(', ');
  return list.length > max ? `${shown} and ${list.length - max} more` : shown;
}

function groups(list: Group[], max: number): string {
  return list.length
    ? list
        .slice(0, max)
        .map((g) => `${g.name} ${g.remaining}/${g.total} (${cores(g.remainingCpuMillis)})`)
        .join(' · ')
    : 'none';
}

const signed = (pctChange: number) => `${pctChange > 0 ? '+' : pctChange < 0 ? '−' : '±'}${Math.abs(pctChange)}%`;

/** One measured service: its saving (or what it costs), CPU per unit and p99 on each side. */
function measuredLine(s: MeasuredSaving, currency: string, f: Fmt): string {
  const money$ = s.monthly
    ? `${s.monthly.saving >= 0 ? 'saves' : 'costs'} ${money(Math.abs(s.monthly.saving), currency)}/month`
    : `not priced (no ${s.missing.join(', no ')})`;
  const cpu = s.cpuRatio !== undefined ? `, CPU per ${s.unit} ${signed(Math.round((s.cpuRatio - 1) * 100))}` : '';
  const p99 =
    s.p99Ms.amd64 !== undefined && s.p99Ms.arm64 !== undefined ? `, p99 ${s.p99Ms.amd64.toFixed(0)} → ${s.p99Ms.arm64.toFixed(0)} ms` : '';
  return `• ${f.code(s.service)} ${s.result === 'promoted' ? '' : '(rolled back) '}${money$}${cpu}${p99}`;
}

/** Measured savings: the total over promoted services, each service, and the ones where arm64 measured worse. */
function measuredText(m: DigestModel, f: Fmt): string {
  const c = m.cost;
  const promoted = c.measured.filter((s) => s.result === 'promoted');
  const priced = promoted.filter((s) => s.monthly);
  const worse = c.measured.filter((s) => s.worse).map((s) => f.code(s.service));
  return [
    `${f.bold('Measured by canaries')} (CPU used per unit of work × the price of each side's nodes): ${priced.length ? `the ${priced.length} moved service${priced.length === 1 ? '' : 's'} priced ${c.measuredSaving >= 0 ? 'save' : 'cost'} ${money(Math.abs(c.measuredSaving), c.currency)}/month` : 'no moved service could be priced yet'}` +
      (worse.length ? `; arm64 measured worse for ${worse.join(', ')}` : ''),
    ...c.measured.slice(0, m.topN).map((s) => measuredLine(s, c.currency, f)),
    ...(c.measured.length > m.topN ? [`…and ${c.measured.length - m.topN} more`] : []),
  ].join('\n');
}

/** How a ready workload outside the catalog gets in (and so gets its PR button): discovery labels Deployments; other kinds are listed by hand. */
function notInCatalog(r: DigestModel['ready'][number], label: string, f: Fmt): string {
  if (r.kind !== 'Deployment') return `not in the catalog: add it under catalog.services to open its PRs`;
  return `not in the catalog: ${f.code(`kubectl -n ${r.namespace} label deployment/${r.name} ${label}=${r.name}`)} adds it (with catalog.discovery.enabled)`;
}

const moveProblemWords: Record<NonNullable<DigestModel['moveProblems']>[number]['problem']['kind'], string> = {
  unschedulable: 'pods Pending, no node fits',
  'no-scale-up': 'pods Pending, cluster-autoscaler adds no node',
  'exec-format-error': 'exec format error (an amd64 binary)',
  'image-platform-missing': 'no linux/arm64 manifest',
};

function moveProblemLine(p: NonNullable<DigestModel['moveProblems']>[number], f: Fmt): string {
  const where = `${p.cluster ? `${p.cluster}: ` : ''}${p.namespace}/${p.deployment}`;
  const after = p.trigger.kind === 'canary-started' ? 'canary' : f.link(p.trigger.url, `selectors PR #${p.trigger.number}`);
  const groups = p.problem.nodes?.cannotScaleFromZero.map((g) => g.group) ?? [];
  const fix =
    p.problem.kind === 'exec-format-error' || p.problem.kind === 'image-platform-missing'
      ? `build ${p.problem.image ? f.code(p.problem.image) : 'the image'} for linux/arm64`
      : groups.length
        ? `tag ${names(groups, 3, f)} with ${f.code('k8s.io/cluster-autoscaler/node-template/label/kubernetes.io/arch=arm64')}`
        : `see ${f.code(`archshift nodes${p.cluster ? ` --cluster ${p.cluster}` : ''}`)}`;
  return `• ${f.code(p.service)} (${where}, after its ${after}, ${p.problem.at.slice(0, 10)}): ${moveProblemWords[p.problem.kind]}: ${fix}`;
}

export interface DigestParts {
  title: string;
  headline: string;
  bar: string;
  trend?: string;
  clusters: string;
  changes: string;
  cost: string;
  /** What canaries measured, per service and in total; absent when no canary has finished with a measurement. */
  measured?: string;
  namespaces: string;
  teams: string;
  readyTitle: string;
  /** One line per ready workload shown (top N by saving). */
  ready: { line: string; service?: string }[];
  readyMore?: string;
  blockers: string;
  /** Problems the watch after a move found recently; absent when there were none. */
  moveProblems?: string;
  unknown: string;
  prs: string;
  footer: string;
}

export function digestParts(m: DigestModel, style: TextStyle): DigestParts {
  const f = formats[style];
  const s = m.shares;
  const w = m.totals.workloads;
  const scope = m.team ? ` for team ${m.team}` : '';
  const trend =
    m.trend.yesterday || m.trend.week || m.trend.month
      ? `Trend (workloads on arm64): vs yesterday ${delta(s.workloads, m.trend.yesterday?.workloads)} · 7 days ${delta(s.workloads, m.trend.week?.workloads)} · 30 days ${delta(s.workloads, m.trend.month?.workloads)}`
      : m.team
        ? undefined
        : 'Trend: first day recorded, comparisons start tomorrow.';

  const clusters = m.clusters
    .map((c) =>
      c.ok
        ? `${f.bold(c.name)}: ${pct(c.shares!.workloads)} of ${c.workloads} workloads on arm64; nodes ${
            Object.entries(c.nodes ?? {})
              .map(([arch, n]) => `${n} ${arch}`)
              .join(' / ') || 'none'
          }`
        : `${f.bold(c.name)}: UNREACHABLE, not counted (${c.error})`,
    )
    .join('\n');

  const since = m.changes.since ? `Since ${m.changes.since}` : 'Since the last run';
  const changes = m.changes.since
    ? `${since}: ${m.changes.migrated.length} moved to arm64${m.changes.migrated.length ? ` (${names(m.changes.migrated, 5, f)})` : ''}; ` +
      `${m.changes.regressed.length} went back to amd64${m.changes.regressed.length ? ` (${names(m.changes.regressed, 5, f)})` : ''}`
    : 'Changes: no earlier day recorded yet.';

  const c = m.cost;
  const unpriced = c.unpricedNodes.length
    ? `; no price for ${c.unpricedNodes.map((u) => `${u.nodes} × ${u.instanceType}`).join(', ')} (not counted; add them under digest.prices)`
    : '';
  const cost =
    `Cost (estimates, list prices as of ${c.pricesAsOf}): amd64 capacity ${m.team ? `used by the team ` : ''}≈ ${money(c.amd64MonthlyCost, c.currency)}/month` +
    `${m.team ? '' : `, arm64 ≈ ${money(c.arm64MonthlyCost, c.currency)}/month`}; moving the ${m.readyCount} ready workloads saves ≈ ${money(c.readySaving, c.currency)}/month (estimated)${unpriced}`;
  const measured = c.measured.length ? measuredText(m, f) : undefined;

  const saving = (r: DigestModel['ready'][number]) =>
    r.savingBasis === 'measured'
      ? ` ${r.monthlySaving >= 0 ? 'saves' : 'costs'} ${money(Math.abs(r.monthlySaving), c.currency)}/month (measured)`
      : r.monthlySaving > 0
        ? ` saves ≈ ${money(r.monthlySaving, c.currency)}/month`
        : '';
  const ready = m.ready.slice(0, m.topN).map((r) => ({
    line: `${f.code(r.key)}${r.team ? ` (${r.team})` : ''}${saving(r)}${r.service ? ` · service ${f.code(r.service)}` : ` · ${notInCatalog(r, m.discoveryLabel, f)}`}`,
    ...(r.service ? { service: r.service } : {}),
  }));

  const nodeGroup = m.blockers.filter((b) => b.nodeGroups);
  const other = m.blockers.filter((b) => !b.nodeGroups);
  const missing = (b: DigestModel['blockers'][number]) =>
    b.arm64Nodes?.total
      ? `; missing on ${b.arm64Nodes.missing} of ${b.arm64Nodes.total} arm64 nodes`
      : b.untoleratedTaint
        ? '; no arm64 node yet'
        : '';
  const blockerLine = (b: DigestModel['blockers'][number]) =>
    `• ${b.cause}: ${b.workloads.length} workload${b.workloads.length === 1 ? '' : 's'} (${names(b.workloads, 3, f)})${missing(b)}`;
  const blockers = m.blockers.length
    ? [
        ...(nodeGroup.length
          ? [`${f.bold('Block arm64 node groups')} (DaemonSets first, then sidecars):`, ...nodeGroup.slice(0, m.topN).map(blockerLine)]
          : []),
        ...(nodeGroup.length > m.topN ? [`…and ${nodeGroup.length - m.topN} more`] : []),
        ...(other.length ? [`${f.bold('Other blockers')}:`, ...other.slice(0, m.topN).map(blockerLine)] : []),
        ...(other.length > m.topN ? [`…and ${other.length - m.topN} more`] : []),
      ].join('\n')
    : 'No blockers found.';

  const moves = m.moveProblems ?? [];
  const moveProblems = moves.length
    ? [
        `${f.bold(`After a move (last 7 days): ${moves.length} problem${moves.length === 1 ? '' : 's'}`)}:`,
        ...moves.slice(0, m.topN).map((p) => moveProblemLine(p, f)),
        ...(moves.length > m.topN ? [`…and ${moves.length - m.topN} more`] : []),
      ].join('\n')
    : undefined;

  const reasons = new Map<string, string[]>();
  for (const u of m.unknown.workloads) {
    const cause = u.reason.split(':')[0];
    reasons.set(cause, [...(reasons.get(cause) ?? []), u.key]);
  }
  const unreachable = m.clusters.filter((cl) => !cl.ok).map((cl) => cl.name);
  const unknownLines = [
    ...[...reasons].map(([cause, keys]) => `• ${cause}: ${keys.length} (${names(keys, 3, f)})`),
    ...(m.unknown.podsWithoutRequests ? [`• ${m.unknown.podsWithoutRequests} pods request no CPU: left out of the CPU share`] : []),
    ...(unreachable.length ? [`• clusters not counted: ${unreachable.join(', ')}`] : []),
  ];
  const unknown = unknownLines.length
    ? `${f.bold(`Unknown (${m.totals.workloads.unknown} workloads)`)}:\n${unknownLines.join('\n')}`
    : 'Unknown: nothing.';

  const prs = m.prs.length
    ? `${f.bold(`PRs open (${m.prs.length})`)}: ${m.prs
        .slice(0, 10)
        .map((p) => f.link(p.url, `${p.service} #${p.number} (${p.kind})`))
        .join(', ')}${m.prs.length > 10 ? ` and ${m.prs.length - 10} more` : ''}`
    : 'PRs open: none.';

  return {
    title: `arm64 migration digest${scope}, ${m.day}`,
    headline:
      `On arm64: ${f.bold(pct(s.workloads))} of workloads (${w.arm64}/${w.total}) · ${f.bold(pct(s.pods))} of pods (${m.totals.pods.arm64}/${m.totals.pods.total}) · ` +
      `${f.bold(pct(s.cpu))} of requested CPU\nMixed ${w.mixed} · ready to move ${w.ready} · blocked ${w.blocked} · unknown ${w.unknown}`,
    bar: `${progressBar(s.workloads)} ${pct(s.workloads)}`,
    ...(trend ? { trend } : {}),
    clusters,
    changes,
    cost,
    ...(measured ? { measured } : {}),
    namespaces: `${f.bold('Most left, by namespace')}: ${groups(m.namespaces, m.topN)}`,
    teams: `${f.bold('Most left, by team')}: ${groups(m.teams, m.topN)}`,
    readyTitle: `Ready to move today (${m.readyCount}): all images publish linux/arm64, not on arm64 yet`,
    ready,
    ...(m.readyCount > ready.length
      ? { readyMore: `…and ${m.readyCount - ready.length} more (${f.code('archshift digest --print --json')} lists all)` }
      : {}),
    blockers,
    ...(moveProblems ? { moveProblems } : {}),
    unknown,
    prs,
    footer: `Generated ${m.generatedAt} · shares count workloads fully on arm64; pods and CPU by the node they run on`,
  };
}

/** The whole digest as plain text (terminal, README) or mrkdwn. */
export function renderDigestText(m: DigestModel, style: TextStyle = 'terminal'): string {
  const p = digestParts(m, style);
  return [
    p.title,
    '',
    p.headline,
    p.bar,
    ...(p.trend ? [p.trend] : []),
    '',
    p.clusters,
    p.changes,
    p.cost,
    ...(p.measured ? [p.measured] : []),
    '',
    p.namespaces,
    p.teams,
    '',
    p.readyTitle,
    ...(p.ready.length ? p.ready.map((r) => `• ${r.line}`) : ['• none']),
    ...(p.readyMore ? [p.readyMore] : []),
    '',
    p.blockers,
    '',
    ...(p.moveProblems ? [p.moveProblems, ''] : []),
    p.unknown,
    '',
    p.prs,
  ].join('\n');
}

/** One line for `/arm64 status` and notification text. */
export function renderStatusLine(m: Pick<DigestModel, 'shares' | 'totals' | 'trend' | 'clusters' | 'team'>): string {
  const s: Shares = m.shares;
  const w = m.totals.workloads;
  const down = m.clusters.filter((c) => !c.ok).map((c) => c.name);
  return (
    `arm64${m.team ? ` (${m.team})` : ''}: ${pct(s.workloads)} of workloads (${w.arm64}/${w.total}), ${pct(s.pods)} of pods, ${pct(s.cpu)} of CPU` +
    `${m.trend.yesterday ? `, ${delta(s.workloads, m.trend.yesterday.workloads)} vs yesterday` : ''}; ready ${w.ready}, blocked ${w.blocked}, unknown ${w.unknown}` +
    (down.length ? `; NOT COUNTED (unreachable): ${down.join(', ')}` : '')
  );
}
