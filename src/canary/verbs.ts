// The canary verbs shared by Slack and the terminal: argument parsing and dispatch to the controller,
// so `/arm64 canary api start --steps 10,50,100` and `archshift canary api start --steps 10,50,100`
// cannot drift apart.
import { stringFlag, UsageError, type ParsedArgs } from '../args.ts';
import { serviceNameSchema } from '../config/catalog.ts';
import type { Deps } from '../deps.ts';
import { UserError } from '../errors.ts';
import type { CanaryController, CanaryRecord } from './controller.ts';
import type { PlanOverrides } from './plan.ts';
import type { PreconditionReport } from './preconditions.ts';
import { buildCanaryController, canaryUnavailableReason } from './wire.ts';

export const CANARY_VERBS = ['start', 'status', 'pause', 'resume', 'promote', 'rollback'] as const;
export type CanaryVerb = (typeof CANARY_VERBS)[number];
/** Verbs that move traffic or change the canary: they need the operator role. */
export const MOVING_VERBS: ReadonlySet<CanaryVerb> = new Set(['start', 'pause', 'resume', 'promote', 'rollback']);
export const PLAN_OPTIONS = ['steps', 'step-weight', 'max-weight', 'interval', 'failed-checks', 'gates'];
export const CANARY_USAGE = `canary <service> ${CANARY_VERBS.join('|')} [--steps 5,10,25,50,100 | --step-weight N --max-weight N] [--interval 10m] [--failed-checks N] [--gates start,increase,promotion|none]`;

export interface CanaryCall {
  service: string;
  verb: CanaryVerb;
  overrides: PlanOverrides;
}

export function parseCanaryArgs(args: ParsedArgs): CanaryCall {
  const [service, verbText, ...extra] = args.positionals;
  if (!service || !verbText || extra.length) throw new UsageError('give a service and one of ' + CANARY_VERBS.join(', '));
  if (!serviceNameSchema.safeParse(service).success) throw new UsageError(`"${service.slice(0, 64)}" is not a service name (lowercase letters, digits and "-")`);
  const verb = verbText.toLowerCase() as CanaryVerb;
  if (!CANARY_VERBS.includes(verb)) throw new UsageError(`unknown canary action "${verbText.slice(0, 40)}" (known: ${CANARY_VERBS.join(', ')})`);
  const overrides: PlanOverrides = {
    steps: stringFlag(args, 'steps'),
    stepWeight: stringFlag(args, 'step-weight'),
    maxWeight: stringFlag(args, 'max-weight'),
    interval: stringFlag(args, 'interval'),
    failedChecks: stringFlag(args, 'failed-checks'),
    gates: stringFlag(args, 'gates'),
  };
  if (verb !== 'start' && Object.values(overrides).some((v) => v !== undefined)) throw new UsageError(`plan options only apply to start, not ${verb}`);
  return { service, verb, overrides: Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
}

/** The bot's controller; built (without Slack) and kept on first use where the composition root made none, as in the CLI. */
export function controllerOf(deps: Deps): CanaryController {
  deps.canary ??= buildCanaryController(deps);
  if (!deps.canary) throw new UserError(canaryUnavailableReason(deps));
  return deps.canary;
}

export type CanaryOutcome = { record: CanaryRecord } | { preconditions: PreconditionReport };

/** Runs one verb. `status` of a service with no canary shows its preconditions instead. */
export async function runCanaryVerb(controller: CanaryController, call: CanaryCall, actor: string): Promise<CanaryOutcome> {
  const { service } = call;
  switch (call.verb) {
    case 'start':
      return { record: await controller.start(service, call.overrides, actor) };
    case 'status': {
      const record = controller.status(service);
      return record ? { record } : { preconditions: await controller.preconditions(service) };
    }
    case 'pause':
      return { record: await controller.pause(service, actor) };
    case 'resume':
      return { record: await controller.resume(service, actor) };
    case 'promote':
      return { record: await controller.promote(service, actor) };
    case 'rollback':
      return { record: await controller.rollback(service, actor) };
  }
}
