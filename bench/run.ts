// `npm run bench [name]`: runs every bench/*.bench.ts (or the named ones) one after another and
// prints their figures. Benchmarks measure; tests never time anything.
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
let failed = 0;
for (const file of files) {
  const name = file.replace(/\.bench\.ts$/, '');
  if (wanted.length && !wanted.includes(name)) continue;
  console.log(`\n=== ${name} ===`);
  try {
    const mod = (await import(join(here, file))) as { run: () => Promise<unknown> };
    const result = await mod.run();
    if (result !== undefined) console.log(JSON.stringify(result, null, 2));
  } catch (err) {
    failed++;
    console.error(`${name} failed:`, err);
  }
}
process.exitCode = failed ? 1 : 0;
