// Which app and workspace a Slack request comes from. A request for another app (`api_app_id`) is not
// ours and is dropped. A user whose workspace (`team_id`) or organization (`enterprise_id`) is not
// ours reached us through a Slack Connect channel: such a user is a viewer, whatever the channel's
// grants say, unless `auth` names them as a user (see Authorizer.roleOf). The home app, workspaces
// and organization come from `slack.appId`, `slack.teamIds`, `slack.enterpriseId`; without
// `slack.teamIds`, the workspace and organization of the bot token (auth.test) are home.

export interface HomeIdentity {
  appId?: string;
  teamIds: string[];
  enterpriseId?: string;
}

export interface RequestIdentity {
  appId?: string;
  /** The workspace of the user who acted. */
  teamId?: string;
  enterpriseId?: string;
  userId?: string;
}

export type IdentityVerdict = { accepted: true; external: boolean } | { accepted: false; reason: string };

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** Reads the identity fields of a slash command body or an interaction payload. */
export function identityOf(body: unknown): RequestIdentity {
  if (!isObject(body)) return {};
  const user = isObject(body.user) ? body.user : undefined;
  const team = isObject(body.team) ? body.team : undefined;
  const enterprise = isObject(body.enterprise) ? body.enterprise : undefined;
  return {
    appId: text(body.api_app_id),
    // Interactions name the acting user's workspace on the user; commands at the top level.
    teamId: text(user?.team_id) ?? text(team?.id) ?? text(body.user_team) ?? text(body.team_id),
    enterpriseId: text(enterprise?.id) ?? text(team?.enterprise_id) ?? text(body.enterprise_id),
    userId: text(user?.id) ?? text(body.user_id) ?? text(body.user),
  };
}

export function judgeIdentity(home: HomeIdentity, req: RequestIdentity): IdentityVerdict {
  if (home.appId && req.appId !== home.appId)
    return { accepted: false, reason: `request for app ${req.appId ?? '(none)'}, not ${home.appId}` };
  const otherTeam = req.teamId !== undefined && home.teamIds.length > 0 && !home.teamIds.includes(req.teamId);
  const otherOrg = req.enterpriseId !== undefined && home.enterpriseId !== undefined && req.enterpriseId !== home.enterpriseId;
  // In an Enterprise Grid, every workspace of the home organization is home.
  const sameOrg = req.enterpriseId !== undefined && req.enterpriseId === home.enterpriseId;
  return { accepted: true, external: otherOrg || (otherTeam && !sameOrg) };
}
