// Who may do what. Roles are granted in config to Slack users, user groups or channels; state-changing
// actions (PRs, canary moves, config reloads) ask here first and are refused with the role they need.
import type { Config } from '../config/schema.ts';
import { UserError } from '../errors.ts';

export type Role = 'viewer' | 'operator' | 'admin';

export interface Actor {
  userId: string;
  channelId?: string;
  /** Slack user-group ids the user belongs to, when known. */
  groups?: string[];
}

export class ForbiddenError extends UserError {}

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export class Authorizer {
  constructor(private readonly config: Config['auth']) {}

  roleOf(actor: Actor): Role | undefined {
    let best: Role | undefined = this.config.everyoneIsViewer ? 'viewer' : undefined;
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const g = this.config[role];
      const granted =
        g.users.includes(actor.userId) ||
        (actor.channelId !== undefined && g.channels.includes(actor.channelId)) ||
        (actor.groups ?? []).some((id) => g.groups.includes(id));
      if (granted && (best === undefined || rank[role] > rank[best])) best = role;
    }
    return best;
  }

  /** Throws ForbiddenError naming the role needed. */
  require(actor: Actor, role: Role, what: string): void {
    const has = this.roleOf(actor);
    if (has !== undefined && rank[has] >= rank[role]) return;
    throw new ForbiddenError(
      `Sorry, ${what} needs the ${role} role${has ? ` (you have ${has})` : ''}. Ask an archshift admin to grant it in the auth section of the config.`,
    );
  }
}
