// The PR description: what the readiness check found, the table of changes with their evidence, what
// this PR could not change and what must happen next, the order to merge the service's PRs in, and a
// checklist for the reviewer.
import type { Actor } from '../auth/actor.ts';
import type { Ecosystem, Finding, Report, Severity } from '../readiness/report.ts';
import { personName } from '../render/people.ts';
import { CHANGE_KINDS, type ChangeKind, type PlannedChange } from './planner.ts';

export interface SiblingPr {
  repo: string;
  url?: string;
  number?: number;
  state?: string;
}

export interface PrBodyInput {
  report: Report;
  change: PlannedChange;
  /** Changed files only (paths); unchanged ones are left out of the table. */
  changedFiles: string[];
  /** The service's other planned or recorded PRs, for the merge order. */
  siblings: Partial<Record<ChangeKind, SiblingPr>>;
  image: string;
  draftReason?: string;
  requestedBy?: Actor;
  /** What the editors said while editing (e.g. "already has classifier linux-aarch_64"). */
  notes?: string[];
}

/** The findings each kind of PR answers for: those left open are listed as not changed. */
const scope: Record<ChangeKind, ReadonlySet<Ecosystem>> = {
  base: new Set(['dockerfile', 'image']),
  deps: new Set(['jvm', 'python', 'node', 'go', 'native']),
  pipeline: new Set(['pipeline']),
  selectors: new Set(['kubernetes', 'system']),
};

/** Findings in this PR's scope that still stop or cloud the move and that this PR does not fix. */
function leftOpen(report: Report, change: PlannedChange): Finding[] {
  const fixed = new Set(change.files.flatMap((f) => f.findings));
  const open = report.findings.filter(
    (f) => scope[change.kind].has(f.ecosystem) && !fixed.has(f) && f.severity !== 'info' && (f.severity !== 'warning' || f.fix),
  );
  const rank: Severity[] = ['blocker', 'unknown', 'change', 'warning'];
  return open.sort((a, b) => rank.indexOf(a.severity) - rank.indexOf(b.severity));
}

const step: Record<ChangeKind, string> = {
  base: 'Base image: the image must build from an arm64-capable base.',
  deps: 'Dependencies: versions that ship arm64 native code.',
  pipeline: 'Pipeline: `mustBuildARM64: true`, so each release publishes `linux/arm64`.',
  selectors: 'Scheduling: nodeSelector + toleration, so pods move to arm64 nodes. Merge only after the image tag publishes `linux/arm64`.',
};

const checks: Record<ChangeKind, string[]> = {
  base: ['The image builds and its tests pass on the new base', 'Runtime flags and paths still match (JDK/distro differences)'],
  deps: ['The lockfile was regenerated if there is one', 'Tests pass with the bumped versions'],
  pipeline: ['The next pipeline run publishes a multi-arch tag (`linux/amd64` and `linux/arm64`)'],
  selectors: [
    '`docker buildx imagetools inspect <image:tag>` lists `linux/arm64`',
    'arm64 nodes have capacity for the replicas',
    'Dashboards/alerts watched for an hour after rollout',
  ],
};

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function summary(report: Report): string {
  const counts = new Map<Severity, number>();
  for (const f of report.findings) counts.set(f.severity, (counts.get(f.severity) ?? 0) + 1);
  const parts = (['blocker', 'unknown', 'change', 'warning'] as const)
    .filter((s) => counts.get(s))
    .map((s) => `${counts.get(s)} ${s}${counts.get(s)! > 1 ? 's' : ''}`);
  return `**${report.verdict}**${parts.length ? ` (${parts.join(', ')})` : ''}, checked ${report.checkedAt}`;
}

export function prBody(input: PrBodyInput): string {
  const { report, change } = input;
  const lines: string[] = [];
  lines.push(`Readiness of \`${report.service}\` for arm64: ${summary(report)}.`, '');
  if (input.draftReason)
    lines.push(
      `> [!WARNING]`,
      `> **Draft on purpose:** ${input.draftReason} Scheduling pods on arm64 nodes before that would crash-loop them. archshift marks this PR ready when you run \`/arm64 pr ${report.service} selectors\` again after the image publishes \`linux/arm64\`.`,
      '',
    );
  lines.push('### Changes', '', '| File | Change | Evidence |', '|---|---|---|');
  for (const file of change.files.filter((f) => input.changedFiles.includes(f.path))) {
    const evidence = file.findings.map((f) => `${f.evidence.line ? `line ${f.evidence.line}: ` : ''}${f.title}`).join('; ') || '—';
    lines.push(`| \`${cell(file.path)}\` | ${cell(file.describe.join('; '))} | ${cell(evidence)} |`);
  }
  const open = leftOpen(report, change);
  if (open.length || input.notes?.length) {
    lines.push('', '### Not changed by this PR, and what must happen next', '');
    for (const f of open.slice(0, 15)) {
      const where = f.evidence.file ? ` (\`${f.evidence.file}${f.evidence.line ? `:${f.evidence.line}` : ''}\`)` : '';
      lines.push(`- **${f.severity}** ${f.title}${where}${f.fix ? `. Next: ${f.fix}` : ''}`);
    }
    if (open.length > 15) lines.push(`- … and ${open.length - 15} more in the readiness report.`);
    for (const n of input.notes ?? []) lines.push(`- ${n}`);
  }
  lines.push('', '### Merge order', '');
  CHANGE_KINDS.forEach((kind, i) => {
    const s = input.siblings[kind];
    const where =
      kind === change.kind
        ? ' ← **this PR**'
        : s?.url
          ? ` — [${s.repo}#${s.number}](${s.url})${s.state && s.state !== 'open' ? ` (${s.state})` : ''}`
          : ' — not needed or not opened';
    lines.push(`${i + 1}. ${step[kind]}${where}`);
  });
  lines.push('', `Nothing reaches arm64 nodes until step 4, and step 4 waits until \`${input.image}\` publishes \`linux/arm64\`.`, '');
  lines.push('### Checklist', '');
  for (const c of [...checks[change.kind], 'Merged after the PRs above it in the merge order']) lines.push(`- [ ] ${c}`);
  lines.push(
    '',
    `<sub>Opened by archshift${input.requestedBy ? ` for ${personName(input.requestedBy, 'github')}` : ''}. Re-running \`/arm64 pr ${report.service} ${change.kind}\` updates this PR; if you push to \`${change.branch}\` yourself, archshift leaves the branch alone.</sub>`,
  );
  return lines.join('\n');
}
