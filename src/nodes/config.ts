// Config for the node-side preflight: the arm64 taint per cluster (under `kubernetes.clusters`) and the
// AWS account that holds the clusters' node groups (`aws`).
import { z } from 'zod';

export const taintSchema = z
  .object({
    key: z.string().min(1),
    value: z.string().optional(),
    effect: z.enum(['NoSchedule', 'NoExecute', 'PreferNoSchedule']),
  })
  .strict();

/** `kubernetes.clusters.<context>`: what archshift should expect of that cluster's arm64 nodes. */
export const clusterSettingsSchema = z
  .object({
    /** The taint the arm64 nodes carry; read from the nodes when they exist (a mismatch is reported). */
    arm64Taint: taintSchema.optional(),
  })
  .strict();

export const awsConfigSchema = z
  .object({
    /** Setting a region turns on the Auto Scaling / EKS checks; credentials come from the SDK's default chain. */
    region: z.string().min(1),
    /** Endpoint override for all three APIs (VPC endpoints); leave unset for AWS itself. */
    endpoint: z.url().optional(),
    maxAttempts: z.number().int().min(1).max(10).default(3),
    /** EKS cluster name per kubeconfig context, when it differs from the context name. */
    clusterNames: z.record(z.string(), z.string().min(1)).default({}),
  })
  .strict();

/** `afterMove`: watching a service's pods after its canary starts or its selectors PR merges. */
export const afterMoveConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** How long the pods are watched after the move. */
    watchMinutes: z.number().positive().max(120).default(10),
    /** Seconds between two looks at the pods (and between looks for new moves). */
    pollSeconds: z.number().positive().max(600).default(20),
    /** Watches run at once at most (each reads one Deployment's pods). */
    concurrency: z.number().int().min(1).max(32).default(4),
    /** Finished watches are kept this long, for the digest. */
    keepDays: z.number().int().min(1).max(365).default(30),
  })
  .strict()
  .default({ enabled: true, watchMinutes: 10, pollSeconds: 20, concurrency: 4, keepDays: 30 });

export type AfterMoveConfig = z.infer<typeof afterMoveConfigSchema>;
