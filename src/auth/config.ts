import { z } from 'zod';

const grantees = z
  .object({
    users: z.array(z.string().min(1)).default([]),
    groups: z.array(z.string().min(1)).default([]),
    channels: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .default({ users: [], groups: [], channels: [] });

/** Roles: viewer reads, operator opens PRs and moves canaries, admin also reloads config. */
export const authConfigSchema = z
  .object({
    viewer: grantees,
    operator: grantees,
    admin: grantees,
    /** Anyone may read (check, status, services) unless this is false. */
    everyoneIsViewer: z.boolean().default(true),
  })
  .strict()
  .default({
    viewer: { users: [], groups: [], channels: [] },
    operator: { users: [], groups: [], channels: [] },
    admin: { users: [], groups: [], channels: [] },
    everyoneIsViewer: true,
  });
