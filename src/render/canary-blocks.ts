// Renders a canary record: the Block Kit progress message (weight bar, step and next check, amd64 vs
// arm64 metrics against thresholds, readiness, buttons) and the same content as terminal text. Only
// formats what the controller decided; never judges.
import { arm64OnlyPrButton } from './pr-buttons.ts';
import { builtinTemplates, cpuRatio, upgradeMeasurement } from '../canary/analysis.ts';
import type { CanaryThresholds } from '../canary/config.ts';
import type { MetricTemplate } from '../canary/metrics.ts';
import { TERMINAL, type CanaryRecord } from '../canary/controller.ts';
import { formatDuration } from '../canary/plan.ts';
import type { Precondition, PreconditionFix, PreconditionReport, Readiness } from '../canary/preconditions.ts';
import { PRECONDITION_NAMES, preconditionText } from './canary-preconditions.ts';
import { arm64OnlyHint, command, formatValue, limitText, outcomeText, type CanarySurface } from './canary-events.ts';
import { personName } from './people.ts';

export const CANARY_ACTIONS = ['canary_pause', 'canary_resume', 'canary_promote', 'canary_rollback'] as const;
export type CanaryAction = (typeof CANARY_ACTIONS)[number];

const PHASE_LABEL: Record<CanaryRecord['phase'], string> = {
  'awaiting-start': '✋ waiting for approval to start',
  progressing: '🟢 progressing',
  'awaiting-increase': '✋ waiting for approval to increase',
  'awaiting-promotion': '✋ waiting for approval to promote',
  paused: '⏸ paused',
  'rolling-back': '⚠ rolling back',
  promoted: '🎉 promoted',
  'rolled-back': '↩ rolled back',
};

/** The split as a bar; both percentages padded so the bar stays put from 0 % to 100 %. */
export function weightBar(arm64: number, width = 20): string {
  const filled = Math.round((arm64 / 100) * width);
  const pad = (n: number) => `${n}%`.padStart(4);
  return `amd64 ${pad(100 - arm64)} ${'█'.repeat(width - filled)}${'▒'.repeat(filled)} ${pad(arm64)} arm64`;
}

/** At 100 % arm64 and still checking, the only thing left is the last check: ready to promote. */
const readyToPromote = (r: CanaryRecord) => r.phase === 'progressing' && r.weight === 100;

function phaseLine(r: CanaryRecord, surface: CanarySurface): string {
  const base = readyToPromote(r) ? '✅ ready to promote' : PHASE_LABEL[r.phase];
  if (r.phase === 'paused' && r.pause)
    return `${base} (${r.pause.kind}): ${r.pause.by ? `paused by ${personName(r.pause.by, surface)}` : r.pause.reason}`;
  if (TERMINAL.has(r.phase) || r.phase === 'rolling-back') return `${base}${r.outcome ? `: ${outcomeText(r.outcome, surface)}` : ''}`;
  return base;
}

/** A time as Slack shows it (in each reader's own time zone, the ISO time as fallback), or ISO for the terminal. */
export function when(iso: string, surface: CanarySurface, format = '{date_short_pretty} {time}'): string {
  return surface === 'slack' ? `<!date^${Math.floor(Date.parse(iso) / 1000)}^${format}|${iso}>` : iso;
}

function stepsLine(r: CanaryRecord, slack: boolean): string {
  return r.plan.steps.map((w, i) => (i !== r.stepIndex ? `${w}%` : slack ? `*${w}%*` : `[${w}%]`)).join(' → ');
}

/** Slack renders the time itself (in each reader's zone), so the Slack text does not change as time passes. */
function nextLine(r: CanaryRecord, now: Date, slack: boolean): string | undefined {
  if (!r.nextCheckAt || TERMINAL.has(r.phase)) return undefined;
  const at = Date.parse(r.nextCheckAt);
  const next = slack
    ? `at ${when(r.nextCheckAt, 'slack', '{time}')}`
    : at > now.getTime()
      ? `in ${formatDuration(Math.round((at - now.getTime()) / 1000))} (${r.nextCheckAt})`
      : 'at the next tick';
  const step = r.plan.steps[r.stepIndex + 1];
  const then =
    step !== undefined && r.phase === 'progressing'
      ? `, then ${step}% if it passes`
      : readyToPromote(r)
        ? ', then promoted if it passes'
        : '';
  return `next check ${next}${then}`;
}

