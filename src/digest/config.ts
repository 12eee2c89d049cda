import { z } from 'zod';

export const digestConfigSchema = z
  .object({
    schedule: z.string().min(1).default('0 9 * * 1-5'),
    timezone: z.string().min(1).default('UTC'),
  })
  .strict()
  .default({ schedule: '0 9 * * 1-5', timezone: 'UTC' });
