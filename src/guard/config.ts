import { z } from 'zod';

// The PR guard's settings (`guard:` in the config file); the policy per service is the catalog's `guard` key.
export const guardConfigSchema = z
  .object({
    /** Where a service's report lives, linked from the check's summary; `{service}` is replaced. */
    reportUrl: z
      .string()
      .regex(/^https?:\/\//, 'an http(s) URL')
      .optional(),
    /** Largest webhook delivery read (GitHub's own cap is 25 MB; pull_request payloads are far smaller). */
    maxPayloadBytes: z
      .number()
      .int()
      .min(1024)
      .max(25 * 1024 * 1024)
      .default(5 * 1024 * 1024),
    /** How long a delivery id is remembered, so a redelivery is not run twice. */
    deliveryWindowHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 30)
      .default(72),
  })
  .strict()
  .default({ maxPayloadBytes: 5 * 1024 * 1024, deliveryWindowHours: 72 });

export type GuardConfig = z.infer<typeof guardConfigSchema>;
