import { z } from 'zod';

const grantees = z
  .object({
    users: z.array(z.string().min(1)).default([]),
    groups: z.array(z.string().min(1)).default([]),
    channels: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .prefault({});

/** Roles: viewer reads, operator opens PRs and moves canaries, admin also reloads config. */
export const authConfigSchema = z
  .object({
    viewer: grantees,
    operator: grantees,
    admin: grantees,
    /** Anyone may read (check, status, services) unless this is false. */
    everyoneIsViewer: z.boolean().default(true),
    /** Members of a service's `team` user group act as operators on that service. */
    ownersAreOperators: z.boolean().default(true),
    /** How long Slack user-group memberships (usergroups.users.list) are trusted. */
    groupCacheSeconds: z.number().int().min(0).default(300),
    /** Audit entries kept in the store (oldest dropped first); the structured log keeps them all. */
    auditLimit: z.number().int().min(100).default(5000),
  })
  .strict()
  .prefault({});
