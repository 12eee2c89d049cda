import { z } from 'zod';

export const canaryConfigSchema = z
  .object({
    prometheusUrl: z.url().optional(),
    steps: z.array(z.number().int().min(1).max(100)).min(1).default([5, 10, 25, 50, 100]),
    intervalSeconds: z.number().int().min(1).default(600),
    failedChecksBeforeRollback: z.number().int().min(1).default(2),
  })
  .strict()
  .default({ steps: [5, 10, 25, 50, 100], intervalSeconds: 600, failedChecksBeforeRollback: 2 });