const requests = (v?: number) => (v === undefined ? '—' : `${v.toFixed(1)}/s`);

/** A template's thresholds in a cell: "≥ 99%, ≤ 1 pt below amd64", "≤ 500 ms, ≤ 1.2× amd64", or "informational". */
export function thresholdText(m: MetricTemplate): string {
  const higher = m.better === 'higher';
  const parts: string[] = [];
  if (m.min !== undefined) parts.push(`≥ ${limitText(m.min, m.unit)}`);
  if (m.max !== undefined) parts.push(`≤ ${limitText(m.max, m.unit)}`);
  if (m.ratio !== undefined) parts.push(higher ? `≥ amd64 ÷ ${m.ratio}` : `≤ ${m.ratio}× amd64`);
  if (m.difference !== undefined)
    parts.push(`≤ ${limitText(m.difference, m.unit === '%' ? 'pt' : m.unit)} ${higher ? 'below' : 'above'} amd64`);
  return parts.join(', ') || 'informational';
}

/** The templates a record is judged by; records written before templates used the built-ins. */
const templatesOf = (r: CanaryRecord, t: CanaryThresholds) => r.target.metrics ?? builtinTemplates(t);

/** Rows of metric, amd64, arm64, threshold, status (✅/❌/—) for the last check: built-in and business metrics alike. */
export function metricRows(r: CanaryRecord, t: CanaryThresholds): string[][] {
  const last = r.checks.at(-1);
  if (!last) return [];
  const amd = upgradeMeasurement(last.storedBaseline && r.baseline ? r.baseline : last.amd64)!;
  const arm = upgradeMeasurement(last.arm64)!;
  const cell = (v: number | undefined, unit?: string) => (v === undefined ? '—' : formatValue(v, unit));
  const status = (name: string) => {
    const lines = last.lines.filter((l) => l.metric === name);
    return lines.length === 0 ? '—' : lines.every((l) => l.ok) ? '✅' : '❌';
  };
  return [
    ['requests', requests(last.amd64.requestRate), requests(last.arm64.requestRate), '', ''],
    ...templatesOf(r, t).map((m) => [
      m.name,
      cell(amd.values[m.name], m.unit),
      cell(arm.values[m.name], m.unit),
      thresholdText(m),
      status(m.name),
    ]),
  ];
}

