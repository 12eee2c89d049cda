// The canary verbs shared by Slack and the terminal: argument parsing and dispatch to the controller,
// so `/arm64 canary api start --steps 10,50,100` and `archshift canary api start --steps 10,50,100`
// cannot drift apart.
import { stringFlag, UsageError, type ParsedArgs } from '../args.ts';
import type { Actor } from '../auth/actor.ts';
import { audited, guarded, type AuditDeps } from '../auth/audit.ts';
import type { Authorizer, ServiceRef } from '../auth/authorize.ts';
import { serviceNameSchema } from '../config/catalog.ts';
import type { Config } from '../config/schema.ts';
import { NotConfiguredError } from '../errors.ts';
import type { CanaryController, CanaryRecord } from './controller.ts';
import type { PlanOverrides } from './plan.ts';
import type { PreconditionReport } from './preconditions.ts';
import type { CanaryNeeds } from './wire.ts';
import { canaryUnavailableReason } from './availability.ts';
import { CANARY_VERBS, type CanaryVerb } from './usage.ts';

/** Verbs that move traffic or change the canary: they need the operator role. */
export const MOVING_VERBS: ReadonlySet<CanaryVerb> = new Set(['start', 'pause', 'resume', 'promote', 'rollback']);

export interface CanaryCall {
  service: string;
  verb: CanaryVerb;
  overrides: PlanOverrides;
}

export function parseCanaryArgs(args: ParsedArgs): CanaryCall {
  const [service, verbText, ...extra] = args.positionals;
  if (!service || !verbText || extra.length) throw new UsageError('give a service and one of ' + CANARY_VERBS.join(', '));
  if (!serviceNameSchema.safeParse(service).success)
    throw new UsageError(`"${service.slice(0, 64)}" is not a service name (lowercase letters, digits and "-")`);
  const verb = verbText.toLowerCase() as CanaryVerb;
  if (!CANARY_VERBS.includes(verb))
    throw new UsageError(`unknown canary action "${verbText.slice(0, 40)}" (known: ${CANARY_VERBS.join(', ')})`);
  const overrides: PlanOverrides = {
    steps: stringFlag(args, 'steps'),
    stepWeight: stringFlag(args, 'step-weight'),
    maxWeight: stringFlag(args, 'max-weight'),
    interval: stringFlag(args, 'interval'),
    failedChecks: stringFlag(args, 'failed-checks'),
    gates: stringFlag(args, 'gates'),
  };
  if (verb !== 'start' && Object.values(overrides).some((v) => v !== undefined))
    throw new UsageError(`plan options only apply to start, not ${verb}`);
  return { service, verb, overrides: Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
}

/** What the canary verbs use; the composition root built the controller (or none: not configured). */
export interface CanaryVerbNeeds extends AuditDeps, CanaryNeeds {
  readonly config: Config;
  readonly auth: Authorizer;
  readonly canary?: CanaryController;
}

/** The controller the composition root built, or why there is none. */
export function controllerOf(deps: Pick<CanaryVerbNeeds, 'canary' | 'kube' | 'config'>): CanaryController {
  if (!deps.canary) throw new NotConfiguredError(canaryUnavailableReason(deps));
  return deps.canary;
}

export type CanaryOutcome = { record: CanaryRecord } | { preconditions: PreconditionReport };

export interface CanaryRequester {
  /**
   * Who asks. Slack users need a role; the terminal acts with the operator's own kubeconfig, so Slack
   * roles do not apply to it.
   */
  actor: Actor;
  channelId?: string;
}

/**
 * One verb from any surface: `status` needs the viewer role; a moving verb needs the operator role (or
 * membership of the service's owning team) and its outcome (ok, denied, failed) is audited as `canary.<verb>`.
 */
export async function requestCanaryVerb(deps: CanaryVerbNeeds, call: CanaryCall, who: CanaryRequester): Promise<CanaryOutcome> {
  const run = () => runCanaryVerb(controllerOf(deps), call, who.actor);
  const slackUser = who.actor.via === 'slack' ? who.actor.userId : undefined;
  if (!MOVING_VERBS.has(call.verb)) {
    if (slackUser) await deps.auth.check(slackUser, who.channelId, 'viewer', 'viewing canaries');
    return run();
  }
  const action = `canary.${call.verb}`;
  const describe = (o: CanaryOutcome) => ('record' in o ? `${o.record.phase} at ${o.record.weight}% arm64` : '');
  if (!slackUser) return audited(deps, { actor: who.actor, action, service: call.service }, run, describe);
  const service = ownerRef(deps, call.service);
  return guarded(
    deps,
    { user: { id: slackUser }, channelId: who.channelId, action, role: 'operator', what: 'moving canary traffic', service, describe },
    run,
  );
}

/** The service with its owning team for the role check; an unknown or incomplete one still has its name (the controller then says what is wrong). */
function ownerRef(deps: Pick<CanaryVerbNeeds, 'catalog'>, name: string): ServiceRef {
  try {
    const { team } = deps.catalog.resolve(name);
    return { name, team };
  } catch {
    return { name };
  }
}

/** Runs one verb. `status` of a service with no canary shows its preconditions instead. */
async function runCanaryVerb(controller: CanaryController, call: CanaryCall, actor: Actor): Promise<CanaryOutcome> {
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
