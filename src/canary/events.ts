// What the canary controller reports, as facts: each step of the state machine emits CanaryEvents and
// a finished canary stores its Outcome. Surfaces choose the words (src/render/canary-events.ts), so a
// canary started from the terminal reads right in Slack and the other way round.
import type { Actor } from '../auth/actor.ts';
import type { CheckLine } from './analysis.ts';
import type { InvalidQuery } from './metrics.ts';
import type { CanaryPlan } from './plan.ts';
import type { PreconditionCheck } from './preconditions.ts';

/** A check line as written before lines were facts: its sentence, kept as it was. */
export interface RecordedLine {
  metric: string;
  ok: boolean;
  text: string;
}

/** Why a canary ended (or is rolling back). */
export type Outcome =
  | { result: 'promoted'; by: Actor }
  /** Every check passed up to 100 % arm64. */
  | { result: 'promoted'; cause: 'checks-passed' }
  | { result: 'rolled-back'; by: Actor }
  | { result: 'rolled-back'; cause: 'failed-checks'; failedChecks: number; failed: Array<CheckLine | RecordedLine> }
  | { result: 'rolled-back'; cause: 'arm64-unready'; deployment: string; weight: number }
  /** Records written before outcomes were values: their sentence, kept as it was. */
  | { result: 'promoted' | 'rolled-back'; recorded: string };

/** The gate a canary waits at for a person. */
export type Gate = 'start' | 'increase' | 'promotion';

export type CanaryEvent =
  | { kind: 'started'; by: Actor; plan: CanaryPlan }
  /** The VirtualService already sent this much to arm64 (an earlier, interrupted canary): continuing from there. */
  | { kind: 'continuing'; weight: number }
  | { kind: 'awaiting-approval'; gate: Gate; weight: number; to: number }
  | { kind: 'approved'; by: Actor; to: number }
  | { kind: 'paused'; by: Actor; weight: number }
  | { kind: 'resumed'; by: Actor; weight: number }
  /** Resumed after someone else set the weights: their split is the new starting point. */
  | { kind: 'adopted'; by: Actor; amd64: number; arm64: number }
  | { kind: 'moved'; step: number; steps: number; from: number; to: number; nextCheckSeconds: number }
  /** The weights stayed at `from`; `retry` says whether archshift retries on its own or waits for a resume. */
  | { kind: 'move-refused'; from: number; to: number; detail: string; retry: 'auto' | 'resume' }
  | { kind: 'check-failed'; weight: number; failedChecks: number; limit: number; failed: Array<CheckLine | RecordedLine> }
  | { kind: 'holding'; reason: 'no-data'; weight: number; missing: string[]; intervalSeconds: number }
  | { kind: 'holding'; reason: 'not-ready'; weight: number; deployment: string; ready: number; desired: number }
  /** A hold ended on its own: data is back, or the arm64 Deployment is ready. */
  | { kind: 'recovered'; reason: 'no-data' | 'not-ready'; deployment: string }
  /** After a restart with a weight change in flight: whether it had landed. */
  | { kind: 'settled'; to: number; applied: boolean; weight: number }
  /** The route is not what archshift wrote (or cannot be read as a canary split): paused until a person acts. */
  | { kind: 'conflict'; detail: string }
  | { kind: 'cluster-unreadable'; detail: string }
  | { kind: 'cluster-back' }
  | { kind: 'rollback-pending'; detail: string }
  | { kind: 'finished'; outcome: Outcome };

export type CanaryEventKind = CanaryEvent['kind'];

/** Why a verb was refused, as data; the surface words it and adds what to type next. */
export type CanaryRefusal =
  | { code: 'already-running'; phase: string; weight: number; startedBy: Actor }
  | { code: 'no-canary' }
  | { code: 'ended'; phase: string; outcome?: Outcome; verb: string }
  | { code: 'rolling-back'; verb: string }
  | { code: 'already-paused'; reason: string }
  | { code: 'not-waiting'; phase: string }
  /** Reading the cluster failed before anything changed: at `start`, or while reading the preconditions. */
  | { code: 'cluster-unreadable'; detail: string; verb: 'start' | 'preconditions' }
  /** The VirtualService no longer exists. */
  | { code: 'route-missing'; namespace: string; name: string }
  /** The VirtualService is not a canary split; `detail` is the router's reading of it. */
  | { code: 'route-invalid'; detail: string }
  | { code: 'not-promoted'; detail: string }
  /** The preconditions that are not met (PreconditionsError carries the whole report). */
  | { code: 'preconditions'; failed: PreconditionCheck[] }
  /** Prometheus cannot parse these metric queries (`where` is the metric's name): refused before anything moves. */
  | { code: 'metrics-invalid'; invalid: InvalidQuery[] }
  /** Another replica is moving this canary right now. */
  | { code: 'busy' }
  /** Another replica owns the canary's lock until `until`. */
  | { code: 'locked'; owner: string; until: string };

export type CanaryRefusalCode = CanaryRefusal['code'];