/** "arm64 needs 38% less CPU per request": the number that says whether the move pays. */
function cpuNote(ratio: number | undefined): string | undefined {
  if (ratio === undefined) return undefined;
  return ratio <= 1
    ? `arm64 needs ${Math.round((1 - ratio) * 100)}% less CPU per request`
    : `arm64 needs ${Math.round((ratio - 1) * 100)}% more CPU per request`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function readinessText(label: string, r?: Readiness): string {
  return `${label} ${r ? `${r.ready}/${r.desired} ready` : 'unknown'}`;
}

function summary(r: CanaryRecord): string {
  return `Canary ${r.target.service}: ${r.weight}% arm64, ${readyToPromote(r) ? 'ready to promote' : PHASE_LABEL[r.phase]}`;
}

/** The lines of the progress card, shared by Slack and the terminal. */
function bodyLines(
  r: CanaryRecord,
  t: CanaryThresholds,
  now: Date,
  surface: CanarySurface,
): { status: string[]; metrics?: { head: string; table: string; notes: string[] }; footer: string[] } {
  const slack = surface === 'slack';
  const last = r.checks.at(-1);
  const status = [
    weightBar(r.weight),
    `Steps: ${stepsLine(r, slack)}   ·   failed checks ${r.failedChecks}/${r.plan.failedChecksBeforeRollback}`,
    phaseLine(r, surface),
  ];
  const next = nextLine(r, now, slack);
  if (next) status.push(next);
  let metrics;
  if (last) {
    const notes: string[] = [];
    const saving = cpuNote(cpuRatio(upgradeMeasurement(last.storedBaseline ? r.baseline : last.amd64), upgradeMeasurement(last.arm64)!));
    if (saving) notes.push(saving);
    if (last.noData.length) notes.push(`No data: ${last.noData.join('; ')}`);
    metrics = {
      head: `Last check ${when(last.at, surface)} at ${last.weight}% arm64 → ${last.verdict}${last.storedBaseline ? ' (amd64: last measurement with traffic)' : ''}`,
      table: table([['metric', 'amd64', 'arm64', 'threshold', ''], ...metricRows(r, t)]),
      notes,
    };
  }
  const footer = [
    `${readinessText(`amd64 ${r.target.deployments.amd64}`, r.readiness.amd64)}   ·   ${readinessText(`arm64 ${r.target.deployments.arm64}`, r.readiness.arm64)}`,
  ];
  const split =
    r.target.mode === 'replicas' ? `replicas of ${r.target.deployments.amd64} and ${r.target.deployments.arm64}` : r.target.virtualService;
  footer.push(
    `${r.target.cluster ? `cluster ${r.target.cluster} · ` : ''}${r.target.namespace}/${split} · started by ${personName(r.startedBy, surface)} ${when(r.startedAt, surface)}`,
  );
  if (r.phase === 'promoted') footer.push(`Next: ${arm64OnlyHint(r.target.service, surface)}`);
  return { status, metrics, footer };
}

function button(action: CanaryAction, text: string, service: string, confirm: string, style?: 'primary' | 'danger') {
  return {
    type: 'button',
    action_id: action,
    text: { type: 'plain_text', text },
    value: service,
    ...(style ? { style } : {}),
    confirm: {
      title: { type: 'plain_text', text: `${text} ${service}?`.slice(0, 100) },
      text: { type: 'mrkdwn', text: confirm },
      confirm: { type: 'plain_text', text },
      deny: { type: 'plain_text', text: 'Cancel' },
      ...(style === 'danger' ? { style: 'danger' } : {}),
    },
  };
}

/** The buttons that make sense in this phase. */
export function canaryButtons(r: CanaryRecord): unknown[] {
  if (r.phase === 'promoted') return [arm64OnlyPrButton(r.target.service)];
  if (TERMINAL.has(r.phase) || r.phase === 'rolling-back') return [];
  const s = r.target.service;
  const waiting = r.phase.startsWith('awaiting') || r.phase === 'paused';
  const out: unknown[] = [];
  if (!waiting || (r.phase === 'paused' && (r.pause?.kind === 'no-data' || r.pause?.kind === 'not-ready'))) {
    out.push(button('canary_pause', 'Pause', s, `Hold ${s} at ${r.weight}% arm64; nothing moves until someone resumes.`));
  }
  if (waiting)
    out.push(
      button(
        'canary_resume',
        r.phase.startsWith('awaiting') ? 'Approve next step' : 'Resume',
        s,
        `Continue the canary for ${s} from ${r.weight}% arm64.`,
        'primary',
      ),
    );
  out.push(button('canary_promote', 'Promote', s, `Send *100%* of ${s}'s traffic to arm64 now and end the canary.`));
  out.push(
    button('canary_rollback', 'Roll back', s, `Send *100%* of ${s}'s traffic back to amd64 in one step and end the canary.`, 'danger'),
  );
  return out;
}

export function canaryBlocks(r: CanaryRecord, t: CanaryThresholds, now: Date): { text: string; blocks: unknown[] } {
  const b = bodyLines(r, t, now, 'slack');
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: `Canary: ${r.target.service} → arm64 · ${r.weight}%`.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: ['`' + b.status[0] + '`', ...b.status.slice(1)].join('\n') } },
  ];
  if (b.metrics) {
    const m = b.metrics;
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: [m.head, '```' + m.table + '```', ...m.notes].join('\n').slice(0, 3000) },
    });
  }
  blocks.push({ type: 'context', elements: b.footer.map((f) => ({ type: 'mrkdwn', text: f.slice(0, 3000) })) });
  const buttons = canaryButtons(r);
  if (buttons.length) blocks.push({ type: 'actions', block_id: `canary:${r.target.service}`, elements: buttons });
  return { text: summary(r), blocks };
}

