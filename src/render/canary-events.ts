// The words for canary events, outcomes and refusals, per surface: Slack (mentions, emoji, `/arm64 …`)
// or the terminal (names, `archshift …`). The controller emits facts (src/canary/events.ts); this is the
// one wording table, tested once in test/render/canary-events.test.ts.
import { PreconditionsError, type CanaryError } from '../canary/controller.ts';
import type { CanaryEvent, Outcome, RecordedLine } from '../canary/events.ts';
import type { CheckLine } from '../canary/metrics.ts';
import { formatDuration, GATE_NAMES, type CanaryPlan } from '../canary/plan.ts';
import { PRECONDITION_NAMES, preconditionText } from './canary-preconditions.ts';
import { personName } from './people.ts';

export type CanarySurface = 'slack' | 'terminal';

/** A command as the surface types it: `/arm64 canary api resume` in Slack, `archshift canary api resume` in a terminal. */
export function command(surface: CanarySurface, args: string): string {
  return surface === 'slack' ? `\`/arm64 ${args}\`` : `\`archshift ${args}\``;
}

export function describePlan(plan: CanaryPlan): string {
  const gates = Object.entries(GATE_NAMES)
    .filter(([, k]) => plan.gates[k])
    .map(([n]) => n);
  return (
    `${plan.steps.join(' → ')}% arm64, every ${formatDuration(plan.intervalSeconds)}, rollback after ${plan.failedChecksBeforeRollback} failed check${plan.failedChecksBeforeRollback === 1 ? '' : 's'}` +
    (gates.length ? `, approval before ${gates.join(', ')}` : '')
  );
}

/** What to do after a promotion: the PR that moves the main Deployment itself to arm64. */
export function arm64OnlyHint(service: string, surface: CanarySurface): string {
  const where = surface === 'slack' ? 'the "Open the arm64-only PR" button (or ' : '';
  return `${where}\`canary: false\` on ${service} in the catalog, then ${command(surface, `pr ${service} selectors`)}${surface === 'slack' ? ')' : ''} opens the PR that moves the main Deployment to arm64, after which the -arm64 copy and the subsets can go`;
}

/** Why a canary ended, in a phrase: "promoted by Alice", "automatic rollback after 2 failed checks: …". */
export function outcomeText(o: Outcome, surface: CanarySurface): string {
  if ('recorded' in o) return o.recorded;
  if ('by' in o) return `${o.result === 'promoted' ? 'promoted' : 'rolled back'} by ${personName(o.by, surface)}`;
  switch (o.cause) {
    case 'checks-passed':
      return 'every check passed up to 100% arm64';
    case 'failed-checks':
      return `automatic rollback after ${o.failedChecks} failed checks: ${o.failed.map(checkLineText).join('; ')}`;
    case 'arm64-unready':
      return `automatic rollback: ${o.deployment} has no ready replicas while taking ${o.weight}% of traffic`;
  }
}

const replicaText = (c: { amd64: number; arm64: number }) => `${c.amd64} amd64 / ${c.arm64} arm64 replicas`;

/** A metric value with its unit: percentages with two decimals, other numbers by their size. */
export function formatValue(v: number, unit?: string): string {
  if (!Number.isFinite(v)) return String(v);
  if (unit === '%') return `${v.toFixed(2)}%`;
  const a = Math.abs(v);
  const n = Number.isInteger(v) || a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 0.01 ? v.toFixed(2) : v.toPrecision(2);
  return unit ? `${n} ${unit}` : n;
}

/** A limit as configured (no rounding), with its unit. */
export function limitText(n: number, unit?: string): string {
  return unit === '%' ? `${n}%` : unit ? `${n} ${unit}` : String(n);
}

/** A difference in the metric's unit: percentages differ by points. */
const diffUnit = (unit?: string) => (unit === '%' ? 'pt' : unit);

