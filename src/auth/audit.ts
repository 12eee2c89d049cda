// The audit trail of state-changing actions: who, what, which service, result. Each entry goes to the
// store's append-only audit log and to the structured log (which keeps them all).
// `guarded()` is what features call: authorize, run, audit, in that order, whatever happens.
import type { AuditRecord, Store } from '../adapters/store.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import { auditEvents } from '../ops/metrics.ts';
import { actorId, slackActor, type Actor } from './actor.ts';
import { ForbiddenError, type Authorizer, type Role, type ServiceRef } from './authorize.ts';

export type AuditResult = AuditRecord['result'];

/** `action` is a dotted verb: `pr.open`, `canary.start`, `canary.promote`, `canary.rollback`, `config.reload`, ... */
export type AuditEntry = AuditRecord;

export interface AuditDeps {
  readonly store: Store;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly config: Pick<Config, 'auth'>;
}

/** Records one entry. Never throws: a failed store write is logged, the action already happened. */
export async function audit(deps: AuditDeps, entry: Omit<AuditEntry, 'at'>): Promise<void> {
  const full: AuditEntry = { at: deps.clock.now().toISOString(), ...entry };
  if (full.detail) full.detail = full.detail.slice(0, 500);
  auditEvents.inc({ action: full.action, result: full.result });
  deps.logger.info({ audit: full }, `audit ${full.action} ${full.result}`);
  try {
    await deps.store.audit.append(full);
  } catch (err) {
    deps.logger.error({ err: (err as Error).message, audit: full }, 'audit entry could not be stored');
  }
}

/** The newest entries (at most auth.auditLimit), oldest first. */
export function auditEntries(store: Store): AuditEntry[] {
  return store.audit.recent();
}

export interface GuardRequest<T> {
  user: { id: string };
  channelId?: string;
  action: string;
  role: Role;
  /** For the denial message: "opening a PR for payments". */
  what: string;
  service?: ServiceRef;
  requestId?: string;
  /** Summary of a successful result for the audit entry (a PR URL, the new weight). */
  describe?: (result: T) => string;
}

/**
 * Checks the role (resolving the user's Slack groups), runs `run`, and audits the outcome:
 * `denied` (ForbiddenError rethrown, naming the role needed), `ok`, or `failed` (error rethrown).
 */
export async function guarded<T>(deps: AuditDeps & { auth: Authorizer }, req: GuardRequest<T>, run: () => Promise<T>): Promise<T> {
  const base = {
    actor: slackActor(req.user.id),
    channel: req.channelId,
    action: req.action,
    service: req.service?.name,
    requestId: req.requestId,
  };
  const principal = await deps.auth.actorFor(req.user.id, req.channelId, req.service);
  try {
    deps.auth.require(principal, req.role, req.what, req.service);
  } catch (err) {
    if (err instanceof ForbiddenError)
      await audit(deps, { ...base, actor: actorId(base.actor), result: 'denied', detail: `needs ${err.needed}` });
    throw err;
  }
  return audited(deps, base, run, req.describe);
}

/**
 * Runs an action already authorized elsewhere (the terminal, which acts with the operator's own
 * credentials) and audits `ok` or `failed` (error rethrown).
 */
export async function audited<T>(
  deps: AuditDeps,
  by: Omit<AuditEntry, 'at' | 'result' | 'detail' | 'actor'> & { actor: Actor },
  run: () => Promise<T>,
  describe?: (result: T) => string,
): Promise<T> {
  const entry = { ...by, actor: actorId(by.actor) };
  let result: T;
  try {
    result = await run();
  } catch (err) {
    await audit(deps, { ...entry, result: 'failed', detail: (err as Error).message });
    throw err;
  }
  await audit(deps, { ...entry, result: 'ok', detail: describe?.(result) });
  return result;
}