export function canaryText(r: CanaryRecord, t: CanaryThresholds, now: Date): string {
  const b = bodyLines(r, t, now, 'terminal');
  const m = b.metrics;
  return [`Canary ${r.target.service}`, ...b.status, ...(m ? ['', m.head, m.table, ...m.notes] : []), '', ...b.footer].join('\n');
}

export function canaryListText(records: CanaryRecord[]): string {
  if (!records.length) return 'No canaries running.';
  return records
    .map(
      (r) =>
        `${r.target.service.padEnd(24)} ${String(r.weight).padStart(3)}% arm64  step ${r.stepIndex + 1}/${r.plan.steps.length}  ${phaseLine(r, 'terminal')}`,
    )
    .join('\n');
}

function preconditionLine(p: Precondition): string {
  return `${p.ok ? '✅' : '❌'} ${preconditionText(p)}`;
}

/** What closes a gap, as the surface says it: one line, then the manifest to apply (if any). */
export function fixText(fix: PreconditionFix, service: string, surface: CanarySurface): { line: string; manifest?: string } {
  const canaryPr = `with \`canary: true\` on ${service} in the catalog, ${command(surface, `pr ${service} selectors`)} opens the PR that adds the -arm64 Deployment, the pod labels and the DestinationRule subsets`;
  switch (fix.kind) {
    case 'canary-pr':
      return fix.manifest ? { line: `${canaryPr}, or apply:`, manifest: fix.manifest } : { line: canaryPr };
    case 'apply':
      return { line: 'apply:', manifest: fix.manifest };
    case 'match-route':
      return { line: 'make the route match:', manifest: fix.manifest };
    case 'catalog':
      return { line: `set catalog.services.${fix.service}.deployment/namespace to the running Deployment` };
    case 'rollout':
      return {
        line: `wait for the rollout (\`kubectl -n ${fix.namespace} rollout status deploy/${fix.deployment}\`) or look at its pods' events`,
      };
    case 'build-arm64':
      return { line: `build the image for linux/arm64 (${command(surface, `check ${service}`)} shows what blocks it)` };
    case 'configure-registry':
      return { line: 'configure the registry section' };
  }
}

export function preconditionsText(service: string, report: PreconditionReport): string {
  const lines = [`Preconditions for ${service}: ${report.ok ? 'all met' : 'not met'}`];
  for (const p of report.items) {
    lines.push(preconditionLine(p));
    if (p.ok || !p.fix) continue;
    const f = fixText(p.fix, service, 'terminal');
    lines.push(...[f.line, ...(f.manifest ? f.manifest.trimEnd().split('\n') : [])].map((l) => `    ${l}`));
  }
  return lines.join('\n');
}

export function preconditionsBlocks(service: string, report: PreconditionReport): { text: string; blocks: unknown[] } {
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*Canary preconditions for ${service}: ${report.ok ? 'all met' : 'not met'}*` } },
  ];
  for (const p of report.items) {
    let text = preconditionLine(p);
    if (!p.ok && p.fix) {
      const f = fixText(p.fix, service, 'slack');
      text += f.manifest ? `\n${f.line}\n\`\`\`${f.manifest.trimEnd()}\`\`\`` : `\n→ ${f.line}`;
    }
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } });
  }
  const summary = `Preconditions for ${service}: ${
    report.ok
      ? 'all met'
      : `not met (${report.items
          .filter((i) => !i.ok)
          .map((i) => PRECONDITION_NAMES[i.check])
          .join(', ')})`
  }`;
  return { text: summary.slice(0, 3000), blocks: blocks.slice(0, 50) };
}
