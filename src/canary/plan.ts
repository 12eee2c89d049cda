// A canary plan: the arm64 weights to walk through, how long each step is watched, how many failed
// checks trigger a rollback, and where a human must approve. Built from config defaults plus per-command
// overrides; a plan whose arithmetic does not end at 100% arm64 is refused before anything moves
// (Flagger #189: promotion "succeeded" when maxWeight was not a multiple of stepWeight).
import { UserError } from '../errors.ts';
import type { CanaryConfig, CanaryGates } from './config.ts';

export interface CanaryPlan {
  /** arm64 weights in order; strictly increasing, the last is 100. */
  steps: number[];
  intervalSeconds: number;
  failedChecksBeforeRollback: number;
  gates: CanaryGates;
}

export interface PlanOverrides {
  steps?: string;
  stepWeight?: string;
  maxWeight?: string;
  interval?: string;
  failedChecks?: string;
  /** `start,increase,promotion` (any subset) or `none`. */
  gates?: string;
}

export class PlanError extends UserError {}

const MAX_STEPS = 50;
/** Gate names as people type them (`--gates start,increase`), and the plan field each sets. */
export const GATE_NAMES = { start: 'beforeStart', increase: 'beforeIncrease', promotion: 'beforePromotion' } as const;

function int(text: string, what: string): number {
  if (!/^\d+$/.test(text.trim())) throw new PlanError(`${what} must be a whole number, got "${text}"`);
  return Number(text.trim());
}

/** `90`, `90s`, `10m`, `1h`, `1h30m` → seconds. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const m = t.match(/^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/);
  if (!t || !m) throw new PlanError(`"${text}" is not a duration (use e.g. 90s, 10m, 1h)`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : ''].join('');
}

/** Steps from stepWeight/maxWeight: stepWeight … maxWeight, then 100 when maxWeight is below it. */
export function stepsFromStepWeight(stepWeight: number, maxWeight = 100): number[] {
  if (stepWeight < 1 || stepWeight > 100) throw new PlanError(`stepWeight must be 1–100, got ${stepWeight}`);
  if (maxWeight < stepWeight || maxWeight > 100)
    throw new PlanError(`maxWeight must be between stepWeight (${stepWeight}) and 100, got ${maxWeight}`);
  if (maxWeight % stepWeight !== 0) {
    const last = maxWeight - (maxWeight % stepWeight);
    throw new PlanError(
      `stepWeight ${stepWeight} reaches ${last}, not maxWeight ${maxWeight}: pick a stepWeight that divides ${maxWeight} or list the weights with --steps`,
    );
  }
  const steps: number[] = [];
  for (let w = stepWeight; w <= maxWeight; w += stepWeight) steps.push(w);
  if (maxWeight < 100) steps.push(100);
  return steps;
}

export function validateSteps(steps: number[]): number[] {
  if (steps.length === 0) throw new PlanError('a plan needs at least one step');
  if (steps.length > MAX_STEPS) throw new PlanError(`a plan has at most ${MAX_STEPS} steps, got ${steps.length}`);
  steps.forEach((w, i) => {
    if (!Number.isInteger(w) || w < 1 || w > 100)
      throw new PlanError(`step ${i + 1} is ${w}%: each step is a whole percentage from 1 to 100`);
    if (i > 0 && w <= steps[i - 1]) throw new PlanError(`steps must increase: ${steps[i - 1]}% is followed by ${w}%`);
  });
  if (steps.at(-1) !== 100) throw new PlanError(`the plan ends at ${steps.at(-1)}% arm64, not 100%: add 100 as the last step`);
  return steps;
}

export function parseGates(text: string): CanaryGates {
  const gates: CanaryGates = { beforeStart: false, beforeIncrease: false, beforePromotion: false };
  if (text.trim() === 'none') return gates;
  for (const raw of text.split(',')) {
    const name = raw.trim() as keyof typeof GATE_NAMES;
    if (!(name in GATE_NAMES)) throw new PlanError(`unknown gate "${raw.trim()}" (known: start, increase, promotion, or none)`);
    gates[GATE_NAMES[name]] = true;
  }
  return gates;
}

/** The plan for one canary: config defaults, then the command's overrides. Throws PlanError. */
export function buildPlan(config: CanaryConfig, o: PlanOverrides = {}): CanaryPlan {
  if (o.steps !== undefined && (o.stepWeight !== undefined || o.maxWeight !== undefined)) {
    throw new PlanError('give either --steps or --step-weight/--max-weight, not both');
  }
  let steps: number[];
  if (o.steps !== undefined) steps = o.steps.split(',').map((s) => int(s, 'each step'));
  else if (o.stepWeight !== undefined || o.maxWeight !== undefined) {
    const sw = o.stepWeight !== undefined ? int(o.stepWeight, '--step-weight') : config.stepWeight;
    if (sw === undefined) throw new PlanError('--max-weight needs --step-weight');
    steps = stepsFromStepWeight(sw, o.maxWeight !== undefined ? int(o.maxWeight, '--max-weight') : (config.maxWeight ?? 100));
  } else if (config.stepWeight !== undefined) steps = stepsFromStepWeight(config.stepWeight, config.maxWeight ?? 100);
  else steps = [...config.steps];
  const intervalSeconds = o.interval !== undefined ? parseDuration(o.interval) : config.intervalSeconds;
  if (intervalSeconds < 1) throw new PlanError('the interval must be at least 1s');
  const failedChecksBeforeRollback =
    o.failedChecks !== undefined ? int(o.failedChecks, '--failed-checks') : config.failedChecksBeforeRollback;
  if (failedChecksBeforeRollback < 1) throw new PlanError('--failed-checks must be at least 1');
  return {
    steps: validateSteps(steps),
    intervalSeconds,
    failedChecksBeforeRollback,
    gates: o.gates !== undefined ? parseGates(o.gates) : { ...config.gates },
  };
}
