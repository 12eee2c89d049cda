import { z } from 'zod';

export const knowledgeConfigSchema = z
  .object({
    /** Extra knowledge-base YAML files, read after the built-in ones; later entries override earlier. */
    files: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .default({ files: [] });
