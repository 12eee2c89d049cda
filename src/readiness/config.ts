import { z } from 'zod';

// The readiness check's settings (`readiness:` in the config file).
export const readinessConfigSchema = z
  .object({
    /** Where a service's pipeline YAML turns on the arm64 build: `flag: true` anywhere under the `section` step. */
    pipeline: z
      .object({
        section: z.string().min(1).default('docker-build'),
        flag: z.string().min(1).default('mustBuildARM64'),
        /** A local checkout's pipeline file, relative to the checkout (default: pipeline.yml or pipeline.yaml at its root). */
        path: z.string().min(1).optional(),
      })
      .strict()
      .default({ section: 'docker-build', flag: 'mustBuildARM64' }),
    /** Longest wait for one image's registry answers (lookup plus arm64 alternative); then it is "unknown". */
    imageTimeoutMs: z.number().int().min(1000).default(60_000),
    /** Stream the service image's layers (not base images) and report jars bundling x86-64-only native code. */
    scanImageLayers: z.boolean().default(true),
    /** Also check that the final stage's base images really hold arm64 binaries under linux/arm64 (reads their layers). */
    verifyBaseImages: z.boolean().default(false),
    /** Paths a local checkout's check leaves out, .gitignore syntax (also read from `.archshiftignore`). */
    exclude: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .default({
    pipeline: { section: 'docker-build', flag: 'mustBuildARM64' },
    imageTimeoutMs: 60_000,
    scanImageLayers: true,
    verifyBaseImages: false,
    exclude: [],
  });
