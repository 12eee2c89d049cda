// The canary state machine. All state lives in the store's `canaries` section (one record per service),
// so a restarted bot resumes where it was; a scheduler calls tick() on the leader with an injected
// clock. Every weight change is one merge patch of the VirtualService, written ahead in the store,
// read back and verified; rollback puts arm64 at 0 in one patch. Only the instance holding a canary's
// lock (owner id + expiry in its record) drives it.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Prometheus } from '../adapters/prometheus.ts';
import { KubeError, type KubeCluster } from '../adapters/kubernetes.ts';
import { StoreBusyError, type Section, type Store } from '../adapters/store.ts';
import type { Catalog } from '../config/catalog.ts';
import { UserError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { canariesByPhase } from '../ops/metrics.ts';
import type { ImageInspector } from '../images/types.ts';
import { asActor, type Actor } from '../auth/actor.ts';
import {
  evaluate,
  measure,
  measureConsumers,
  templatesFor,
  upgradeMeasurement,
  type CheckLine,
  type Measurement,
  type Verdict,
} from './analysis.ts';
import { countFailure, validateTemplates, type InvalidQuery, type MetricTemplate } from './metrics.ts';
import type { CanaryConfig } from './config.ts';
import type { CanaryEvent, CanaryRefusal, Outcome } from './events.ts';
import { buildPlan, type CanaryPlan, type PlanOverrides } from './plan.ts';
import { checkPreconditions, isReady, readinessOf, type PreconditionReport, type Readiness } from './preconditions.ts';
import { modeOf, targetFor, type CanaryTarget } from './target.ts';
import { measurementOf, sampleNodes, type CanaryMeasurement, type HourlyPrice, type NodeSample } from './cost.ts';
import { replicaSteps, ReplicaRouter, type ReplicaCounts } from './replica-router.ts';
import { IstioRouter, type RouteRead, type RouteWrite, type Split, type TrafficRouter } from './router.ts';

export const PHASES = [
  'awaiting-start',
  'progressing',
  'awaiting-increase',
  'awaiting-promotion',
  'paused',
  'rolling-back',
  'promoted',
  'rolled-back',
] as const;
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
  /** `reason` states the cause for automatic pauses; `by` is who paused by hand. */
  pause?: { kind: PauseKind; reason: string; since: string; resumeTo: Phase; by?: Actor };
  /** arm64 weight as last verified in the cluster. */
  weight: number;
  /** Index in plan.steps of the current weight; -1 before the first step. */
  stepIndex: number;
  /** Failed checks counted toward plan.failedChecksBeforeRollback. */
  failedChecks: number;
  /** Failed checks of metrics with their own `failedChecks` limit, by metric. */
  metricFailures?: Record<string, number>;
  nextCheckAt?: string;
  /**
   * Written before a patch (or a replica move) and cleared once it is verified, so a restart can tell
   * whether it landed; a replica move stays pending while the side gaining replicas gets ready.
   */
  pending?: { weight: number; stepIndex: number; phase: Phase; at: string };
  /** The split as archshift last wrote or verified it (route, or replica counts): anything else in the cluster is someone else's edit. */
  written?: { route: unknown; resourceVersion?: string };
  checks: StepCheck[];
  /** The last amd64 measurement with data: the baseline once amd64 gets no traffic. */
  baseline?: Measurement;
  /** The nodes each side's pods ran on, sampled once per side while the canary runs (for the measured cost). */
  nodes?: { amd64?: NodeSample; arm64?: NodeSample };
  /** What the canary measured on each architecture, recorded when it ends: the digest's measured savings. */
  measured?: CanaryMeasurement;
  readiness: { amd64?: Readiness; arm64?: Readiness };
  channel: string;
  message?: MessageRef;
  owner?: { id: string; until: string };
  /** Who started it (an id string in records written before actors were values: upgraded() reads those). */
  startedBy: Actor;
  startedAt: string;
  updatedAt: string;
  endedAt?: string;
  /** Why it ended (or is rolling back). */
  outcome?: Outcome;
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

/**
 * A refused verb, as data: `refusal` says why; the surfaces word it (src/render/canary-events.ts). The
 * message is only the code and its facts, for the log and the audit trail.
 */
export class CanaryError extends UserError {
  constructor(
    readonly service: string,
    readonly refusal: CanaryRefusal,
  ) {
    super(`canary ${service} refused: ${refusal.code}${refusalFacts(refusal)}`);
  }
}
/** Another replica holds the canary's lock. */
export class CanaryLockedError extends CanaryError {}
export class PreconditionsError extends CanaryError {
  constructor(
    service: string,
    readonly report: PreconditionReport,
  ) {
    super(service, { code: 'preconditions', failed: report.items.filter((i) => !i.ok).map((i) => i.check) });
  }
}

function refusalFacts(r: CanaryRefusal): string {
  if (r.code === 'preconditions') return ` (${r.failed.join(', ')})`;
  if (r.code === 'locked') return ` (${r.owner} until ${r.until})`;
  if (r.code === 'metrics-invalid') return ` (${r.invalid.map((q) => q.where).join(', ')})`;
  return 'detail' in r ? ` (${r.detail})` : '';
}

/** Where progress goes: one message per canary, updated in place, with events as thread replies. */
export interface CanaryNotifier {
  /** Posts the message the first time (returning where), updates it afterwards. */
  progress(rec: CanaryRecord, now: Date): Promise<MessageRef>;
  event(rec: CanaryRecord, event: CanaryEvent): Promise<void>;
}

export interface CanaryControllerOptions {
  config: CanaryConfig;
  catalog: Catalog;
  store: Store;
  /** The cluster a service lives in (Kubernetes.cluster). */
  cluster(name?: string): KubeCluster;
  /** The router of a cluster for a mode; default: Istio VirtualServices, or the Deployments' replicas. */
  router?(cluster: KubeCluster, mode: CanaryTarget['mode']): TrafficRouter;
  prometheus: Prometheus;
  /** Hourly price of an instance type (the digest's price table), for the measured cost of each side's nodes. */
  prices?: HourlyPrice;
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
  /**
   * Several replicas share the store (PostgreSQL) and any of them may serve a command: each drive then
   * runs under the store's lock for the canary (released by the database when a replica dies), instead
   * of the owner record keeping other replicas out until it expires.
   */
  sharedStore?: boolean;
}

type MoveResult =
  { ok: true } | { ok: false; kind: 'conflict' | 'refused' | 'not-ready'; message: string } | Extract<RouteWrite, { kind: 'waiting' }>;

/** A record as written before actors and outcomes were values (id strings, sentences), read as values. */
function upgraded(r: CanaryRecord): CanaryRecord {
  if (!r.target.mode) r = { ...r, target: { ...r.target, mode: 'istio' } };
  const legacy = r as Omit<CanaryRecord, 'startedBy' | 'outcome'> & { startedBy: Actor | string; outcome?: Outcome | string };
  if (typeof legacy.startedBy !== 'string' && typeof legacy.outcome !== 'string') return r;
  const outcome =
    typeof legacy.outcome === 'string'
      ? { result: r.weight === 100 ? ('promoted' as const) : ('rolled-back' as const), recorded: legacy.outcome }
      : legacy.outcome;
  return { ...r, startedBy: asActor(legacy.startedBy), ...(outcome ? { outcome } : {}) };
}

/** Key order does not change what a route means; compare canonically. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Index of the last step not above `weight`; -1 when the weight is below the first step. */
function stepAtOrBelow(steps: number[], weight: number): number {
  let i = -1;
  while (i + 1 < steps.length && steps[i + 1] <= weight) i++;
  return i;
}

/** A start is refused while a canary of the service is not yet finished, naming its phase, weight and starter. */
function refuseIfRunning(service: string, existing: CanaryRecord | undefined): void {
  if (!existing || TERMINAL.has(existing.phase)) return;
  const refusal = {
    code: 'already-running',
    phase: existing.phase,
    weight: existing.weight,
    startedBy: upgraded(existing).startedBy,
  } as const;
  throw new CanaryError(service, refusal);
}

export class CanaryController {
  readonly ownerId: string;
  private readonly section: Section<Canaries>;
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly routers = new Map<string, { cluster: KubeCluster; router: TrafficRouter }>();

  constructor(private readonly o: CanaryControllerOptions) {
    this.ownerId = o.ownerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.section = o.store.section<Canaries>('canaries', () => ({}));
  }

  get config(): CanaryConfig {
    return this.o.config;
  }

  status(service: string): CanaryRecord | undefined {
    const r = this.section.get()[service];
    return r && upgraded(r);
  }

  /** Canaries that are not finished, oldest first. */
  list(): CanaryRecord[] {
    return Object.values(this.section.get())
      .map(upgraded)
      .filter((r) => !TERMINAL.has(r.phase))
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  /** Checks the preconditions without moving anything. */
  async preconditions(service: string): Promise<PreconditionReport> {
    const target = this.targetOf(service);
    return this.readPreconditions(target, 'preconditions');
  }

  /** The canary's target; a Flink job is refused: its state moves with a savepoint and a restart, not a split by replicas. */
  private targetOf(service: string): CanaryTarget {
    const entry = this.o.catalog.resolve(service);
    if (entry.kind === 'flink') {
      throw new CanaryError(service, { code: 'stateful-job', kind: 'flink' });
    }
    return targetFor(entry, this.o.config);
  }

  /**
   * Asks Prometheus to parse every metric query the catalog's services would be judged by (and the
   * `canary.metrics` templates no service uses yet), so a bad query is refused at start-up or reload,
   * not found at the first check. `catalog` is the one about to go live.
   */
  async validateMetrics(catalog: Catalog = this.o.catalog): Promise<{ invalid: InvalidQuery[]; unreachable?: string }> {
    const byQuery = new Map<string, string>();
    const add = (where: string, query: string) => byQuery.has(query) || byQuery.set(query, where);
    for (const [name, m] of Object.entries(this.o.config.metrics)) add(`canary.metrics."${name}"`, m.query);
    for (const mode of ['istio', 'replicas'] as const)
      for (const t of templatesFor(this.o.config, undefined, mode)) add(`the built-in metric "${t.name}"`, t.query);
    for (const name of catalog.names()) {
      let metrics: MetricTemplate[];
      try {
        const entry = catalog.resolve(name);
        metrics = templatesFor(this.o.config, entry.metrics, modeOf(entry));
      } catch {
        continue; // an incomplete entry is refused where it is used
      }
      for (const t of metrics) add(`catalog.services.${name}.metrics."${t.name}"`, t.query);
    }
    return validateTemplates(
      this.o.prometheus,
      [...byQuery].map(([query, where]) => ({ where, query })),
      this.o.config.analysisWindow,
    );
  }

  /** The preconditions, or a CanaryError that names the cluster when it cannot be read (nothing was changed yet). */
  private async readPreconditions(target: CanaryTarget, verb: 'start' | 'preconditions'): Promise<PreconditionReport> {
    try {
      return await checkPreconditions(this.o.cluster(target.cluster), target, this.o.images);
    } catch (err) {
      if (err instanceof KubeError) {
        throw new CanaryError(target.service, { code: 'cluster-unreadable', detail: err.message, verb });
      }
      throw err;
    }
  }

  async start(service: string, overrides: PlanOverrides, actor: Actor): Promise<CanaryRecord> {
    const entry = this.o.catalog.resolve(service);
    const target = this.targetOf(service);
    const plan = buildPlan(this.o.config, overrides);
    return this.serial(service, async () => {
      refuseIfRunning(service, this.section.get()[service]);
      const { invalid } = await validateTemplates(
        this.o.prometheus,
        (target.metrics ?? []).map((m) => ({ where: m.name, query: m.query })),
        this.o.config.analysisWindow,
      );
      if (invalid.length) throw new CanaryError(service, { code: 'metrics-invalid', invalid });
      const report = await this.readPreconditions(target, 'start');
      if (!report.ok || !report.split) throw new PreconditionsError(service, report);
      const now = this.now();
      const split = report.split;
      if (target.mode === 'replicas') {
        // Recorded before the first step: the total the steps divide, and what rollback puts back on amd64.
        const counts = split.route as ReplicaCounts;
        target.replicas = { ...counts };
        plan.steps = replicaSteps(plan.steps, counts.amd64 + counts.arm64);
      }
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
        // Checked again on the committed state: another replica may have started it meanwhile.
        refuseIfRunning(service, d[service]);
        d[service] = rec;
      });
      return this.driveNow(service, async (r, ev) => {
        ev.push({ kind: 'started', by: actor, plan });
        if (r.phase === 'awaiting-start') ev.push({ kind: 'awaiting-approval', gate: 'start', weight: r.weight, to: plan.steps[0] });
        else if (r.stepIndex < 0) await this.advance(r, 0, ev);
        else {
          r.nextCheckAt = this.after(r.plan.intervalSeconds);
          ev.push({ kind: 'continuing', weight: r.weight });
        }
      });
    });
  }

  pause(service: string, actor: Actor): Promise<CanaryRecord> {
    return this.drive(service, async (r, ev) => {
      if (r.phase === 'paused' && !AUTO_RESUME.has(r.pause!.kind)) {
        throw new CanaryError(service, { code: 'already-paused', reason: r.pause!.reason });
      }
      this.requireActive(r, 'pause');
      this.refuseWhileRollingBack(r, 'pause');
      this.setPaused(r, 'manual', 'paused by hand', actor);
      ev.push({ kind: 'paused', by: actor, weight: r.weight });
    });
  }

  resume(service: string, actor: Actor): Promise<CanaryRecord> {
    return this.drive(service, async (r, ev) => {
      this.requireActive(r, 'resume');
      const from = r.phase === 'paused' ? r.pause!.resumeTo : r.phase;
      if (r.phase === 'paused' && r.pause!.kind === 'conflict') {
        // Someone else set the weights: take the cluster's split as the truth and carry on from it.
        const { split, resourceVersion } = await this.readRoute(r);
        if (r.target.mode === 'replicas') {
          // Someone scaled the Deployments: their counts are the new total the remaining steps divide.
          const counts = split.route as ReplicaCounts;
          r.target.replicas = { ...counts };
          r.plan.steps = replicaSteps(r.plan.steps, counts.amd64 + counts.arm64);
        }
        r.weight = split.arm64;
        r.stepIndex = stepAtOrBelow(r.plan.steps, split.arm64);
        r.written = { route: split.route, resourceVersion };
        r.pause = undefined;
        r.phase = 'progressing';
        r.nextCheckAt = this.after(r.plan.intervalSeconds);
        ev.push({ kind: 'adopted', by: actor, amd64: split.amd64, arm64: split.arm64 });
        return;
      }
      this.refuseWhileRollingBack(r, 'resume');
      if (from === 'awaiting-start' || from === 'awaiting-increase' || from === 'awaiting-promotion') {
        r.pause = undefined;
        r.phase = 'progressing';
        ev.push({ kind: 'approved', by: actor, to: r.plan.steps[r.stepIndex + 1] });
        await this.advance(r, r.stepIndex + 1, ev);
        return;
      }
      if (r.phase !== 'paused') throw new CanaryError(service, { code: 'not-waiting', phase: r.phase });
      r.pause = undefined;
      r.phase = 'progressing';
      r.nextCheckAt = this.now().toISOString();
      ev.push({ kind: 'resumed', by: actor, weight: r.weight });
    });
  }

  /** Skips the remaining steps: 100% arm64 now, and the canary ends promoted. */
  promote(service: string, actor: Actor): Promise<CanaryRecord> {
    return this.drive(service, async (r, ev) => {
      this.requireActive(r, 'promote');
      this.refuseWhileRollingBack(r, 'promote');
      const res = await this.move(r, 100, { stepIndex: r.plan.steps.length - 1, phase: 'promoted' });
      if (!res.ok && res.kind === 'waiting') {
        // Replicas: amd64 is scaled down once arm64 has them all ready; the ticks finish the promotion.
        r.outcome = { result: 'promoted', by: actor };
        ev.push({ kind: 'scaling', to: 100, deployment: res.deployment, ready: res.ready, desired: res.desired });
        return;
      }
      if (!res.ok) {
        if (res.kind === 'conflict') this.conflict(r, res.message, ev);
        throw new CanaryError(service, { code: 'not-promoted', detail: res.message });
      }
      this.finish(r, { result: 'promoted', by: actor }, ev);
    });
  }

  rollback(service: string, actor: Actor): Promise<CanaryRecord> {
    return this.drive(service, async (r, ev) => {
      this.requireActive(r, 'roll back');
      await this.rollbackNow(r, { result: 'rolled-back', by: actor }, ev);
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

  private async step(r: CanaryRecord, ev: CanaryEvent[]): Promise<void> {
    if (TERMINAL.has(r.phase)) return;
    const t = r.target;
    let route: RouteRead;
    try {
      route = await this.readCluster(r);
      if (r.lastError) ev.push({ kind: 'cluster-back' });
      r.lastError = undefined;
    } catch (err) {
      if (!(err instanceof KubeError)) throw err;
      if (r.lastError !== err.message) ev.push({ kind: 'cluster-unreadable', detail: err.message });
      r.lastError = err.message;
      return;
    }
    if (r.pending) await this.recover(r, route, ev);
    else if (r.phase !== 'rolling-back' && !(r.phase === 'paused' && r.pause!.kind === 'conflict') && this.editedElsewhere(r, route)) {
      this.conflict(r, this.describeEdit(r, route), ev);
    }
    // A replica move still under way (its gaining side not ready yet) is all this tick does.
    if (r.pending || TERMINAL.has(r.phase)) return;
    if (r.phase === 'rolling-back') {
      await this.rollbackNow(r, r.outcome ?? { result: 'rolled-back', by: { via: 'signal', name: 'archshift' } }, ev);
      return;
    }
    if (r.weight > 0 && r.readiness.arm64 && r.readiness.arm64.ready === 0) {
      await this.rollbackNow(r, { result: 'rolled-back', cause: 'arm64-unready', deployment: t.deployments.arm64, weight: r.weight }, ev);
      return;
    }
    const checking = r.phase === 'progressing' || (r.phase === 'paused' && AUTO_RESUME.has(r.pause!.kind));
    if (checking && r.nextCheckAt && this.now().getTime() >= Date.parse(r.nextCheckAt)) await this.check(r, ev);
  }

  private async check(r: CanaryRecord, ev: CanaryEvent[]): Promise<void> {
    const t = r.target;
    const c = this.o.config;
    const now = this.now();
    const templates = t.metrics ?? templatesFor(c, undefined, t.mode);
    const opts = { window: c.analysisWindow, minRequestRate: c.minRequestRate, templates };
    // Requests gate an Istio side's verdict; consumers have none, their templates say it all.
    const side = (arch: 'amd64' | 'arm64') => {
      const w = { namespace: t.namespace, deployment: t.deployments[arch], service: t.service, arch };
      return t.mode === 'replicas' ? measureConsumers(this.o.prometheus, w, now, opts) : measure(this.o.prometheus, w, now, opts);
    };
    const [amd, arm] = await Promise.all([side('amd64'), side('arm64'), this.sampleNodes(r)]);
    if (amd.noData.length === 0) r.baseline = amd;
    const baseline = upgradeMeasurement(r.baseline);
    const storedBaseline = amd.noData.length > 0 && baseline !== undefined;
    const result = evaluate(arm, amd.noData.length ? baseline : amd, templates);
    r.checks.push({
      at: now.toISOString(),
      weight: r.weight,
      verdict: result.verdict,
      amd64: amd,
      arm64: arm,
      storedBaseline,
      lines: result.lines,
      noData: result.noData,
    });
    if (r.checks.length > MAX_CHECKS) r.checks.splice(0, r.checks.length - MAX_CHECKS);
    r.nextCheckAt = this.after(r.plan.intervalSeconds);
    const wasWaiting = r.phase === 'paused' ? r.pause! : undefined;

    if (result.verdict === 'fail') {
      if (wasWaiting) this.unpause(r);
      const failed = result.lines.filter((l) => !l.ok);
      const count = countFailure(
        templates,
        failed,
        { shared: r.failedChecks, perMetric: r.metricFailures ?? {} },
        r.plan.failedChecksBeforeRollback,
      );
      r.failedChecks = count.shared;
      if (Object.keys(count.perMetric).length) r.metricFailures = count.perMetric;
      ev.push({ kind: 'check-failed', weight: r.weight, failedChecks: count.worst.failedChecks, limit: count.worst.limit, failed });
      if (count.rollback) {
        await this.rollbackNow(r, { result: 'rolled-back', cause: 'failed-checks', failedChecks: count.worst.failedChecks, failed }, ev);
      }
      return;
    }
    if (result.verdict === 'no-data') {
      const reason = result.noData.join('; ');
      if (wasWaiting?.kind !== 'no-data' || wasWaiting.reason !== reason) {
        ev.push({ kind: 'holding', reason: 'no-data', weight: r.weight, missing: result.noData, intervalSeconds: r.plan.intervalSeconds });
      }
      this.setPaused(r, 'no-data', reason);
      return;
    }
    if (!isReady(r.readiness.arm64)) {
      const [ready, desired] = [r.readiness.arm64?.ready ?? 0, r.readiness.arm64?.desired ?? 0];
      const why = `${t.deployments.arm64} has ${ready}/${desired} replicas ready`;
      if (wasWaiting?.kind !== 'not-ready')
        ev.push({ kind: 'holding', reason: 'not-ready', weight: r.weight, deployment: t.deployments.arm64, ready, desired });
      this.setPaused(r, 'not-ready', why);
      return;
    }
    if (wasWaiting) {
      this.unpause(r);
      ev.push({ kind: 'recovered', reason: wasWaiting.kind === 'no-data' ? 'no-data' : 'not-ready', deployment: t.deployments.arm64 });
    }
    if (r.weight === 100) {
      this.finish(r, { result: 'promoted', cause: 'checks-passed' }, ev);
      return;
    }
    const next = r.stepIndex + 1;
    const gated = r.plan.steps[next] === 100 ? r.plan.gates.beforePromotion : r.plan.gates.beforeIncrease;
    if (gated) {
      r.phase = r.plan.steps[next] === 100 ? 'awaiting-promotion' : 'awaiting-increase';
      r.nextCheckAt = undefined;
      ev.push({
        kind: 'awaiting-approval',
        gate: r.plan.steps[next] === 100 ? 'promotion' : 'increase',
        weight: r.weight,
        to: r.plan.steps[next],
      });
      return;
    }
    await this.advance(r, next, ev);
  }

  private async advance(r: CanaryRecord, index: number, ev: CanaryEvent[]): Promise<void> {
    const from = r.weight;
    const to = r.plan.steps[index];
    const res = await this.move(r, to, { stepIndex: index, phase: 'progressing' });
    if (res.ok) {
      this.moved(r, index, from, ev);
      return;
    }
    if (res.kind === 'waiting') {
      ev.push({ kind: 'scaling', to, deployment: res.deployment, ready: res.ready, desired: res.desired });
      return;
    }
    if (res.kind === 'conflict') this.conflict(r, res.message, ev);
    else {
      this.setPaused(r, res.kind === 'not-ready' ? 'not-ready' : 'patch-failed', res.message);
      ev.push({ kind: 'move-refused', from, to, detail: res.message, retry: res.kind === 'not-ready' ? 'auto' : 'resume' });
    }
  }

  private moved(r: CanaryRecord, index: number, from: number, ev: CanaryEvent[]): void {
    const replicas = r.target.mode === 'replicas' ? { ...(r.written!.route as ReplicaCounts) } : undefined;
    ev.push({
      kind: 'moved',
      step: index + 1,
      steps: r.plan.steps.length,
      from,
      to: r.weight,
      nextCheckSeconds: r.plan.intervalSeconds,
      ...(replicas ? { replicas } : {}),
    });
  }

  private async rollbackNow(r: CanaryRecord, reason: Outcome, ev: CanaryEvent[]): Promise<void> {
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
    if (res.kind === 'waiting') {
      // amd64 is scaled back up; arm64 goes to 0 once amd64 has its replicas ready (the ticks finish it).
      if (firstAttempt) ev.push({ kind: 'scaling', to: 0, deployment: res.deployment, ready: res.ready, desired: res.desired });
      return;
    }
    if (firstAttempt || r.lastError !== res.message) ev.push({ kind: 'rollback-pending', detail: res.message });
    r.lastError = res.message;
  }

  /** A committed move that ended the canary (promotion or rollback, finished by a later tick): its recorded outcome. */
  private finishCommitted(r: CanaryRecord, ev: CanaryEvent[]): void {
    const by = { via: 'signal', name: 'archshift' } as const;
    this.finish(r, r.outcome ?? (r.phase === 'promoted' ? { result: 'promoted', by } : { result: 'rolled-back', by }), ev);
  }

  private finish(r: CanaryRecord, outcome: Outcome, ev: CanaryEvent[]): void {
    r.phase = r.weight === 100 ? 'promoted' : 'rolled-back';
    r.outcome = outcome;
    r.endedAt = this.now().toISOString();
    r.nextCheckAt = undefined;
    r.pause = undefined;
    const replicas = r.target.mode === 'replicas' && r.written ? { replicas: { ...(r.written.route as ReplicaCounts) } } : {};
    const measured = measurementOf(r, this.now());
    if (measured) r.measured = measured;
    ev.push({ kind: 'finished', outcome, ...replicas });
  }

  /** Samples each side's nodes once, when it has ready pods; a cluster that does not answer is tried at the next check. */
  private async sampleNodes(r: CanaryRecord): Promise<void> {
    const t = r.target;
    for (const arch of ['amd64', 'arm64'] as const) {
      if (r.nodes?.[arch] || !r.readiness[arch]?.ready) continue;
      try {
        const sample = await sampleNodes(
          this.o.cluster(t.cluster),
          t.namespace,
          t.deployments[arch],
          this.o.prices ?? (() => undefined),
          this.now(),
        );
        if (sample) r.nodes = { ...r.nodes, [arch]: sample };
      } catch (err) {
        if (!(err instanceof KubeError)) throw err;
        this.o.logger?.debug({ err, service: t.service }, 'could not sample the nodes of the canary');
      }
    }
  }

  /**
   * Sets the arm64 weight with one merge patch: refuses if the route was edited by someone else
   * (unless `force`, for rollback) or the side gaining traffic is not ready, writes the intent ahead,
   * then reads back and verifies.
   */
  private async move(r: CanaryRecord, weight: number, next: { stepIndex: number; phase: Phase }, force = false): Promise<MoveResult> {
    const t = r.target;
    let route: RouteRead;
    try {
      route = await this.readCluster(r);
    } catch (err) {
      if (err instanceof KubeError) return { ok: false, kind: 'refused', message: err.message };
      throw err;
    }
    if (!route.ok) return { ok: false, kind: route.missing ? 'refused' : 'conflict', message: route.problem };
    const split = route.split;
    if (!force && this.editedElsewhere(r, route)) return { ok: false, kind: 'conflict', message: this.describeEdit(r, route) };
    const { amd64, arm64 } = r.readiness;
    // Replicas: the router scales the gaining side up and waits for it before the other side goes down.
    if (t.mode === 'istio' && weight > split.arm64 && !isReady(arm64)) {
      return {
        ok: false,
        kind: 'not-ready',
        message: `${t.deployments.arm64} has ${arm64?.ready ?? 0}/${arm64?.desired ?? 0} replicas ready`,
      };
    }
    if (t.mode === 'istio' && weight < split.arm64 && !(amd64 && amd64.ready > 0)) {
      return { ok: false, kind: 'not-ready', message: `${t.deployments.amd64} has no ready replicas to take the traffic back` };
    }
    r.pending = { weight, ...next, at: this.now().toISOString() };
    await this.persist(r);
    const res = await this.routerOf(r).setRoutes(t, split, weight);
    if (!res.ok && res.kind === 'waiting') return res;
    if (!res.ok) {
      // Unverified, the patch may have landed: `pending` stays so the next tick settles it from the cluster.
      if (res.kind !== 'unverified') r.pending = undefined;
      return { ok: false, kind: res.kind === 'conflict' ? 'conflict' : 'refused', message: res.message };
    }
    this.commit(r, res.split, res.resourceVersion);
    return { ok: true };
  }

  /** The route and both Deployments' readiness, read together; throws KubeError when the cluster cannot be read. */
  private async readCluster(r: CanaryRecord): Promise<RouteRead> {
    const t = r.target;
    const cluster = this.o.cluster(t.cluster);
    const [route, amd, arm] = await Promise.all([
      this.routerOf(r).getRoutes(t),
      cluster.getDeployment(t.namespace, t.deployments.amd64),
      cluster.getDeployment(t.namespace, t.deployments.arm64),
    ]);
    r.readiness = { amd64: readinessOf(amd), arm64: readinessOf(arm) };
    return route;
  }

  private routerOf(r: CanaryRecord): TrafficRouter {
    const cluster = this.o.cluster(r.target.cluster);
    const mode = r.target.mode;
    const key = `${cluster.name}|${mode}`;
    let hit = this.routers.get(key);
    if (!hit || hit.cluster !== cluster) {
      const router = this.o.router
        ? this.o.router(cluster, mode)
        : mode === 'replicas'
          ? new ReplicaRouter(cluster)
          : new IstioRouter(cluster);
      this.routers.set(key, (hit = { cluster, router }));
    }
    return hit.router;
  }

  private commit(r: CanaryRecord, split: Split, resourceVersion: string | undefined): void {
    const p = r.pending!;
    r.weight = split.arm64;
    r.stepIndex = p.stepIndex;
    r.written = { route: split.route, resourceVersion };
    r.pending = undefined;
    // Paused by hand while a replica move finished: it stays paused, at the new split.
    if (r.pause?.kind === 'manual' && !TERMINAL.has(p.phase)) r.pause.resumeTo = p.phase;
    else {
      r.phase = p.phase;
      r.pause = undefined;
    }
    if (p.phase === 'progressing') r.nextCheckAt = this.after(r.plan.intervalSeconds);
  }

  /**
   * With a move in flight (after a restart, or a replica move waiting for its gaining side): the cluster
   * says whether it landed; a half-done replica move is finished from the stored intent.
   */
  private async recover(r: CanaryRecord, route: RouteRead, ev: CanaryEvent[]): Promise<void> {
    const p = r.pending!;
    const progress = route.ok ? this.routerOf(r).progress(r.target, route.split, p.weight) : 'not-started';
    if (route.ok && progress === 'partial') await this.finishMove(r, route.split, ev);
    else if (route.ok && progress === 'done') {
      this.commit(r, route.split, route.resourceVersion);
      ev.push({ kind: 'settled', to: p.weight, applied: true, weight: r.weight });
      if (TERMINAL.has(r.phase)) this.finishCommitted(r, ev);
    } else if (route.ok && !this.editedElsewhere(r, route)) {
      r.pending = undefined;
      ev.push({ kind: 'settled', to: p.weight, applied: false, weight: r.weight });
    } else {
      r.pending = undefined;
      this.conflict(r, this.describeEdit(r, route), ev);
    }
  }

  /** The second half of a replica move: the other side goes down once the gaining side is ready. */
  private async finishMove(r: CanaryRecord, split: Split, ev: CanaryEvent[]): Promise<void> {
    const p = r.pending!;
    const from = r.weight;
    const res = await this.routerOf(r).setRoutes(r.target, split, p.weight);
    if (res.ok) {
      this.commit(r, res.split, res.resourceVersion);
      if (TERMINAL.has(r.phase)) this.finishCommitted(r, ev);
      else this.moved(r, p.stepIndex, from, ev);
      return;
    }
    const overdue = this.now().getTime() - Date.parse(p.at) > r.plan.intervalSeconds * 1000;
    if (res.kind === 'waiting' && overdue && p.weight > r.weight) {
      // arm64 never got its new replicas ready (no node for them, a crash loop): back to amd64.
      await this.rollbackNow(r, { result: 'rolled-back', cause: 'arm64-unready', deployment: res.deployment, weight: p.weight }, ev);
      return;
    }
    if (res.kind === 'waiting' || res.kind === 'unverified') return;
    r.pending = undefined;
    if (res.kind === 'conflict') this.conflict(r, res.message, ev);
    else {
      this.setPaused(r, 'patch-failed', res.message);
      ev.push({ kind: 'move-refused', from, to: p.weight, detail: res.message, retry: 'resume' });
    }
  }

  private editedElsewhere(r: CanaryRecord, route: RouteRead): boolean {
    return !route.ok || (r.written !== undefined && canonical(route.split.route) !== canonical(r.written.route));
  }

  private describeEdit(r: CanaryRecord, route: RouteRead): string {
    const vs = `VirtualService ${r.target.namespace}/${r.target.virtualService}`;
    if (!route.ok) return route.problem;
    const split = route.split;
    if (r.target.mode === 'replicas') {
      const [have, set] = [split.route as ReplicaCounts, (r.written?.route ?? {}) as Partial<ReplicaCounts>];
      const { amd64, arm64 } = r.target.deployments;
      return `the replicas of ${r.target.namespace}/${amd64} and ${arm64} were changed outside archshift: they are ${have.amd64} and ${have.arm64}, archshift set ${set.amd64} and ${set.arm64}`;
    }
    return split.arm64 !== r.weight
      ? `${vs} was changed outside archshift: it sends ${split.arm64}% to arm64, archshift set ${r.weight}%`
      : `${vs} route was changed outside archshift (destinations differ from what archshift wrote)`;
  }

  private conflict(r: CanaryRecord, message: string, ev: CanaryEvent[]): void {
    this.setPaused(r, 'conflict', message);
    ev.push({ kind: 'conflict', detail: message });
  }

  private setPaused(r: CanaryRecord, kind: PauseKind, reason: string, by?: Actor): void {
    const resumeTo = r.phase === 'paused' ? r.pause!.resumeTo : r.phase;
    r.pause = { kind, reason, since: r.pause?.kind === kind ? r.pause.since : this.now().toISOString(), resumeTo, ...(by ? { by } : {}) };
    r.phase = 'paused';
  }

  private unpause(r: CanaryRecord): void {
    r.phase = r.pause?.resumeTo ?? 'progressing';
    r.pause = undefined;
  }

  private requireActive(r: CanaryRecord, verb: string): void {
    if (TERMINAL.has(r.phase)) {
      throw new CanaryError(r.target.service, { code: 'ended', phase: r.phase, outcome: r.outcome, verb });
    }
  }

  private refuseWhileRollingBack(r: CanaryRecord, verb: string): void {
    if (r.phase === 'rolling-back') throw new CanaryError(r.target.service, { code: 'rolling-back', verb });
  }

  private async readRoute(r: CanaryRecord): Promise<{ split: Split; resourceVersion?: string }> {
    const t = r.target;
    const route = await this.routerOf(r).getRoutes(t);
    if (route.ok) return route;
    if (route.missing) throw new CanaryError(t.service, { code: 'route-missing', namespace: t.namespace, name: t.virtualService });
    throw new CanaryError(t.service, { code: 'route-invalid', detail: route.problem });
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
  private drive(service: string, fn: (r: CanaryRecord, events: CanaryEvent[]) => Promise<void>): Promise<CanaryRecord> {
    return this.serial(service, () => this.driveNow(service, fn));
  }

  /** drive() for callers already inside serial(). */
  private async driveNow(service: string, fn: (r: CanaryRecord, events: CanaryEvent[]) => Promise<void>): Promise<CanaryRecord> {
    if (!this.o.sharedStore) return this.driveLocked(service, fn, this.o.leaseHolder ? await this.o.leaseHolder() : false);
    try {
      // A drive takes a few API calls: wait that long for another replica's, then give up.
      return await this.o.store.withLock(`canary:${service}`, 5_000, () => this.driveLocked(service, fn, true));
    } catch (err) {
      if (err instanceof StoreBusyError) throw new CanaryLockedError(service, { code: 'busy' });
      throw err;
    }
  }

  private async driveLocked(
    service: string,
    fn: (r: CanaryRecord, events: CanaryEvent[]) => Promise<void>,
    takeOver: boolean,
  ): Promise<CanaryRecord> {
    const now = this.now();
    await this.section.update((d) => {
      const cur = d[service];
      if (!cur) throw new CanaryError(service, { code: 'no-canary' });
      if (cur.owner && cur.owner.id !== this.ownerId && Date.parse(cur.owner.until) > now.getTime() && !takeOver) {
        throw new CanaryLockedError(service, { code: 'locked', owner: cur.owner.id, until: cur.owner.until });
      }
      cur.owner = { id: this.ownerId, until: new Date(now.getTime() + this.o.config.lockTtlSeconds * 1000).toISOString() };
    });
    const r = upgraded(structuredClone(this.section.get()[service]));
    const events: CanaryEvent[] = [];
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

  private async publish(r: CanaryRecord, events: CanaryEvent[]): Promise<void> {
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
