// Who acted: carried from the surface that knows the person (a Slack user, a terminal login, a signal
// or archshift itself) through use cases, the store and the audit as an opaque value. Only the people
// renderer (src/render/people.ts) turns it into words for Slack, the terminal or GitHub.

export type Actor =
  /** `name` is the Slack handle the request carried, when it did: for surfaces that cannot resolve the id. */
  | { via: 'slack'; userId: string; name?: string }
  | { via: 'cli'; login: string }
  /** A signal (SIGHUP) or archshift acting on its own (automatic rollback, the scheduled digest). */
  | { via: 'signal'; name: string };

export const slackActor = (userId: string, name?: string): Actor => ({ via: 'slack', userId, ...(name ? { name } : {}) });
export const cliActor = (login: string): Actor => ({ via: 'cli', login });
export const signalActor = (name: string): Actor => ({ via: 'signal', name });

/**
 * The stable key of an actor, as audit entries store it: the Slack user id, `cli:<login>`, or
 * `signal:<name>`. A key for searching the audit, not words for a person.
 */
export function actorId(a: Actor): string {
  return a.via === 'slack' ? a.userId : a.via === 'cli' ? `cli:${a.login}` : `signal:${a.name}`;
}

/** The inverse of actorId, for records written before actors were stored as values. */
export function actorFromId(id: string): Actor {
  if (id.startsWith('cli:')) return cliActor(id.slice(4));
  if (id.startsWith('signal:')) return signalActor(id.slice(7));
  return slackActor(id);
}

/** An actor as stored: the value, or the id string older records hold. */
export const asActor = (stored: Actor | string): Actor => (typeof stored === 'string' ? actorFromId(stored) : stored);