/** One comparison of a check: "p99 latency: arm64 812 ms > 500 ms", "success rate: arm64 98.50% is 1.40 points below amd64's 99.90% (max 1)". */
export function checkLineText(l: CheckLine | RecordedLine): string {
  if ('text' in l) return l.text;
  const arm = formatValue(l.arm64, l.unit);
  const amd = l.amd64 === undefined ? '' : formatValue(l.amd64, l.unit);
  const higher = l.better === 'higher';
  switch (l.bound) {
    case 'min':
      return `${l.metric}: arm64 ${arm} ${l.ok ? '≥' : '<'} ${limitText(l.limit, l.unit)}`;
    case 'max':
      return `${l.metric}: arm64 ${arm} ${l.ok ? '≤' : '>'} ${limitText(l.limit, l.unit)}`;
    case 'ratio':
      return higher
        ? `${l.metric}: amd64's ${amd} is ${l.observed!.toFixed(2)}× arm64's ${arm} (max ${l.limit}×)`
        : `${l.metric}: arm64 ${arm} is ${l.observed!.toFixed(2)}× amd64's ${amd} (max ${l.limit}×)`;
    case 'difference': {
      const d = l.observed!;
      const side = d > 0 === higher ? 'below' : 'above';
      const by = d === 0 ? 'equal to' : `${formatValue(Math.abs(d), diffUnit(l.unit))} ${side}`;
      return `${l.metric}: arm64 ${arm} is ${by} amd64's ${amd} (max ${limitText(l.limit, diffUnit(l.unit))} ${higher ? 'below' : 'above'})`;
    }
  }
}

/** One thread reply (Slack) or log line (terminal) per event. */
export function canaryEventText(e: CanaryEvent, service: string, surface: CanarySurface): string {
  const slack = surface === 'slack';
  const icon = (emoji: string) => (slack ? `${emoji} ` : '');
  const who = (a: Parameters<typeof personName>[0]) => personName(a, surface);
  switch (e.kind) {
    case 'started':
      return `${icon('🚀')}Canary started by ${who(e.by)}: ${describePlan(e.plan)}.`;
    case 'continuing':
      return `The VirtualService already sends ${e.weight}% to arm64; continuing from there.`;
    case 'awaiting-approval':
      return e.gate === 'start'
        ? `${icon('✋')}Waiting for approval to send ${e.to}% to arm64: ${command(surface, `canary ${service} resume`)}.`
        : `${icon('✋')}Checks pass at ${e.weight}% arm64. Waiting for approval to move to ${e.to}%: resume${e.to === 100 ? ' (or promote to finish now)' : ''}.`;
    case 'approved':
      return `${icon('▶')}${who(e.by)} approved the move to ${e.to}% arm64.`;
    case 'paused':
      return `${icon('⏸')}Paused by ${who(e.by)} at ${e.weight}% arm64.`;
    case 'resumed':
      return `${icon('▶')}Resumed by ${who(e.by)} at ${e.weight}% arm64; checking at the next tick.`;
    case 'adopted':
      return `${icon('▶')}Resumed by ${who(e.by)}, taking the VirtualService's current ${e.amd64}/${e.arm64} split as the new starting point.`;
    case 'moved':
      return `${icon('➡')}Step ${e.step}/${e.steps}: arm64 ${e.from}% → ${e.to}%${e.replicas ? ` (${replicaText(e.replicas)})` : ''}. Next check in ${formatDuration(e.nextCheckSeconds)}.`;
    case 'scaling':
      return `${icon('⏳')}Moving to ${e.to}% arm64: ${e.deployment} is scaled to ${e.desired} replicas (${e.ready} ready); the other side is scaled down once they are all ready.`;
    case 'move-refused':
      return `${icon('⏸')}Could not move to ${e.to}%: ${e.detail}. Weights unchanged at ${e.from}% arm64${e.retry === 'auto' ? '; re-checking every interval' : '; resume to retry'}.`;
    case 'check-failed':
      return `${icon('❌')}Check failed at ${e.weight}% arm64 (${e.failedChecks}/${e.limit}): ${e.failed.map(checkLineText).join('; ')}.`;
    case 'holding':
      return e.reason === 'no-data'
        ? `${icon('⏸')}No data at ${e.weight}% arm64, holding (not a failure, not a pass): ${e.missing.join('; ')}. Re-checking every ${formatDuration(e.intervalSeconds)}.`
        : `${icon('⏸')}Metrics pass, but ${e.deployment} has ${e.ready}/${e.desired} replicas ready; holding at ${e.weight}% until it is ready.`;
    case 'recovered':
      return `${icon('▶')}${e.reason === 'no-data' ? 'Data is back' : `${e.deployment} is ready`}; continuing.`;
    case 'settled':
      return e.applied
        ? `${icon('🔁')}Recovered: the move to ${e.to}% arm64 had been applied before the interruption.`
        : `${icon('🔁')}Recovered: the move to ${e.to}% arm64 had not been applied; still at ${e.weight}%.`;
    case 'conflict':
      return `${icon('⚠')}${e.detail}. Paused; nothing more is changed until someone resumes (which adopts the cluster's split) or rolls back.`;
    case 'cluster-unreadable':
      return `${icon('⚠')}Cannot read the cluster: ${e.detail}. Retrying every tick; no weight changes meanwhile.`;
    case 'cluster-back':
      return 'The cluster answers again.';
    case 'rollback-pending':
      return `${icon('⚠')}Rollback not applied yet: ${e.detail}. Retrying every tick.`;
    case 'finished':
      return e.outcome.result === 'promoted'
        ? `${icon('🎉')}Promoted (${outcomeText(e.outcome, surface)}): ${e.replicas ? `every replica on arm64 (${replicaText(e.replicas)})` : '100% of traffic on arm64'}. Next: ${arm64OnlyHint(service, surface)}.`
        : `${icon('↩')}Rolled back (${outcomeText(e.outcome, surface)}): ${e.replicas ? `every replica back on amd64 (${replicaText(e.replicas)})` : '100% of traffic on amd64'}.`;
  }
}

