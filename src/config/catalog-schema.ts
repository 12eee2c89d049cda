import { z } from 'zod';
import { serviceMetricsSchema } from '../canary/metrics.ts';

// Every string may use `{service}`, replaced by the service's name.
export const serviceEntrySchema = z
  .object({
    /** GitHub repo of the service's source, `owner/name`. */
    repo: z.string().min(1),
    branch: z.string().min(1).optional(),
    dockerfiles: z.array(z.string().min(1)).min(1),
    /** Image repository without tag, e.g. `registry.acme.io/payments/api`. */
    image: z.string().min(1),
    /** Tag the cluster runs, when the Deployment cannot be read. */
    tag: z.string().min(1).optional(),
    pipeline: z.object({ repo: z.string().min(1), file: z.string().min(1) }).strict(),
    manifests: z
      .object({
        repo: z.string().min(1),
        files: z.array(z.string().min(1)).min(1),
        /** Helm values files to edit instead of raw Deployments. */
        helmValues: z.array(z.string().min(1)).default([]),
      })
      .strict(),
    cluster: z.string().min(1).optional(),
    namespace: z.string().min(1),
    deployment: z.string().min(1),
    team: z.string().min(1).optional(),
    channel: z.string().min(1).optional(),
    /** Services moved through a canary get the `<name>-arm64` Deployment and subsets in their PR. */
    canary: z.boolean().default(false),
    /** The canary's metric templates for this service: new ones, changes to `canary.metrics` or the built-ins, `false` to leave one out. */
    metrics: serviceMetricsSchema.optional(),
    /** The PR check (`archshift/arm64`): `enforce` fails a PR that breaks arm64 for a moved service, `warn` only says so, `off` skips it. */
    guard: z.enum(['enforce', 'warn', 'off']).optional(),
    /** Base-image PRs may cross a runtime's or OS's major version (openjdk 8 -> 11): off, it is a migration. */
    allowMajorBump: z.boolean().default(false),
  })
  .strict();

export type ServiceEntry = z.infer<typeof serviceEntrySchema>;

export const catalogSchema = z
  .object({
    defaults: serviceEntrySchema.partial().default({}),
    /** Per-service overrides; a service listed here exists even if discovery is off. */
    services: z.record(z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'a DNS-1123 label'), serviceEntrySchema.partial()).default({}),
    discovery: z
      .object({
        enabled: z.boolean().default(false),
        /** Deployments carrying this label are services; the label's value is the service name. */
        label: z.string().min(1).default('archshift.io/service'),
        /** Annotations `<prefix><key>` override catalog keys (repo, image, team, channel, ...). */
        annotationPrefix: z.string().min(1).default('archshift.io/'),
      })
      .strict()
      .default({ enabled: false, label: 'archshift.io/service', annotationPrefix: 'archshift.io/' }),
  })
  .strict()
  .default({
    defaults: {},
    services: {},
    discovery: { enabled: false, label: 'archshift.io/service', annotationPrefix: 'archshift.io/' },
  });
