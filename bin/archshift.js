#!/usr/bin/env node
// In a checkout the CLI runs the TypeScript sources through tsx, so `npx archshift` needs no build step and
// never runs stale output; the image ships only the compiled dist/ (no src/), so there it runs that.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

if (existsSync(new URL('../src/cli.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/cli.ts');
  main();
} else {
  await import('../dist/cli/archshift.js');
}