/** A refused verb, with who and what to type next where that helps. */
export function canaryErrorText(err: CanaryError, surface: CanarySurface): string {
  const r = err.refusal;
  const s = err.service;
  switch (r.code) {
    case 'already-running':
      return `a canary for ${s} is already running (${r.phase} at ${r.weight}% arm64), started by ${personName(r.startedBy, surface)}: ${command(surface, `canary ${s} status`)}`;
    case 'no-canary':
      return `no canary for ${s}: ${command(surface, `canary ${s} start`)}`;
    case 'ended':
      return `the canary for ${s} already ended (${r.phase}); nothing to ${r.verb}${r.outcome ? ` (${outcomeText(r.outcome, surface)})` : ''}`;
    case 'rolling-back':
      return `${s} is rolling back; it cannot ${r.verb}${r.verb === 'resume' ? '; start a new canary afterwards' : ''}`;
    case 'already-paused':
      return `${s} is already paused: ${r.reason}`;
    case 'not-waiting':
      return `${s} is ${r.phase}, not paused or waiting for approval`;
    case 'cluster-unreadable':
      return `cannot ${r.verb === 'start' ? 'start the canary' : 'check the preconditions'} for ${s}: ${r.detail}. Nothing was changed; try again once the cluster answers.`;
    case 'route-missing':
      return `VirtualService ${r.namespace}/${r.name} no longer exists; roll back or recreate it`;
    case 'route-invalid':
      return `${r.detail}; fix it before resuming`;
    case 'not-promoted':
      return `not promoted: ${r.detail}`;
    case 'preconditions': {
      const report =
        err instanceof PreconditionsError
          ? err.report.items.filter((i) => !i.ok).map(preconditionText)
          : r.failed.map((c) => PRECONDITION_NAMES[c]);
      return `the canary for ${s} cannot start: ${report.join('; ')}`;
    }
    case 'metrics-invalid':
      return `the canary for ${s} cannot start: ${r.invalid.map((q) => `Prometheus cannot parse the query of metric "${q.where}" (${q.query}): ${q.error}`).join('; ')}. Nothing was changed; fix the template in canary.metrics or catalog.services.${s}.metrics.`;
    case 'busy':
      return `the canary for ${s} is being moved by another replica right now; try again`;
    case 'locked':
      return `the canary for ${s} is driven by ${r.owner} until ${r.until}`;
    case 'stateful-job':
      return `${s} is a Flink job: its canary is refused, since its parallelism and keyed state move with a savepoint and a restart, not a split by replicas. Move it with a savepoint instead: take a savepoint, stop the job, start it on arm64 from that savepoint (the Flink Kubernetes operator does this when its FlinkDeployment's nodeSelector changes with upgradeMode: savepoint), and keep the savepoint to go back`;
  }
}
