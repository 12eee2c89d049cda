// The installed `archshift` (dist/cli/archshift.js, built by scripts/build.mjs): runs the bundled terminal
// command (bundle.cjs) with its V8 code cache. The build's training run sets ARCHSHIFT_WRITE_CODE_CACHE,
// so the cache holds what `archshift check` compiled by the time it exited.
import { fileURLToPath } from 'node:url';
import { runWithCodeCache } from './code-cache.ts';

const bundle = fileURLToPath(new URL('./bundle.cjs', import.meta.url));
const run = runWithCodeCache(bundle, `${bundle}.v8cache`, (id) => import(id));
if (process.env.ARCHSHIFT_WRITE_CODE_CACHE) process.on('exit', () => run.save());
(run.exports as { main(): void }).main();
