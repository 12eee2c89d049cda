// The canary state machine. All state lives in the store's `canaries` section (one record per service),
// so a restarted bot resumes where it was; a scheduler calls tick() on the leader with an injected
// clock. Every weight change is one merge patch of the VirtualService, written ahead in the store,
// read back and verified; rollback puts arm64 at 0 in one patch. Only the instance holding a canary's
// lock (owner id + expiry in its record) drives it.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Prometheus } from '../adapters/prometheus.ts';
import { istio, KubeError, type KubeCluster } from '../adapters/kubernetes.ts';
import type { Section, Store } from '../adapters/store.ts';
import type { Catalog } from '../config/catalog.ts';
import { UserError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { canariesByPhase } from '../ops/metrics.ts';
import type { ImageInspector } from '../readiness/image-types.ts';
import { evaluate, measure, type CheckLine, type Measurement, type Verdict } from './analysis.ts';
import type { CanaryConfig } from './config.ts';
import { buildPlan, describePlan, formatDuration, type CanaryPlan, type PlanOverrides } from './plan.ts';
import {
  checkPreconditions,
  isReady,
  prHints,
  readinessOf,
  readSplit,
  splitPatch,
  targetFor,
  type CanaryTarget,
  type Destination,
  type PreconditionReport,
  type Readiness,
  type Split,
  type VirtualService,
} from './preconditions.ts';

export const PHASES = ['awaiting-start', 'progressing', 'awaiting-increase', 'awaiting-promotion', 'paused', 'rolling-back', 'promoted', 'rolled-back'] as const;
export type Phase = (typeof PHASES)[number];

/** no-data and not-ready pauses re-check every interval and resume on their own; the others wait for a human. */
export type PauseKind = 'manual' | 'no-data' | 'not-ready' | 'conflict' | 'patch-failed';

export interface StepCheck {
  at: string;
  weight: number;
  verdict: Verdict;
  amd64: Measurement;
  arm64: Measurement;
  /** True when amd64 had no traffic and the last good amd64 measurement was the baseline. */
  storedBaseline: boolean;
  lines: CheckLine[];
  noData: string[];
}

export interface CanaryRecord {
  target: CanaryTarget;
  plan: CanaryPlan;
  phase: Phase;
  pause?: { kind: PauseKind; reason: string; since: string; resumeTo: Phase };
  /** arm64 weight as last verified in the cluster. */
  weight: number;
  /** Index in plan.steps of the current weight; -1 before the first step. */
  stepIndex: number;
  failedChecks: number;
  nextCheckAt?: string;
  /** Written before a patch and cleared once it is verified, so a restart can tell whether it landed. */
  pending?: { weight: number; stepIndex: number; phase: Phase; at: string };
  /** The route as archshift last wrote or verified it: anything else in the cluster is someone else's edit. */
  written?: { route: Destination[]; resourceVersion?: string };
  checks: StepCheck[];
  /** The last amd64 measurement with data: the baseline once amd64 gets no traffic. */
  baseline?: Measurement;
  readiness: { amd64?: Readiness; arm64?: Readiness };
  channel: string;
  message?: MessageRef;
  owner?: { id: string; until: string };
  startedBy: string;
  startedAt: string;
  updatedAt: string;
  endedAt?: string;
  /** Why it ended (or is rolling back), in a sentence. */
  outcome?: string;
  /** The last cluster error seen by tick(), reported once rather than every tick. */
  lastError?: string;
}

export type Canaries = Record<string, CanaryRecord>;

/** Where a surface shows a canary's progress (a Slack channel and message timestamp); opaque here. */
export interface MessageRef {
  channel: string;
  ts: string;
}

export const TERMINAL: ReadonlySet<Phase> = new Set(['promoted', 'rolled-back']);
const AUTO_RESUME: ReadonlySet<PauseKind> = new Set(['no-data', 'not-ready']);
const MAX_CHECKS = 200;

export class CanaryError extends UserError {}
export class CanaryLockedError extends CanaryError {}
export class PreconditionsError extends CanaryError {
  constructor(
    readonly service: string,
    readonly report: PreconditionReport,
  ) {
    super(`the canary for ${service} cannot start: ${report.items.filter((i) => !i.ok).map((i) => `${i.name}: ${i.detail}`).join('; ')}`);
  }
}

/** Where progress goes: one message per canary, updated in place, with events as thread replies. */
export interface CanaryNotifier {
  /** Posts the message the first time (returning where), updates it afterwards. */
  progress(rec: CanaryRecord, now: Date): Promise<MessageRef>;
  event(rec: CanaryRecord, text: string): Promise<void>;
}

export interface CanaryControllerOptions {
  config: CanaryConfig;
  catalog: Catalog;
  store: Store;
  /** The cluster a service lives in (Kubernetes.cluster). */
  cluster(name?: string): KubeCluster;
  prometheus: Prometheus;
  images?: ImageInspector;
  clock: Clock;
  notifier?: CanaryNotifier;
  logger?: Logger;
  /** Progress goes to the service's channel, else here. */
  defaultChannel: string;
  ownerId?: string;
  /** Leader election hook: only the leader ticks. */
  isLeader?(): boolean | Promise<boolean>;
  /**
   * True when this instance holds the Lease of leader election. The Lease guarantees a single leader,
   * so a lock left by a previous leader (a crashed replica) is taken over at once instead of blocking
   * ticks and rollbacks until it expires. Without election, locks keep a bot and a CLI apart.
   */
  leaseHolder?(): boolean | Promise<boolean>;
}

type MoveResult = { ok: true } | { ok: false; kind: 'conflict' | 'refused' | 'not-ready'; message: string };

/** Key order does not change what a route means; compare canonically. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Index of the last step not above `weight`; -1 when the weight is below the first step. */
function stepAtOrBelow(steps: number[], weight: number): number {
  let i = -1;
  while (i + 1 < steps.length && steps[i + 1] <= weight) i++;
  return i;
}

export class CanaryController {
  readonly ownerId: string;
  private readonly section: Section<Canaries>;
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly o: CanaryControllerOptions) {
    this.ownerId = o.ownerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.section = o.store.section<Canaries>('canaries', () => ({}));
  }

  get config(): CanaryConfig {
    return this.o.config;
  }

  status(service: string): CanaryRecord | undefined {
    return this.section.get()[service];
  }

  /** Canaries that are not finished, oldest first. */
  list(): CanaryRecord[] {
    return Object.values(this.section.get())
      .filter((r) => !TERMINAL.has(r.phase))
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  /** Checks the preconditions without moving anything. */
  async preconditions(service: string): Promise<PreconditionReport> {
    const target = targetFor(this.o.catalog.resolve(service), this.o.config);
    return this.readPreconditions(target, `cannot check the preconditions of ${service}`);
  }

  /** The preconditions, or a CanaryError that names the cluster when it cannot be read (nothing was changed yet). */
  private async readPreconditions(target: CanaryTarget, what: string): Promise<PreconditionReport> {
    try {
      return await checkPreconditions(this.o.cluster(target.cluster), target, this.o.images);
    } catch (err) {
      if (err instanceof KubeError) throw new CanaryError(`${what}: ${err.message}. Nothing was changed; try again once the cluster answers.`);
      throw err;
    }
  }

  async start(service: string, overrides: PlanOverrides, actor: string): Promise<CanaryRecord> {
    const entry = this.o.catalog.resolve(service);
    const plan = buildPlan(this.o.config, overrides);
    return this.serial(service, async () => {
      const existing = this.section.get()[service];
      if (existing && !TERMINAL.has(existing.phase)) {
        throw new CanaryError(`a canary for ${service} is already running (${existing.phase} at ${existing.weight}% arm64, started by ${mention(existing.startedBy)}): \`/arm64 canary ${service} status\``);
      }
      const target = targetFor(entry, this.o.config);
      const report = await this.readPreconditions(target, `cannot start the canary for ${service}`);
      if (!report.ok || !report.split) throw new PreconditionsError(service, report);
      const now = this.now();
      const split = report.split;
      const rec: CanaryRecord = {
        target,
        plan,
        phase: plan.gates.beforeStart ? 'awaiting-start' : 'progressing',
        weight: split.arm64,
        // A route already partly on arm64 (an earlier, interrupted canary) continues from there.
        stepIndex: stepAtOrBelow(plan.steps, split.arm64),
        failedChecks: 0,
        written: { route: split.route, resourceVersion: report.vs?.metadata?.resourceVersion },
        checks: [],
        readiness: {},
        channel: entry.channel ?? this.o.defaultChannel,
        startedBy: actor,
        startedAt: now.toISOString(),
        updatedAt: now.toISOString(),
      };
      await this.section.update((d) => {
        d[service] = rec;
      });
      return this.driveNow(service, async (r, ev) => {
        ev.push(`🚀 Canary started by ${mention(actor)}: ${describePlan(plan)}.`);
        if (r.phase === 'awaiting-start') ev.push(`✋ Waiting for approval to send ${plan.steps[0]}% to arm64: \`/arm64 canary ${service} resume\`.`);
        else if (r.stepIndex < 0) await this.advance(r, 0, ev);
        else {
          r.nextCheckAt = this.after(r.plan.intervalSeconds);
          ev.push(`The VirtualService already sends ${r.weight}% to arm64; continuing from there.`);
        }
      });
    });
  }

  pause(service: string, actor: string): Promise<CanaryRecord> {
    return this.drive(service, async (r, ev) => {
      if (r.phase === 'paused' && !AUTO_RESUME.has(r.pause!.kind)) throw new CanaryError(`${service} is already paused: ${r.pause!.reason}`);
      this.requireActive(r, 'pause');
      if (r.phase === 'rolling-back') throw new CanaryError(`${service} is rolling back; it cannot be paused`);
      this.setPaused(r, 'manual', `paused by ${mention(actor)}`);
      ev.push(`⏸ Paused by ${mention(actor)} at ${r.weight}% arm64.`);
    });
  }

  resume(service: string, actor: string): Promise<CanaryRecord> {
    return this.drive(service, async (r, ev) => {
      this.requireActive(r, 'resume');
      const from = r.phase === 'paused' ? r.pause!.resumeTo : r.phase;
      if (r.phase === 'paused' && r.pause!.kind === 'conflict') {
        // Someone else set the weights: take the cluster's split as the truth and carry on from it.
        const { vs, split } = await this.readRoute(r);
        r.weight = split.arm64;
        r.stepIndex = stepAtOrBelow(r.plan.steps, split.arm64);
        r.written = { route: split.route, resourceVersion: vs.metadata?.resourceVersion };
        r.pause = undefined;
        r.phase = 'progressing';
        r.nextCheckAt = this.after(r.plan.intervalSeconds);
        ev.push(`▶ Resumed by ${mention(actor)}, taking the VirtualService's current ${split.amd64}/${split.arm64} split as the new starting point.`);
        return;
      }
      if (r.phase === 'rolling-back') throw new CanaryError(`${service} is rolling back; start a new canary afterwards`);
      if (from === 'awaiting-start' || from === 'awaiting-increase' || from === 'awaiting-promotion') {
        r.pause = undefined;
        r.phase = 'progressing';
        ev.push(`▶ ${mention(actor)} approved the move to ${r.plan.steps[r.stepIndex + 1]}% arm64.`);
        await this.advance(r, r.stepIndex + 1, ev);
        return;
      }
      if (r.phase !== 'paused') throw new CanaryError(`${service} is ${r.phase}, not paused or waiting for approval`);
      r.pause = undefined;
      r.phase = 'progressing';
      r.nextCheckAt = this.now().toISOString();
      ev.push(`▶ Resumed by ${mention(actor)} at ${r.weight}% arm64; checking at the next tick.`);
    });
  }

  /** Skips the remaining steps: 100% arm64 now, and the canary ends promoted. */
  promote(service: string, actor: string): Promise<CanaryRecord> {
    return this.drive(service, async (r, ev) => {
      this.requireActive(r, 'promote');
      if (r.phase === 'rolling-back') throw new CanaryError(`${service} is rolling back; it cannot be promoted`);
      const res = await this.move(r, 100, { stepIndex: r.plan.steps.length - 1, phase: 'promoted' });
      if (!res.ok) {
        if (res.kind === 'conflict') this.conflict(r, res.message, ev);
        throw new CanaryError(`not promoted: ${res.message}`);
      }
      this.finish(r, `promoted by ${mention(actor)}`, ev);
    });
  }

  rollback(service: string, actor: string): Promise<CanaryRecord> {
    return this.drive(service, async (r, ev) => {
      this.requireActive(r, 'roll back');
      await this.rollbackNow(r, `rolled back by ${mention(actor)}`, ev);
    });
  }

  /** One pass over every unfinished canary this instance may drive. Called by the scheduler. */
  async tick(): Promise<void> {
    if (this.o.isLeader && !(await this.o.isLeader())) {
      // Only the leader reports, so summing the gauge over replicas counts each canary once.
      canariesByPhase.reset();
      return;
    }
    for (const rec of this.list()) {
      try {
        await this.drive(rec.target.service, (r, ev) => this.step(r, ev));
      } catch (err) {
        if (err instanceof CanaryLockedError) this.o.logger?.debug({ service: rec.target.service }, err.message);
        else this.o.logger?.error({ err, service: rec.target.service }, 'canary tick failed');
      }
    }
    this.reportPhases();
  }

  /** Sets archshift_canaries{phase} from the store, zeros included so a phase that empties reads 0. */
  private reportPhases(): void {
    const counts = new Map<Phase, number>(PHASES.map((p) => [p, 0]));
    for (const r of Object.values(this.section.get())) counts.set(r.phase, (counts.get(r.phase) ?? 0) + 1);
    for (const [phase, n] of counts) canariesByPhase.set({ phase }, n);
  }

  // ---- the state machine ---------------------------------------------------------------------

  private async step(r: CanaryRecord, ev: string[]): Promise<void> {
    if (TERMINAL.has(r.phase)) return;
    const t = r.target;
    const cluster = this.o.cluster(t.cluster);
    let vs: VirtualService | undefined;
    try {
      const [v, amd, arm] = await Promise.all([
        cluster.getCustomObject<VirtualService>(istio.virtualService(t.namespace, t.virtualService)),
        cluster.getDeployment(t.namespace, t.deployments.amd64),
        cluster.getDeployment(t.namespace, t.deployments.arm64),
      ]);
      vs = v;
      r.readiness = { amd64: readinessOf(amd), arm64: readinessOf(arm) };
      if (r.lastError) ev.push(`The cluster answers again.`);
      r.lastError = undefined;
    } catch (err) {
      if (!(err instanceof KubeError)) throw err;
      if (r.lastError !== err.message) ev.push(`⚠ Cannot read the cluster: ${err.message}. Retrying every tick; no weight changes meanwhile.`);
      r.lastError = err.message;
      return;
    }
    const split = vs ? readSplit(vs, t) : `${t.virtualService} no longer exists`;
    if (r.pending) this.recover(r, vs, split, ev);
    else if (r.phase !== 'rolling-back' && !(r.phase === 'paused' && r.pause!.kind === 'conflict') && this.editedElsewhere(r, split)) {
      this.conflict(r, this.describeEdit(r, split), ev);
    }
    if (r.phase === 'rolling-back') {
      await this.rollbackNow(r, r.outcome ?? 'rollback', ev);
      return;
    }
    if (r.weight > 0 && r.readiness.arm64 && r.readiness.arm64.ready === 0) {
      await this.rollbackNow(r, `automatic rollback: ${t.deployments.arm64} has no ready replicas while taking ${r.weight}% of traffic`, ev);
      return;
    }
    const checking = r.phase === 'progressing' || (r.phase === 'paused' && AUTO_RESUME.has(r.pause!.kind));
    if (checking && r.nextCheckAt && this.now().getTime() >= Date.parse(r.nextCheckAt)) await this.check(r, ev);
  }

  private async check(r: CanaryRecord, ev: string[]): Promise<void> {
    const t = r.target;
    const c = this.o.config;
    const now = this.now();
    const opts = { window: c.analysisWindow, minRequestRate: c.minRequestRate, needCpu: c.thresholds.maxCpuRatio !== null || c.thresholds.maxCpuMsPerRequest !== undefined };
    const [amd, arm] = await Promise.all([
      measure(this.o.prometheus, { namespace: t.namespace, deployment: t.deployments.amd64 }, now, opts),
      measure(this.o.prometheus, { namespace: t.namespace, deployment: t.deployments.arm64 }, now, opts),
    ]);
    if (amd.noData.length === 0) r.baseline = amd;
    const storedBaseline = amd.noData.length > 0 && r.baseline !== undefined;
    const result = evaluate(arm, amd.noData.length ? r.baseline : amd, c.thresholds);
    r.checks.push({ at: now.toISOString(), weight: r.weight, verdict: result.verdict, amd64: amd, arm64: arm, storedBaseline, lines: result.lines, noData: result.noData });
    if (r.checks.length > MAX_CHECKS) r.checks.splice(0, r.checks.length - MAX_CHECKS);
    r.nextCheckAt = this.after(r.plan.intervalSeconds);
    const wasWaiting = r.phase === 'paused' ? r.pause! : undefined;

    if (result.verdict === 'fail') {
      r.failedChecks++;
      if (wasWaiting) this.unpause(r);
      const failed = result.lines.filter((l) => !l.ok).map((l) => l.text).join('; ');
      ev.push(`❌ Check failed at ${r.weight}% arm64 (${r.failedChecks}/${r.plan.failedChecksBeforeRollback}): ${failed}.`);
      if (r.failedChecks >= r.plan.failedChecksBeforeRollback) {
        await this.rollbackNow(r, `automatic rollback after ${r.failedChecks} failed checks: ${failed}`, ev);
      }
      return;
    }
    if (result.verdict === 'no-data') {
      const reason = result.noData.join('; ');
      if (wasWaiting?.kind !== 'no-data' || wasWaiting.reason !== reason) {
        ev.push(`⏸ No data at ${r.weight}% arm64, holding (not a failure, not a pass): ${reason}. Re-checking every ${formatDuration(r.plan.intervalSeconds)}.`);
      }
      this.setPaused(r, 'no-data', reason);
      return;
    }
    if (!isReady(r.readiness.arm64)) {
      const why = `${t.deployments.arm64} has ${r.readiness.arm64?.ready ?? 0}/${r.readiness.arm64?.desired ?? '?'} replicas ready`;
      if (wasWaiting?.kind !== 'not-ready') ev.push(`⏸ Metrics pass, but ${why}; holding at ${r.weight}% until it is ready.`);
      this.setPaused(r, 'not-ready', why);
      return;
    }
    if (wasWaiting) {
      this.unpause(r);
      ev.push(`▶ ${wasWaiting.kind === 'no-data' ? 'Data is back' : `${t.deployments.arm64} is ready`}; continuing.`);
    }
    if (r.weight === 100) {
      this.finish(r, `promoted: every check passed up to 100% arm64`, ev);
      return;
    }
    const next = r.stepIndex + 1;
    const gated = r.plan.steps[next] === 100 ? r.plan.gates.beforePromotion : r.plan.gates.beforeIncrease;
    if (gated) {
      r.phase = r.plan.steps[next] === 100 ? 'awaiting-promotion' : 'awaiting-increase';
      r.nextCheckAt = undefined;
      ev.push(`✋ Checks pass at ${r.weight}% arm64. Waiting for approval to move to ${r.plan.steps[next]}%: resume${r.plan.steps[next] === 100 ? ' (or promote to finish now)' : ''}.`);
      return;
    }
    await this.advance(r, next, ev);
  }

  private async advance(r: CanaryRecord, index: number, ev: string[]): Promise<void> {
    const from = r.weight;
    const to = r.plan.steps[index];
    const res = await this.move(r, to, { stepIndex: index, phase: 'progressing' });
    if (res.ok) {
      ev.push(`➡ Step ${index + 1}/${r.plan.steps.length}: arm64 ${from}% → ${to}%. Next check in ${formatDuration(r.plan.intervalSeconds)}.`);
      return;
    }
    if (res.kind === 'conflict') this.conflict(r, res.message, ev);
    else {
      this.setPaused(r, res.kind === 'not-ready' ? 'not-ready' : 'patch-failed', res.message);
      ev.push(`⏸ Could not move to ${to}%: ${res.message}. Weights unchanged at ${from}% arm64${res.kind === 'not-ready' ? '; re-checking every interval' : '; resume to retry'}.`);
    }
  }

  private async rollbackNow(r: CanaryRecord, reason: string, ev: string[]): Promise<void> {
    const firstAttempt = r.phase !== 'rolling-back';
    r.phase = 'rolling-back';
    r.pause = undefined;
    r.outcome = reason;
    const res = await this.move(r, 0, { stepIndex: -1, phase: 'rolled-back' }, true);
    if (res.ok) {
      r.lastError = undefined;
      this.finish(r, reason, ev);
      return;
    }
    if (firstAttempt || r.lastError !== res.message) ev.push(`⚠ Rollback not applied yet: ${res.message}. Retrying every tick.`);
    r.lastError = res.message;
  }

  private finish(r: CanaryRecord, outcome: string, ev: string[]): void {
    r.phase = r.weight === 100 ? 'promoted' : 'rolled-back';
    r.outcome = outcome;
    r.endedAt = this.now().toISOString();
    r.nextCheckAt = undefined;
    r.pause = undefined;
    ev.push(
      r.phase === 'promoted'
        ? `🎉 Promoted (${outcome}): 100% of traffic on arm64. Next: ${prHints.arm64Only(r.target.service)}.`
        : `↩ Rolled back (${outcome}): 100% of traffic on amd64.`,
    );
  }

  /**
   * Sets the arm64 weight with one merge patch: refuses if the route was edited by someone else
   * (unless `force`, for rollback) or the side gaining traffic is not ready, writes the intent ahead,
   * then reads back and verifies.
   */
  private async move(r: CanaryRecord, weight: number, next: { stepIndex: number; phase: Phase }, force = false): Promise<MoveResult> {
    const t = r.target;
    const cluster = this.o.cluster(t.cluster);
    const ref = istio.virtualService(t.namespace, t.virtualService);
    let vs: VirtualService | undefined;
    try {
      const [v, amd, arm] = await Promise.all([
        cluster.getCustomObject<VirtualService>(ref),
        cluster.getDeployment(t.namespace, t.deployments.amd64),
        cluster.getDeployment(t.namespace, t.deployments.arm64),
      ]);
      vs = v;
      r.readiness = { amd64: readinessOf(amd), arm64: readinessOf(arm) };
    } catch (err) {
      if (err instanceof KubeError) return { ok: false, kind: 'refused', message: err.message };
      throw err;
    }
    if (!vs) return { ok: false, kind: 'refused', message: `VirtualService ${t.namespace}/${t.virtualService} no longer exists` };
    const split = readSplit(vs, t);
    if (typeof split === 'string') return { ok: false, kind: 'conflict', message: `VirtualService ${t.virtualService} ${split}` };
    if (!force && this.editedElsewhere(r, split)) return { ok: false, kind: 'conflict', message: this.describeEdit(r, split) };
    const { amd64, arm64 } = r.readiness;
    if (weight > split.arm64 && !isReady(arm64)) {
      return { ok: false, kind: 'not-ready', message: `${t.deployments.arm64} has ${arm64?.ready ?? 0}/${arm64?.desired ?? 0} replicas ready` };
    }
    if (weight < split.arm64 && !(amd64 && amd64.ready > 0)) {
      return { ok: false, kind: 'not-ready', message: `${t.deployments.amd64} has no ready replicas to take the traffic back` };
    }
    r.pending = { weight, ...next, at: this.now().toISOString() };
    await this.persist(r);
    try {
      await cluster.patchCustomObject(ref, splitPatch(vs, split, t, weight));
    } catch (err) {
      if (!(err instanceof KubeError)) throw err;
      r.pending = undefined;
      return { ok: false, kind: err.code === 409 ? 'conflict' : 'refused', message: `the API server refused the patch: ${err.message}` };
    }
    let back: VirtualService | undefined;
    try {
      back = await cluster.getCustomObject<VirtualService>(ref);
    } catch (err) {
      if (!(err instanceof KubeError)) throw err;
      // The patch may have landed; `pending` stays so the next tick settles it from the cluster.
      return { ok: false, kind: 'refused', message: `patched, but could not read the VirtualService back: ${err.message}` };
    }
    const got = back ? readSplit(back, t) : 'disappeared';
    if (typeof got === 'string' || got.arm64 !== weight) {
      r.pending = undefined;
      return { ok: false, kind: 'conflict', message: `read back after patching to ${weight}%: ${typeof got === 'string' ? got : `arm64 is at ${got.arm64}%`}` };
    }
    this.commit(r, got, back!.metadata?.resourceVersion);
    return { ok: true };
  }

  private commit(r: CanaryRecord, split: Split, resourceVersion: string | undefined): void {
    const p = r.pending!;
    r.weight = split.arm64;
    r.stepIndex = p.stepIndex;
    r.phase = p.phase;
    r.written = { route: split.route, resourceVersion };
    r.pending = undefined;
    if (p.phase === 'progressing') r.nextCheckAt = this.after(r.plan.intervalSeconds);
  }

  /** After a restart with a patch in flight: the cluster says whether it landed. */
  private recover(r: CanaryRecord, vs: VirtualService | undefined, split: Split | string, ev: string[]): void {
    const p = r.pending!;
    if (typeof split !== 'string' && split.arm64 === p.weight) {
      this.commit(r, split, vs?.metadata?.resourceVersion);
      ev.push(`🔁 Recovered: the move to ${p.weight}% arm64 had been applied before the interruption.`);
    } else if (typeof split !== 'string' && !this.editedElsewhere(r, split)) {
      r.pending = undefined;
      ev.push(`🔁 Recovered: the move to ${p.weight}% arm64 had not been applied; still at ${r.weight}%.`);
    } else {
      r.pending = undefined;
      this.conflict(r, this.describeEdit(r, split), ev);
    }
  }

  private editedElsewhere(r: CanaryRecord, split: Split | string): boolean {
    return typeof split === 'string' || (r.written !== undefined && canonical(split.route) !== canonical(r.written.route));
  }

  private describeEdit(r: CanaryRecord, split: Split | string): string {
    const vs = `VirtualService ${r.target.namespace}/${r.target.virtualService}`;
    if (typeof split === 'string') return `${vs} ${split}`;
    return split.arm64 !== r.weight
      ? `${vs} was changed outside archshift: it sends ${split.arm64}% to arm64, archshift set ${r.weight}%`
      : `${vs} route was changed outside archshift (destinations differ from what archshift wrote)`;
  }

  private conflict(r: CanaryRecord, message: string, ev: string[]): void {
    this.setPaused(r, 'conflict', message);
    ev.push(`⚠ ${message}. Paused; nothing more is changed until someone resumes (which adopts the cluster's split) or rolls back.`);
  }

  private setPaused(r: CanaryRecord, kind: PauseKind, reason: string): void {
    const resumeTo = r.phase === 'paused' ? r.pause!.resumeTo : r.phase;
    r.pause = { kind, reason, since: r.pause?.kind === kind ? r.pause.since : this.now().toISOString(), resumeTo };
    r.phase = 'paused';
  }

  private unpause(r: CanaryRecord): void {
    r.phase = r.pause?.resumeTo ?? 'progressing';
    r.pause = undefined;
  }

  private requireActive(r: CanaryRecord, what: string): void {
    if (TERMINAL.has(r.phase)) throw new CanaryError(`the canary for ${r.target.service} already ended (${r.phase}: ${r.outcome}); nothing to ${what}`);
  }

  private async readRoute(r: CanaryRecord): Promise<{ vs: VirtualService; split: Split }> {
    const t = r.target;
    const vs = await this.o.cluster(t.cluster).getCustomObject<VirtualService>(istio.virtualService(t.namespace, t.virtualService));
    if (!vs) throw new CanaryError(`VirtualService ${t.namespace}/${t.virtualService} no longer exists; roll back or recreate it`);
    const split = readSplit(vs, t);
    if (typeof split === 'string') throw new CanaryError(`VirtualService ${t.virtualService} ${split}; fix it before resuming`);
    return { vs, split };
  }

  // ---- persistence, locking, notification ------------------------------------------------------

  /** Runs `fn` for one canary at a time within this process. */
  private serial<T>(service: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(service) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(service, tail);
    void tail.then(() => {
      if (this.queues.get(service) === tail) this.queues.delete(service);
    });
    return run;
  }

  /** Takes the canary's lock, runs `fn` on a copy, persists it, then tells Slack; one at a time per canary. */
  private drive(service: string, fn: (r: CanaryRecord, events: string[]) => Promise<void>): Promise<CanaryRecord> {
    return this.serial(service, () => this.driveNow(service, fn));
  }

  /** drive() for callers already inside serial(). */
  private async driveNow(service: string, fn: (r: CanaryRecord, events: string[]) => Promise<void>): Promise<CanaryRecord> {
    const now = this.now();
    const takeOver = this.o.leaseHolder ? await this.o.leaseHolder() : false;
    await this.section.update((d) => {
      const cur = d[service];
      if (!cur) throw new CanaryError(`no canary for ${service}: \`/arm64 canary ${service} start\``);
      if (cur.owner && cur.owner.id !== this.ownerId && Date.parse(cur.owner.until) > now.getTime() && !takeOver) {
        throw new CanaryLockedError(`the canary for ${service} is driven by ${cur.owner.id} until ${cur.owner.until}`);
      }
      cur.owner = { id: this.ownerId, until: new Date(now.getTime() + this.o.config.lockTtlSeconds * 1000).toISOString() };
    });
    const r = structuredClone(this.section.get()[service]);
    const events: string[] = [];
    try {
      await fn(r, events);
    } finally {
      await this.persist(r);
      await this.publish(r, events);
    }
    return r;
  }

  private async persist(r: CanaryRecord): Promise<void> {
    r.updatedAt = this.now().toISOString();
    const copy = structuredClone(r);
    await this.section.update((d) => {
      d[r.target.service] = copy;
    });
  }

  private async publish(r: CanaryRecord, events: string[]): Promise<void> {
    if (!this.o.notifier) return;
    try {
      const where = await this.o.notifier.progress(r, this.now());
      if (!r.message) {
        r.message = where;
        await this.persist(r);
      }
      for (const e of events) await this.o.notifier.event(r, e);
    } catch (err) {
      // Slack being down must not stop or undo traffic decisions; the store has the truth.
      this.o.logger?.warn({ err, service: r.target.service }, 'could not update the canary message');
    }
  }

  private now(): Date {
    return this.o.clock.now();
  }

  private after(seconds: number): string {
    return new Date(this.now().getTime() + seconds * 1000).toISOString();
  }
}

/** A Slack user id as a mention; terminal and signal actors (`cli:alice`) as they are, since Slack cannot resolve them. */
function mention(actor: string): string {
  return /^[UW][A-Z0-9]+$/.test(actor) ? `<@${actor}>` : actor;
}
