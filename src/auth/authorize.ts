// Who may do what. Roles are granted in config to Slack users, user groups or channels; members of a
// service's owning team (its catalog `team`, a Slack user-group id) act as operators on that service.
// State-changing actions (PRs, canary moves, config reloads) ask here first and are refused with the
// role they need; `guarded()` in ./audit.ts does the asking and the audit in one call.
import type { WebClient } from '@slack/web-api';
import type { Config } from '../config/schema.ts';
import { UserError } from '../errors.ts';

export type Role = 'viewer' | 'operator' | 'admin';

/** A Slack user as authorization sees them: where they asked and the groups they are in. */
export interface Principal {
  userId: string;
  channelId?: string;
  /** Slack user-group ids the user belongs to, when known. */
  groups?: string[];
  /** Set when Slack could not tell us the user's groups; denials then say so. */
  groupsUnknown?: boolean;
  /** A user of another workspace (Slack Connect): only grants naming the user count. */
  external?: boolean;
}

/** Users seen acting from another workspace (Slack user ids are unique across workspaces); bounded. */
export class ExternalUsers {
  private readonly seen = new Set<string>();
  constructor(private readonly max = 10_000) {}
  add(userId: string): void {
    this.seen.delete(userId);
    this.seen.add(userId);
    if (this.seen.size > this.max) this.seen.delete(this.seen.values().next().value!);
  }
  has(userId: string): boolean {
    return this.seen.has(userId);
  }
}

/** The part of a catalog service authorization looks at. */
export interface ServiceRef {
  name: string;
  team?: string;
}

export class ForbiddenError extends UserError {
  constructor(
    message: string,
    readonly needed: Role,
  ) {
    super(message);
  }
}

/** Members of a Slack user group. */
export interface GroupDirectory {
  membersOf(groupId: string): Promise<ReadonlySet<string>>;
}

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export class Authorizer {
  constructor(
    private readonly config: Config['auth'],
    private readonly directory?: GroupDirectory,
    /** Filled by the Slack identity check (commands/identity.ts) before any handler asks here. */
    readonly externalUsers = new ExternalUsers(),
  ) {}

  /** New grants over the same Slack group directory (and its cache): how a config reload swaps roles. */
  withConfig(config: Config['auth']): Authorizer {
    return new Authorizer(config, this.directory, this.externalUsers);
  }

  /** The actor's role; on `service`, its owners are at least operators. */
  roleOf(actor: Principal, service?: ServiceRef): Role | undefined {
    let best: Role | undefined = this.config.everyoneIsViewer ? 'viewer' : undefined;
    const raise = (role: Role) => {
      if (best === undefined || rank[role] > rank[best]) best = role;
    };
    if (actor.external || this.externalUsers.has(actor.userId)) {
      // Slack Connect: a channel's or group's grant is for our people, not for every guest in it.
      raise('viewer');
      for (const role of ['operator', 'admin'] as const) if (this.config[role].users.includes(actor.userId)) raise(role);
      return best;
    }
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const g = this.config[role];
      const granted =
        g.users.includes(actor.userId) ||
        (actor.channelId !== undefined && g.channels.includes(actor.channelId)) ||
        (actor.groups ?? []).some((id) => g.groups.includes(id));
      if (granted) raise(role);
    }
    if (this.isOwner(actor, service)) raise('operator');
    return best;
  }

  /** Throws ForbiddenError naming the role needed. */
  require(actor: Principal, role: Role, what: string, service?: ServiceRef): void {
    const has = this.roleOf(actor, service);
    if (has !== undefined && rank[has] >= rank[role]) return;
    const owners =
      service?.team && this.config.ownersAreOperators && role === 'operator'
        ? ` Members of the owning team <!subteam^${service.team}> may act on ${service.name} too.`
        : '';
    const unknown = actor.groupsUnknown ? ' (Your Slack user groups could not be read just now; try again in a minute.)' : '';
    throw new ForbiddenError(
      `Sorry, ${what} needs the ${role} role${has ? ` (you have ${has})` : ''}.${owners} Ask an archshift admin to grant it in the auth section of the config.${unknown}`,
      role,
    );
  }

  /**
   * `require` for a user seen only by id: resolves their Slack groups first (skipped when a user or
   * channel grant already suffices), so a role granted to a user group counts on every surface.
   */
  async check(userId: string, channelId: string | undefined, role: Role, what: string, service?: ServiceRef): Promise<void> {
    const direct = this.roleOf({ userId, channelId }, service);
    if (direct !== undefined && rank[direct] >= rank[role]) return;
    this.require(await this.actorFor(userId, channelId, service), role, what, service);
  }

  /** The actor with the user groups that matter here (configured role groups and the service's team). */
  async actorFor(userId: string, channelId?: string, service?: ServiceRef): Promise<Principal> {
    const actor: Principal = { userId, channelId };
    if (!this.directory) return actor;
    const wanted = new Set([...this.config.viewer.groups, ...this.config.operator.groups, ...this.config.admin.groups]);
    if (service?.team && this.config.ownersAreOperators) wanted.add(service.team);
    const groups: string[] = [];
    await Promise.all(
      [...wanted].map(async (id) => {
        try {
          if ((await this.directory!.membersOf(id)).has(userId)) groups.push(id);
        } catch {
          actor.groupsUnknown = true;
        }
      }),
    );
    actor.groups = groups.sort();
    return actor;
  }

  private isOwner(actor: Principal, service?: ServiceRef): boolean {
    return Boolean(this.config.ownersAreOperators && service?.team && (actor.groups ?? []).includes(service.team));
  }
}

/**
 * User-group members from Slack (`usergroups.users.list`, scope usergroups:read), cached per group.
 * Concurrent asks for one group share one call; a failed call is not cached.
 */
export class SlackGroupDirectory implements GroupDirectory {
  private cache = new Map<string, { at: number; members: Promise<ReadonlySet<string>> }>();

  constructor(
    private readonly client: Pick<WebClient, 'usergroups'>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  membersOf(groupId: string): Promise<ReadonlySet<string>> {
    const hit = this.cache.get(groupId);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.members;
    const members = this.client.usergroups.users.list({ usergroup: groupId }).then((r) => new Set(r.users ?? []) as ReadonlySet<string>);
    const entry = { at: this.now(), members };
    this.cache.set(groupId, entry);
    members.catch(() => this.cache.get(groupId) === entry && this.cache.delete(groupId));
    return members;
  }
}
